#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticChunker
import ResticRepository

/// Backs up paths into a snapshot: one task walks the source and compares it with the parent
/// snapshot while a few others read the changed files (chunk, hash, deduplicate, compress,
/// encrypt, pack); each directory's tree is written as soon as its entries are stored; then
/// the index, and only then the snapshot.
public struct Archiver: Sendable {
    public let repository: IndexedRepository
    public let options: BackupOptions
    public let progress: BackupProgress

    public init(repository: IndexedRepository, options: BackupOptions, progress: BackupProgress = BackupProgress()) {
        self.repository = repository
        self.options = options
        self.progress = progress
    }

    public func backup(paths: [String]) async throws -> BackupSummary {
        let start = GoTime.now()
        let targets = try Self.cleanTargets(paths)
        let writer = try await Self.makeWriter(repository, options: options)
        let run = BackupRun(repository: repository, options: options, progress: progress, writer: writer)
        let tables = ChunkerTables.shared(for: repository.repository.polynomial)
        let readers = max(1, options.fileConcurrency)

        // One walker, a few readers and one sealer per core run at once, joined by bounded
        // queues: the source is never held in memory whole, one large file still keeps every
        // core busy, and trees are written as directories complete.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { run.queue.close(); run.readAhead.close() }
                if let cache = options.scanCache { try await ScanCacheHooks.current.beforeWalk(cache) }
                try await Self.walkTargets(targets, run: run)
                if let cache = options.scanCache {
                    ScanCacheHooks.current.afterWalk(cache)
                    cache.close()  // what the walker did not take (excluded directories) goes now
                }
            }
            for _ in 0..<readers {
                group.addTask { try await run.readFiles(tables: tables) }
            }
            for _ in 0..<Self.sealers {
                group.addTask { try await run.sealChunks() }
            }
            // Not `waitForAll`: it keeps waiting for the other tasks after one failed, and a
            // failed sealer (a pack that cannot be written) leaves the readers waiting for room
            // forever. Leaving the group with the error cancels them.
            do {
                while try await group.next() != nil {}
            } catch {
                run.readAhead.stop()
                throw error
            }
        }
        guard let treeID = run.root else {
            throw ResticError.corrupt("internal: the snapshot's root tree was not written")
        }
        try await writer.flush()

        var summary = run.summary
        summary.start = start
        let stats = writer.statistics
        summary.dataBlobs = stats.dataBlobs
        summary.treeBlobs = stats.treeBlobs
        summary.dataAdded = stats.dataAdded
        summary.dataAddedPacked = stats.dataAddedPacked
        summary.end = GoTime.now()
        var snapshot = SnapshotBuilder.make(tree: treeID, paths: targets.map { SourceFS.describe($0) }, options: options)
        snapshot.summary = summary.snapshotSummary
        if !options.dryRun {
            try Task.checkCancellation()  // interrupted (SIGINT) while the index was stored: no snapshot
            summary.snapshotID = try await repository.repository.saveUnpacked(.snapshot, snapshot.encode())
        }
        return summary
    }

    /// Tasks compressing and encrypting new chunks: one per core.
    static let sealers = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// A writer that also takes in the packs an interrupted earlier run left unindexed, when no
    /// other live process holds a lock (a concurrent backup's packs are not ours to index).
    static func makeWriter(_ repository: IndexedRepository, options: BackupOptions) async throws -> RepositoryWriter {
        let writer = RepositoryWriter(repository: repository, packSize: options.packSize, dryRun: options.dryRun)
        if !options.dryRun, try await RepositoryLock.noOtherLiveLock(repository.repository) {
            try await writer.adoptUnindexedPacks(listed: try await options.packListing?())
        }
        return writer
    }

    /// Absolute, cleaned target paths; a missing target is an error before anything is written.
    static func cleanTargets(_ paths: [String]) throws -> [[UInt8]] {
        guard !paths.isEmpty else { throw ResticError.invalid("nothing to backup, please specify source files/dirs") }
        var cleaned: [[UInt8]] = []
        for path in paths {
            let bytes = cleanPath(path)
            var st = stat()
            guard SourceFS.withCString(bytes, { lstat($0, &st) }) == 0 else {
                throw ResticError(.notFound, "\(path) does not exist: \(String(cString: strerror(errno)))")
            }
            if !cleaned.contains(bytes) { cleaned.append(bytes) }
        }
        return cleaned.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// A target as the walker names it (and the scan cache keys it): absolute and cleaned.
    static func cleanPath(_ path: String) -> [UInt8] {
        Array(PathClean.clean(path.hasPrefix("/") ? path : currentDirectory() + "/" + path).utf8)
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(cString: buffer)
    }

    /// Builds the virtual root: the first components of every target, down to the targets,
    /// with the real metadata of each intermediate directory; then walks every target.
    static func walkTargets(_ targets: [[UInt8]], run: BackupRun) async throws {
        let walker = TreeWalker(run: run)
        var rootNode = Node(name: [], type: "dir")
        rootNode.mode = GoFileMode.dir | 0o755
        let parentRoot = run.options.parent?.snapshot.tree
        let root = PendingTree(node: rootNode, path: [47], parent: nil, parentSubtree: parentRoot,
                               existedInParent: parentRoot != nil)
        var intermediates: [[UInt8]: PendingTree] = [[47]: root]
        var opened = [root]
        for target in targets {
            let components = target.split(separator: 47).map(Array.init)
            var dir = root
            var path: [UInt8] = []
            for (i, name) in components.enumerated() {
                path += [47] + name
                let parentTree = await walker.loadParentTree(dir.parentSubtree)
                if i == components.count - 1 {
                    let status = try SourceFS.lstat(path, offset: walker.offset)
                    if let child = try await walker.add(name: name, path: path, to: dir, previous: parentTree?.node(named: name),
                                                        device: status.device) {
                        try await walker.walk(child, device: status.device)
                    }
                    break
                }
                if let existing = intermediates[path] {
                    dir = existing
                    continue
                }
                let status = try SourceFS.lstat(path, offset: walker.offset)
                guard var node = try walker.factory.node(name: name, path: path, status: status) else { break }
                node.type = "dir"
                let previous = parentTree?.node(named: name)
                let next = PendingTree(node: node, path: path, parent: dir, parentSubtree: previous?.subtree,
                                       existedInParent: previous != nil)
                intermediates[path] = next
                opened.append(next)
                dir = next
            }
        }
        // Deepest first: a folder above the targets is complete once everything below it is.
        for dir in opened.reversed() {
            if dir.listingFinished() { try await run.finish(dir) }
        }
    }
}
