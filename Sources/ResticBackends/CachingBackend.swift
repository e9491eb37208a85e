#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticCrypto
import CartaeSync
import Synchronization

/// Keeps local copies of the files a later run needs again — index files, snapshots, key files,
/// and the packs the repository names through `cachePacks` (tree packs) — so a second
/// `snapshots`, `ls` or incremental backup downloads almost nothing.
///
/// Every one of these files is named by the SHA-256 of its bytes, so nothing in the cache is
/// trusted: a copy is used only when it hashes to its name and the repository still lists it
/// (a listing prunes copies of files that are gone). A bad copy is deleted and fetched again.
public final class CachingBackend: Backend, Sendable {
    public let inner: any Backend
    /// The folder of this repository's cache.
    public let root: String
    private let marked = Locked<Set<String>>([])
    private let verified = Locked<Set<FileHandle>>([])
    let statistics: CacheStatistics

    static let cachedTypes: Set<FileType> = [.index, .snapshot, .key, .pack]

    /// Counts what the cache saved the run.
    public final class CacheStatistics: Sendable {
        let hitCount = Atomic<Int>(0)
        let missCount = Atomic<Int>(0)
        public var hits: Int { hitCount.load(ordering: .relaxed) }
        public var misses: Int { missCount.load(ordering: .relaxed) }
    }

    /// - Parameters:
    ///   - directory: the cache's top folder (`--cache-dir`, else `defaultDirectory`).
    ///   - key: names this repository's sub-folder; any stable text for the location will do.
    public init(_ inner: any Backend, directory: String, key: String) throws {
        self.inner = inner
        self.root = directory + "/" + SigV4Signer.hex(SHA256.digest(Array(key.utf8))).prefix(32)
        self.statistics = CacheStatistics()
        try Self.makeDirectories(root)
        for type in Self.cachedTypes { try POSIX.makeDirectory(root + "/" + type.folderName) }
        // Marks the folder as used now; folders of repositories not used for 30 days go.
        utimensat(AT_FDCWD, root, nil, 0)
        Self.removeStale(in: directory, except: root)
    }

