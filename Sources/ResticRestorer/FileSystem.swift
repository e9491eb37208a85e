#if canImport(Glibc)
import Glibc
#endif
import ResticCore

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
    /// The copy lives on the stack for ordinary lengths: restore makes several calls per file.
    func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            buffer[bytes.count] = 0
            return try body(UnsafePointer(buffer.baseAddress!))
        }
    }
}

/// A full disk (or quota) at the target: every later write would fail the same way, so the
/// restore stops with this one error instead of one per blob.
struct OutOfSpace: Error {
    var error: ResticError
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
            throw spaceOrFailure("mkdir", path, code)
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

    /// Creates an empty regular file for writing. Whatever non-directory is already at `path`
    /// is replaced, never written through: it may be a symlink or another name of some file.
    /// `mode` is what the file is made with (the umask applies); metadata fixes it later.
    static func createFile(_ path: RawPath, mode: mode_t = 0o600) throws -> Int32 {
        var fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
        if fd < 0 && errno == EEXIST {
            removeExisting(path)
            fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode) }
        }
        if fd < 0 { throw spaceOrFailure("create", path) }
        return fd
    }

    /// Opens a file made earlier in this restore, to write more of its content.
    static func openExisting(_ path: RawPath) throws -> Int32 {
        let fd = path.withCString { open($0, O_WRONLY | O_CLOEXEC) }
        if fd < 0 { throw failure("open", path) }
        return fd
    }

    /// A full disk stops the whole restore; other errors concern one entry.
    static func spaceOrFailure(_ what: String, _ path: RawPath, _ code: Int32 = errno) -> Error {
        if code == ENOSPC || code == EDQUOT { return OutOfSpace(error: failure(what, path, code)) }
        return failure(what, path, code)
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
                throw spaceOrFailure("write", path)
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
}
