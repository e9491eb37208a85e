#if canImport(Glibc)
import Glibc
#endif
import ResticCore

/// A repository in a local folder, in restic's default layout. Files are written 0600 into
/// 0700 folders, through a temporary name, fsync and rename, so a crash never leaves a partial
/// file under a real name.
public struct LocalBackend: Backend {
    public let root: String
    public var location: String { root }
    public var connections: Int { 2 }

    public init(path: String) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        root = trimmed
    }

    func path(_ handle: FileHandle) -> String { root + "/" + handle.relativePath }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        let final = path(handle)
        // Writing and the two fsyncs wait on the disk: off Swift's cooperative threads.
        try await BlockingIO.run { try Self.saveAtomically(data, to: final, makeFolder: handle.type == .pack) }
    }

    /// Temporary file, fsync, rename, fsync of the folder: readers see all of it or nothing,
    /// and after a crash either the old state or the whole new file.
    private static func saveAtomically(_ data: [UInt8], to final: String, makeFolder: Bool) throws {
        let slash = final.lastIndex(of: "/") ?? final.startIndex
        let folder = String(final[..<slash])
        let name = String(final[final.index(after: slash)...])
        if makeFolder { try POSIX.makeDirectory(folder) }
        let temp = folder + "/.tmp-" + name + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let fd = try POSIX.open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        do {
            if makeFolder {
                try data.withUnsafeBytes { try POSIX.writeAllDirect(fd, $0, path: temp) }
            } else {
                try data.withUnsafeBytes { try POSIX.writeAll(fd, $0, path: temp) }
            }
            if fsync(fd) != 0 { throw POSIX.error("fsync", temp) }
            close(fd)
        } catch {
            close(fd)
            unlink(temp)
            // Name the file being saved: the temporary name is gone by the time anyone looks.
            guard let failure = error as? ResticError else { throw error }
            throw ResticError(failure.kind, failure.message.replacingOccurrences(of: temp, with: final))
        }
        if rename(temp, final) != 0 {
            let failure = POSIX.error("rename", final)
            unlink(temp)
            throw failure
        }
        POSIX.fsyncDirectory(folder)
    }

    /// Packs only: their temporary files go into a `data/XX` folder, so the rename stays
    /// within the repository's file system.
    public func makeSpool(_ type: FileType) throws -> (any BackendSpool)? {
        guard type == .pack else { return nil }
        let folder = String(UInt8.random(in: 0...255), radix: 16)
        return try LocalSpool(folder: root + "/data/" + (folder.count == 1 ? "0" + folder : folder))
    }

    public func save(_ handle: FileHandle, spool: any BackendSpool) async throws {
        guard let local = spool as? LocalSpool else { return try await save(handle, data: spool.contents()) }
        let final = path(handle)
        try await BlockingIO.run { try local.commit(to: final) }
    }

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        let file = path(handle)
        let fd = try POSIX.open(file, O_RDONLY)
        defer { close(fd) }
        let count: Int
        if let length {
            count = length
        } else {
            var st = Glibc.stat()
            guard fstat(fd, &st) == 0 else { throw POSIX.error("stat", file) }
            count = max(0, Int(st.st_size) - offset)
        }
        let bytes = try POSIX.pread(fd, count: count, offset: offset, path: file)
        if bytes.count != count {
            throw ResticError.corrupt("\(handle): short read (\(bytes.count) of \(count) bytes at offset \(offset))")
        }
        return bytes
    }

    public func willLoad(_ handle: FileHandle, range: Range<Int>?) {
        let fd = open(path(handle), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = posix_fadvise(fd, off_t(range?.lowerBound ?? 0), off_t(range?.count ?? 0), POSIX_FADV_WILLNEED)
        close(fd)
    }

    public func localPath(_ handle: FileHandle) -> String? { path(handle) }

    public func stat(_ handle: FileHandle) async throws -> Int {
        try POSIX.fileSize(path(handle))
    }

    public func list(_ type: FileType) async throws -> [FileInfo] {
        if type == .config {
            let size = try? POSIX.fileSize(root + "/config")
            return size.map { [FileInfo(name: "config", size: $0)] } ?? []
        }
        var found: [FileInfo] = []
        for directory in try folders(type) {
            for name in try POSIX.listDirectory(directory) where ObjectID(hex: name) != nil {
                // A file removed between listing and stat is simply gone.
                if let size = try? POSIX.fileSize(directory + "/" + name) {
                    found.append(FileInfo(name: name, size: size))
                }
            }
        }
        return found
    }

    /// Without a stat per file: a backup lists the pack names while the key is derived, and a
    /// thousand stats of cold inodes competed with the metadata prefetch for the disk (the
    /// unchanged /usr/share backup took 1.00 s with them, 0.95 s without, eight alternating
    /// runs).
    public func listNames(_ type: FileType) async throws -> [String] {
        if type == .config { return try await list(type).map(\.name) }
        return try folders(type).flatMap { try POSIX.listDirectory($0).filter { ObjectID(hex: $0) != nil } }
    }

    private func folders(_ type: FileType) throws -> [String] {
        type == .pack ? try Self.packFolders(root) : [root + "/" + type.folderName]
    }

    /// Files named `.tmp-…` (ours: a save's temporary name, a spooled pack) in the folders a
    /// save writes to. A process killed while saving leaves one behind, as large as a pack.
    public func removeLeftovers(olderThan age: Duration) async throws -> (files: Int, bytes: Int) {
        let root = root
        return try await BlockingIO.run {
            let folders = try FileType.allCases.filter { $0 != .config }.map { root + "/" + $0.folderName }
                + Self.packFolders(root)
            let cutoff = time(nil) - time_t(age.components.seconds)
            var files = 0, bytes = 0
            for folder in folders {
                for name in try POSIX.listDirectory(folder) where name.hasPrefix(".tmp-") {
                    let file = folder + "/" + name
                    var st = Glibc.stat()
                    guard lstat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mtim.tv_sec < cutoff else { continue }
                    if unlink(file) == 0 {
                        files += 1
                        bytes += Int(st.st_size)
                    } else if errno != ENOENT {
                        throw POSIX.error("remove", file)
                    }
                }
            }
            return (files, bytes)
        }
    }

    /// `data/00` … `data/ff`, the folders packs lie in (those present).
    private static func packFolders(_ root: String) throws -> [String] {
        let data = root + "/" + FileType.pack.folderName
        return try POSIX.listDirectory(data).filter { $0.count == 2 }.map { data + "/" + $0 }
    }

    public func remove(_ handle: FileHandle) async throws {
        let file = path(handle)
        if unlink(file) != 0 && errno != ENOENT { throw POSIX.error("remove", file) }
    }

    public func repositoryExists() async throws -> Bool {
        (try? POSIX.fileSize(root + "/config")) != nil
    }

    public func create() async throws {
        if try await repositoryExists() {
            throw ResticError.invalid("\(root): a repository already exists there (config file present)")
        }
        try makeParents(root)
        for type: FileType in [.key, .snapshot, .index, .lock, .pack] {
            try POSIX.makeDirectory(root + "/" + type.folderName)
        }
        for i in 0..<256 {
            let hex = String(i, radix: 16)
            try POSIX.makeDirectory(root + "/data/" + (hex.count == 1 ? "0" + hex : hex))
        }
    }

    private func makeParents(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if !POSIX.isDirectory(current) { try POSIX.makeDirectory(current) }
        }
    }
}