    /// `$XDG_CACHE_HOME/cartae-restic`, else `$HOME/.cache/cartae-restic`.
    public static func defaultDirectory(environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/cartae-restic" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/cartae-restic" }
        return nil
    }

    /// Asks the cache to keep these packs (by name) whole when they are next read.
    public func cachePacks(_ names: some Sequence<String>) {
        marked.withLock { $0.formUnion(names) }
    }

    public var location: String { inner.location }
    public func willLoad(_ handle: FileHandle, range: Range<Int>?) { inner.willLoad(handle, range: range) }
    public func localPath(_ handle: FileHandle) -> String? { inner.localPath(handle) }
    public var connections: Int { inner.connections }
    public var cacheStatistics: CacheStatistics { statistics }

    private func path(_ handle: FileHandle) -> String {
        root + "/" + handle.type.folderName + "/" + handle.name
    }

    private func cacheable(_ handle: FileHandle) -> Bool {
        guard Self.cachedTypes.contains(handle.type), ObjectID(hex: handle.name) != nil else { return false }
        return handle.type != .pack || marked.withLock { $0.contains(handle.name) }
    }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        try await inner.save(handle, data: data)
        if cacheable(handle) { store(handle, data) }
    }

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        guard cacheable(handle) else { return try await inner.load(handle, offset: offset, length: length) }
        if let bytes = cached(handle, offset: offset, length: length) {
            statistics.hitCount.add(1, ordering: .relaxed)
            return bytes
        }
        statistics.missCount.add(1, ordering: .relaxed)
        let whole = try await inner.load(handle)
        if ObjectID(bytes: SHA256.digest(whole)) == ObjectID(hex: handle.name) {
            store(handle, whole)
            verified.withLock { _ = $0.insert(handle) }
        }
        let end = length.map { offset + $0 } ?? whole.count
        guard offset <= end, end <= whole.count else {
            throw ResticError.corrupt("\(inner.location): \(handle): short read (\(end - offset) bytes at offset \(offset) requested, the file has \(whole.count) bytes)")
        }
        return offset == 0 && end == whole.count ? whole : Array(whole[offset..<end])
    }

    public func stat(_ handle: FileHandle) async throws -> Int {
        try await inner.stat(handle)
    }

    public func list(_ type: FileType) async throws -> [FileInfo] {
        let listed = try await inner.list(type)
        dropStaleCopies(type, present: listed.map(\.name))
        return listed
    }

    public func listNames(_ type: FileType) async throws -> [String] {
        let names = try await inner.listNames(type)
        dropStaleCopies(type, present: names)
        return names
    }

    /// Copies of files the repository no longer has are dropped whenever it is listed.
    private func dropStaleCopies(_ type: FileType, present names: [String]) {
        guard Self.cachedTypes.contains(type) else { return }
        let present = Set(names)
        let folder = root + "/" + type.folderName
        for name in (try? POSIX.listDirectory(folder)) ?? [] where !present.contains(name) {
            unlink(folder + "/" + name)
        }
    }

    public func remove(_ handle: FileHandle) async throws {
        try await inner.remove(handle)
        if Self.cachedTypes.contains(handle.type) { unlink(path(handle)) }
    }

    public func repositoryExists() async throws -> Bool { try await inner.repositoryExists() }
    public func create() async throws { try await inner.create() }

    // MARK: files

    /// The requested bytes from a verified copy, or nil (no copy, or a bad one, now deleted).
    private func cached(_ handle: FileHandle, offset: Int, length: Int?) -> [UInt8]? {
        let file = path(handle)
        guard let size = try? POSIX.fileSize(file) else { return nil }
        let fd: Int32
        do { fd = try POSIX.open(file, O_RDONLY) } catch { return nil }
        defer { close(fd) }
        if !verified.withLock({ $0.contains(handle) }) {
            guard let whole = try? POSIX.pread(fd, count: size, offset: 0, path: file), whole.count == size,
                  ObjectID(bytes: SHA256.digest(whole)) == ObjectID(hex: handle.name) else {
                unlink(file)
                return nil
            }
            verified.withLock { _ = $0.insert(handle) }
            if offset == 0 && (length == nil || length == size) { return whole }
        }
        let count = length ?? max(0, size - offset)
        guard offset + count <= size, let bytes = try? POSIX.pread(fd, count: count, offset: offset, path: file),
              bytes.count == count else { return nil }
        return bytes
    }

    /// Writes a copy through a temporary name; a failure only costs the next run a download.
    private func store(_ handle: FileHandle, _ data: [UInt8]) {
        let file = path(handle)
        let temp = file + ".tmp-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        guard let fd = try? POSIX.open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600) else { return }
        let written = (try? data.withUnsafeBytes { try POSIX.writeAll(fd, $0, path: temp) }) != nil
        close(fd)
        if !written || rename(temp, file) != 0 { unlink(temp) }
    }

    private static func makeDirectories(_ path: String) throws {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if !POSIX.isDirectory(current) { try POSIX.makeDirectory(current) }
        }
    }

    /// Removes repository folders under `directory` untouched for 30 days (restic does the same).
    private static func removeStale(in directory: String, except keep: String) {
        let limit = time(nil) - 30 * 86400
        for name in (try? POSIX.listDirectory(directory)) ?? [] where name.count == 32 {
            let folder = directory + "/" + name
            var st = Glibc.stat()
            guard folder != keep, lstat(folder, &st) == 0, st.st_mtim.tv_sec < limit else { continue }
            removeTree(folder)
        }
    }

    private static func removeTree(_ folder: String) {
        for type in cachedTypes {
            let sub = folder + "/" + type.folderName
            for name in (try? POSIX.listDirectory(sub)) ?? [] { unlink(sub + "/" + name) }
            rmdir(sub)
        }
        rmdir(folder)
    }
}
