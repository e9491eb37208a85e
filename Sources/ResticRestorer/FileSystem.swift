#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import CLibcExtras

/// A file-system path kept as raw bytes, because names in a snapshot need not be valid UTF-8
/// and must reach the disk exactly as stored.
public struct RawPath: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(_ string: String) { bytes = Array(string.utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public func appending(_ name: [UInt8]) -> RawPath {
        var next = bytes
        if next.last != UInt8(ascii: "/") { next.append(UInt8(ascii: "/")) }
        next.append(contentsOf: name)
        return RawPath(bytes: next)
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// Calls `body` with a NUL-terminated C string of the path.
    func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }
}

/// The system calls restore needs, each failing with a message that names the path.
enum FS {
    static func failure(_ what: String, _ path: RawPath, _ code: Int32 = errno) -> ResticError {
        ResticError(code == ENOENT ? .notFound : .io, "\(what) \(path): \(String(cString: strerror(code)))")
    }

    static func makeDirectory(_ path: RawPath) throws {
        let result = path.withCString { mkdir($0, 0o700) }
        if result != 0 {
            let code = errno
            if code == EEXIST && isDirectory(path) { return }
            throw failure("mkdir", path, code)
        }
    }

    static func makeDirectories(_ path: RawPath) throws {
        var prefix: [UInt8] = path.bytes.first == UInt8(ascii: "/") ? [UInt8(ascii: "/")] : []
        for part in path.bytes.split(separator: UInt8(ascii: "/")) {
            if !prefix.isEmpty && prefix.last != UInt8(ascii: "/") { prefix.append(UInt8(ascii: "/")) }
            prefix.append(contentsOf: part)
            let current = RawPath(bytes: prefix)
            if !isDirectory(current) { try makeDirectory(current) }
        }
    }

    static func isDirectory(_ path: RawPath) -> Bool {
        var st = stat()
        return path.withCString { stat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: RawPath) -> Bool {
        var st = stat()
        return path.withCString { lstat($0, &st) } == 0
    }

    /// Removes whatever non-directory is at `path`, so restore can put its own entry there.
    static func removeExisting(_ path: RawPath) {
        var st = stat()
        guard path.withCString({ lstat($0, &st) }) == 0, (st.st_mode & S_IFMT) != S_IFDIR else { return }
        _ = path.withCString { unlink($0) }
    }

    static func openForWriting(_ path: RawPath) throws -> Int32 {
        removeExisting(path)
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        if fd < 0 { throw failure("create", path) }
        return fd
    }

    static func truncate(_ fd: Int32, size: Int, path: RawPath) throws {
        if ftruncate(fd, off_t(size)) != 0 { throw failure("truncate", path) }
    }

    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int, path: RawPath) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            done += n
        }
    }

    static func symlink(target: [UInt8], at path: RawPath) throws {
        removeExisting(path)
        let result = RawPath(bytes: target).withCString { t in path.withCString { Glibc.symlink(t, $0) } }
        if result != 0 { throw failure("symlink", path) }
    }

    static func hardlink(from existing: RawPath, to path: RawPath) throws {
        removeExisting(path)
        let result = existing.withCString { e in path.withCString { link(e, $0) } }
        if result != 0 { throw failure("link", path) }
    }

    static func makeNode(_ path: RawPath, mode: mode_t, device: UInt64) throws {
        removeExisting(path)
        let result = path.withCString { mknod($0, mode, dev_t(device)) }
        if result != 0 { throw failure("mknod", path) }
    }

    static func lchown(_ path: RawPath, uid: UInt32, gid: UInt32) throws {
        if path.withCString({ Glibc.lchown($0, uid, gid) }) != 0 { throw failure("lchown", path) }
    }

    static func chmod(_ path: RawPath, mode: mode_t) throws {
        if path.withCString({ Glibc.chmod($0, mode) }) != 0 { throw failure("chmod", path) }
    }

    static func setExtendedAttribute(_ path: RawPath, name: String, value: [UInt8]) throws {
        let result = path.withCString { p in value.withUnsafeBytes { lsetxattr(p, name, $0.baseAddress, $0.count, 0) } }
        if result != 0 { throw failure("set extended attribute \(name) on", path) }
    }

    /// Sets access and modification times without following a symlink.
    static func setTimes(_ path: RawPath, atime: GoTime, mtime: GoTime) throws {
        var times = [timespec(tv_sec: Int(atime.seconds), tv_nsec: Int(atime.nanoseconds)),
                     timespec(tv_sec: Int(mtime.seconds), tv_nsec: Int(mtime.nanoseconds))]
        let result = path.withCString { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }
        if result != 0 { throw failure("set times of", path) }
    }
}
