#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticRepository
import CLibcExtras
import CartaeSync
import Synchronization

/// The system calls backup reads the source with, over raw-byte paths (names need not be
/// valid UTF-8).
enum SourceFS {
    struct Status {
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var size: Int64
        var inode: UInt64
        var device: UInt64
        var rdev: UInt64
        var links: UInt64
        // No atime: nodes store atime = mtime (see NodeFactory), so it is never converted.
        var mtime: GoTime
        var ctime: GoTime

        var isDirectory: Bool { mode & S_IFMT == S_IFDIR }
        var isRegular: Bool { mode & S_IFMT == S_IFREG }
        var isSymlink: Bool { mode & S_IFMT == S_IFLNK }
    }

    static func withCString<T>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (path + [0]).withUnsafeBufferPointer { try $0.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) } }
    }

    static func describe(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self) }

    static func failure(_ what: String, _ path: [UInt8], _ code: Int32 = errno) -> ResticError {
        ResticError(code == ENOENT ? .notFound : .io, "\(what) \(describe(path)): \(String(cString: strerror(code)))")
    }

    static func lstat(_ path: [UInt8], offset: Int32) throws -> Status {
        var st = stat()
        guard withCString(path, { Glibc.lstat($0, &st) }) == 0 else { throw failure("lstat", path) }
        return status(st, offset: offset)
    }

    static func status(_ st: stat, offset: Int32) -> Status {
        // Each timestamp carries the zone offset in force at that instant, as Go writes it, so
        // trees of unchanged files are byte-identical to restic's.
        func time(_ ts: timespec) -> GoTime {
            GoTime.local(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
        }
        return Status(mode: UInt32(st.st_mode), uid: st.st_uid, gid: st.st_gid, size: Int64(st.st_size),
                      inode: UInt64(st.st_ino), device: UInt64(st.st_dev), rdev: UInt64(st.st_rdev),
                      links: UInt64(st.st_nlink), mtime: time(st.st_mtim), ctime: time(st.st_ctim))
    }

    /// Entry names of a directory as raw bytes, sorted as restic sorts them (byte order).
    static func list(_ path: [UInt8]) throws -> [[UInt8]] {
        let directory = try OpenDirectory(path)
        return try directory.names()
    }

    static func lstat(at directory: OpenDirectory, name: [UInt8], path: [UInt8], offset: Int32) throws -> Status {
        var st = stat()
        // Relative to the open directory: the kernel resolves one name instead of the whole path.
        let result = withCString(name) { fstatat(directory.fd, $0, &st, AT_SYMLINK_NOFOLLOW) }
        guard result == 0 else { throw failure("lstat", path) }
        return status(st, offset: offset)
    }

    /// A directory held open while its entries are examined.
    final class OpenDirectory: Sendable {
        let path: [UInt8]
        let fd: Int32

        init(_ path: [UInt8]) throws {
            self.path = path
            fd = withCString(path) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            guard fd >= 0 else { throw failure("open directory", path) }
        }

        deinit { Glibc.close(fd) }

        /// Entry names, sorted as restic sorts them (byte order).
        func names() throws -> [[UInt8]] {
            // fdopendir takes over the descriptor it is given, so it gets a copy of ours.
            let copy = dup(fd)
            guard copy >= 0, let dir = fdopendir(copy) else {
                let code = errno
                if copy >= 0 { Glibc.close(copy) }
                throw failure("open directory", path, code)
            }
            defer { closedir(dir) }
            return try SourceFS.names(dir, path: path)
        }
    }

    private static func names(_ dir: OpaquePointer, path: [UInt8]) throws -> [[UInt8]] {
        var names: [[UInt8]] = []
        errno = 0
        while let entry = readdir(dir) {
            var length = 0
            let name = Array(UnsafeRawBufferPointer(start: cartae_dirent_name(entry, &length), count: length))
            if name != [46] && name != [46, 46] { names.append(name) }
        }
        if errno != 0 { throw failure("read directory", path) }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static func readLink(_ path: [UInt8]) throws -> [UInt8] {
        try readLink(in: AT_FDCWD, name: path, path: path)
    }

    /// As `readLink(path)`, for `name` in the open directory `fd` (`path` names it in errors).
    static func readLink(in fd: Int32, name: [UInt8], path: @autoclosure () -> [UInt8]) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = withCString(name) { p in buffer.withUnsafeMutableBytes { readlinkat(fd, p, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096) } }
        guard n >= 0 else {
            let code = errno
            throw failure("readlink", path(), code)
        }
        return Array(buffer[0..<n])
    }

    /// Extended attributes in the order the file system lists them (restic stores them so).
    static func extendedAttributes(_ path: [UInt8]) -> [ExtendedAttribute] {
        withCString(path) { cPath in
            attributes(list: { llistxattr(cPath, $0, $1) }, get: { lgetxattr(cPath, $0, $1, $2) })
        }
    }

    /// As `extendedAttributes(path)`, for `name` in the open directory `fd`: the kernel resolves
    /// one name instead of the whole path (listxattrat, Linux 6.13). Any failure is retried by
    /// path, so the result is what the path calls give, on every kernel.
    static func extendedAttributes(in fd: Int32, name: [UInt8], path: @autoclosure () -> [UInt8]) -> [ExtendedAttribute] {
        guard xattrAtMissing.load(ordering: .relaxed) == false else { return extendedAttributes(path()) }
        let flags = UInt32(AT_SYMLINK_NOFOLLOW)
        let listed: [ExtendedAttribute]? = withCString(name) { cName in
            let size = cartae_listxattrat(fd, cName, flags, nil, 0)
            if size < 0 {
                if errno == ENOSYS { xattrAtMissing.store(true, ordering: .relaxed) }
                return nil
            }
            if size == 0 { return [] }
            var failed = false
            let result = attributes(list: { buffer, count in
                let got = cartae_listxattrat(fd, cName, flags, buffer, count)
                if got < 0 { failed = true }
                return got
            }, get: { attribute, value, count in
                let got = cartae_getxattrat(fd, cName, flags, attribute, value, count)
                if got < 0 { failed = true }
                return got
            })
            return failed ? nil : result
        }
        return listed ?? extendedAttributes(path())
    }

    /// Set once the kernel has said it has no listxattrat.
    private static let xattrAtMissing = Atomic<Bool>(false)

    /// The attribute-reading logic shared by the path and the directory-relative calls.
    private static func attributes(list: (UnsafeMutablePointer<CChar>?, Int) -> Int,
                                   get: (String, UnsafeMutableRawPointer?, Int) -> Int) -> [ExtendedAttribute] {
        let size = list(nil, 0)
        guard size > 0 else { return [] }
        var names = [CChar](repeating: 0, count: size)
        let got = names.withUnsafeMutableBufferPointer { list($0.baseAddress, size) }
        guard got > 0 else { return [] }
        var result: [ExtendedAttribute] = []
        for raw in names[0..<got].split(separator: 0) {
            let name = GoUTF8.lossyString(raw.map { UInt8(bitPattern: $0) })
            let length = get(name, nil, 0)
            guard length >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: length)
            let read = value.withUnsafeMutableBytes { get(name, $0.baseAddress, length) }
            guard read >= 0 else { continue }
            result.append(ExtendedAttribute(name: name, value: Array(value[0..<read])))
        }
        return result
    }

    /// Whether any of `patterns` matches `path` (backup's --exclude, for the walker and the prefetch).
    static func isExcluded(_ path: [UInt8], by patterns: [PathPattern]) -> Bool {
        guard !patterns.isEmpty else { return false }
        let text = describe(path)
        return patterns.contains { $0.matches(text) }
    }

    static func join(_ parent: [UInt8], _ name: [UInt8]) -> [UInt8] {
        parent == [47] ? parent + name : parent + [47] + name
    }
}

/// Looks up user and group names once per ID (restic stores both) for every walker task.
final class OwnerNames: Sendable {
    private let names = Locked<(users: [UInt32: String], groups: [UInt32: String])>(([:], [:]))

    func user(_ uid: UInt32) -> String {
        names.withLock { state in
            if let name = state.users[uid] { return name }
            let name = UserDatabase.userName(uid) ?? ""
            state.users[uid] = name
            return name
        }
    }

    func group(_ gid: UInt32) -> String {
        names.withLock { state in
            if let name = state.groups[gid] { return name }
            let name = UserDatabase.groupName(gid) ?? ""
            state.groups[gid] = name
            return name
        }
    }
}
