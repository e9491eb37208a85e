#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ResticCore
import CLibcExtras

/// Thin checked wrappers over the POSIX calls the local backend needs; every failure becomes a
/// `ResticError` naming the path and the system's own reason.
enum POSIX {
    static func error(_ what: String, _ path: String, errno code: Int32 = errno) -> ResticError {
        let reason = String(cString: strerror(code))
        let kind: ResticError.Kind = code == ENOENT ? .notFound : .io
        return ResticError(kind, "\(what) \(path): \(reason)")
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw error("open", path)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            done += n
        }
    }

    /// Writes `count` bytes at `position`, retrying interrupted calls; returns how many went
    /// out before a failure (errno tells which) or all of them. With O_DIRECT, EINVAL means the
    /// file system refused it after all, and callers write the rest through the page cache.
    static func pwriteAll(_ fd: Int32, _ source: UnsafeRawPointer, count: Int, at position: Int) -> Int {
        var done = 0
        while done < count {
            let n = pwrite(fd, source + done, count - done, off_t(position + done))
            if n < 0 {
                if errno == EINTR { continue }
                return done
            }
            done += n
        }
        return done
    }

    /// As `writeAll`, the aligned bulk with O_DIRECT through a 256 KiB bounce buffer and the tail
    /// through the page cache. For pack files: copying 16 MiB into the page cache and writing it
    /// back later costs the kernel more CPU than our own copy into an aligned buffer. Where the
    /// file system refuses O_DIRECT, everything goes through the cache.
    static func writeAllDirect(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        let bulk = bytes.count & ~(DirectWrite.block - 1)
        guard bulk > 0, cartae_set_direct_io(fd, 1) >= 0 else {
            return try writeAll(fd, bytes, path: path)
        }
        let bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: DirectWrite.block)
        defer { bounce.deallocate() }
        let done: Int
        do {
            done = try DirectWrite.write(fd, UnsafeRawBufferPointer(rebasing: bytes[..<bulk]), at: 0, bounce: bounce)
        } catch {
            throw self.error("write", path, errno: error.code)
        }
        _ = cartae_set_direct_io(fd, 0)
        // The direct writes were positional: the rest goes on from where they ended.
        guard lseek(fd, off_t(done), SEEK_SET) >= 0 else { throw self.error("seek", path) }
        try writeAll(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), path: path)
    }

    /// Reads exactly `count` bytes at `offset`, or fewer only at end of file.
    static func pread(_ fd: Int32, count: Int, offset: Int, path: String) throws -> [UInt8] {
        var failure: Int32 = 0
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let n = Glibc.pread(fd, buffer.baseAddress! + initialized, count - initialized,
                                    off_t(offset + initialized))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { break }
                initialized += n
            }
        }
        if failure != 0 { throw error("read", path, errno: failure) }
        return out
    }

    static func fileSize(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw error("stat", path) }
        return Int(st.st_size)
    }

    static func fsyncDirectory(_ path: String) {
        // Best effort: some filesystems refuse fsync on directories, which is not a data risk there.
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST { throw error("mkdir", path) }
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory (without "." and ".."); an absent directory lists as empty.
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw error("list", path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            var length = 0
            let name = String(cString: cartae_dirent_name(entry, &length))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
