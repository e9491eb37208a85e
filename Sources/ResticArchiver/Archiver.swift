#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticChunker
import ResticRepository
import Synchronization

/// Backs up paths into a snapshot: scan and compare with the parent, read changed files in
/// parallel (chunk, hash, deduplicate, compress, encrypt, pack), write the trees bottom up, then
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
        var summary = BackupSummary()
        summary.start = GoTime.now()
        let targets = try Self.cleanTargets(paths)
        let writer = try await Self.makeWriter(repository, options: options)

        var scanner = SourceScanner(repository: repository, options: options, progress: progress)
        let parentRoot = options.parent?.snapshot.tree
        let root = try await scanRoot(targets, scanner: &scanner, parentRoot: parentRoot)
        summary.warnings = scanner.warnings

        var files = scanner.files
        try await readFiles(&files, writer: writer, summary: &summary)
        let sealer = try BlobSealer(repository: repository.repository, compression: options.compression)
        let treeID = try await saveTree(root, files: files, writer: writer, sealer: sealer, summary: &summary)
        try await writer.flush()

        let stats = await writer.statistics
        summary.dataBlobs = stats.dataBlobs
        summary.treeBlobs = stats.treeBlobs
        summary.dataAdded = stats.dataAdded
        summary.dataAddedPacked = stats.dataAddedPacked
        summary.end = GoTime.now()
        var snapshot = SnapshotBuilder.make(tree: treeID, paths: targets.map { SourceFS.describe($0) }, options: options)
        snapshot.summary = summary.snapshotSummary
        if !options.dryRun {
            summary.snapshotID = try await repository.repository.saveUnpacked(.snapshot, snapshot.encode())
        }
        return summary
    }

    /// A writer that also takes in the packs an interrupted earlier run left unindexed, when no
    /// other live process holds a lock (a concurrent backup's packs are not ours to index).
    static func makeWriter(_ repository: IndexedRepository, options: BackupOptions) async throws -> RepositoryWriter {
        let writer = RepositoryWriter(repository: repository, packSize: options.packSize, dryRun: options.dryRun)
        if !options.dryRun, try await RepositoryLock.noOtherLiveLock(repository.repository) {
            try await writer.adoptUnindexedPacks()
        }
        return writer
    }

    /// Absolute, cleaned target paths; a missing target is an error before anything is written.
    static func cleanTargets(_ paths: [String]) throws -> [[UInt8]] {
        guard !paths.isEmpty else { throw ResticError.invalid("nothing to backup, please specify source files/dirs") }
        var cleaned: [[UInt8]] = []
        for path in paths {
            let absolute = path.hasPrefix("/") ? path : Self.currentDirectory() + "/" + path
            let clean = PathClean.clean(absolute)
            var st = stat()
            guard clean.withCString({ lstat($0, &st) }) == 0 else {
                throw ResticError(.notFound, "\(path) does not exist: \(String(cString: strerror(errno)))")
            }
            let bytes = Array(clean.utf8)
            if !cleaned.contains(bytes) { cleaned.append(bytes) }
        }
        return cleaned.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(cString: buffer)
    }

    /// Builds the virtual root: the first components of every target, down to the targets,
    /// with the real metadata of each intermediate directory.
    private func scanRoot(_ targets: [[UInt8]], scanner: inout SourceScanner, parentRoot: ObjectID?) async throws -> ScannedDirectory {
        var rootNode = Node(name: [], type: "dir")
        rootNode.mode = GoFileMode.dir | 0o755
        let root = ScannedDirectory(node: rootNode, path: [47], parentSubtree: parentRoot, existedInParent: parentRoot != nil)
        for target in targets {
            let components = target.split(separator: 47).map(Array.init)
            var dir = root
            var path: [UInt8] = []
            for (i, name) in components.enumerated() {
                path += [47] + name
                let parentTree = await scanner.loadParentTree(dir.parentSubtree)
                if i == components.count - 1 {
                    let status = try SourceFS.lstat(path, offset: scanner.offset)
                    await scanner.add(name: name, path: path, to: dir, parentTree: parentTree, device: status.device)
                    break
                }
                if case .directory(let existing)? = dir.children.first(where: {
                    if case .directory(let d) = $0 { return d.node.name == name } else { return false }
                }) {
                    dir = existing
                    continue
                }
                let status = try SourceFS.lstat(path, offset: scanner.offset)
                guard var node = try scanner.factory.node(name: name, path: path, status: status) else { break }
                node.type = "dir"
                let previous = parentTree?.node(named: name)
                let next = ScannedDirectory(node: node, path: path, parentSubtree: previous?.subtree,
                                            existedInParent: previous != nil)
                dir.children.append(.directory(next))
                dir = next
            }
        }
        return root
    }

    /// Reads every changed file on a few workers; the results land in `files`.
    private func readFiles(_ files: inout [FileJob], writer: RepositoryWriter, summary: inout BackupSummary) async throws {
        let tables = ChunkerTables.shared(for: repository.repository.polynomial)
        let work = files.indices.filter { files[$0].reusedContent == nil }
        for index in files.indices {
            summary.totalFilesProcessed += 1
            summary.totalBytesProcessed += files[index].node.size
            if let reused = files[index].reusedContent {
                files[index].node.content = reused
                summary.filesUnmodified += 1
                progress.processed(files: 1, bytes: files[index].node.size)
            }
        }
        let repo = repository, options = options, progress = progress
        let paths = work.map { files[$0].path }
        let cursor = WorkCursor()
        // A few long-lived workers, each with its own buffer and contexts, pull files in order.
        try await withThrowingTaskGroup(of: [(Int, Result<ChunkedReader.Result, Error>)].self) { group in
            for _ in 0..<max(1, min(options.fileConcurrency, paths.count)) {
                group.addTask {
                    let sealer = try BlobSealer(repository: repo.repository, compression: options.compression)
                    let reader = ChunkedReader(writer: writer, sealer: sealer, tables: tables)
                    var outcomes: [(Int, Result<ChunkedReader.Result, Error>)] = []
                    while let position = cursor.next(below: paths.count) {
                        do {
                            let result = try await reader.storeFile(paths[position]) { progress.processed(files: 0, bytes: UInt64($0)) }
                            progress.processed(files: 1, bytes: 0, current: SourceFS.describe(paths[position]))
                            outcomes.append((position, .success(result)))
                        } catch let error as ResticError where error.kind == .io || error.kind == .notFound {
                            outcomes.append((position, .failure(error)))
                        }
                    }
                    return outcomes
                }
            }
            while let outcomes = try await group.next() {
                for (position, outcome) in outcomes {
                    let index = work[position]
                    switch outcome {
                    case .success(let result):
                        files[index].node.content = result.content
                        // The size restic records is what was read, even if the file changed meanwhile.
                        files[index].node.size = result.bytesRead
                        if files[index].existedInParent { summary.filesChanged += 1 } else { summary.filesNew += 1 }
                    case .failure(let error):
                        files[index].failed = true
                        summary.warnings.append("\(error)")
                        progress.failed()
                    }
                }
            }
        }
    }

    /// Encodes and stores the trees from the leaves up; returns the root tree's ID.
    private func saveTree(_ dir: ScannedDirectory, files: [FileJob], writer: RepositoryWriter,
                          sealer: BlobSealer, summary: inout BackupSummary) async throws -> ObjectID {
        var nodes: [Node] = []
        for child in dir.children {
            switch child {
            case .directory(let sub):
                var node = sub.node
                node.subtree = try await saveTree(sub, files: files, writer: writer, sealer: sealer, summary: &summary)
                nodes.append(node)
            case .file(let index):
                if !files[index].failed { nodes.append(files[index].node) }
            case .leaf(let node):
                nodes.append(node)
            }
        }
        nodes.sort { $0.name.lexicographicallyPrecedes($1.name) }
        let bytes = Tree(nodes: nodes).encode()
        let (id, _) = try await writer.save(bytes, .tree, sealer: sealer)
        if dir.path == [47] {
            // The virtual root holds the targets' first components; restic does not count it.
        } else if dir.existedInParent {
            if id == dir.parentSubtree { summary.dirsUnmodified += 1 } else { summary.dirsChanged += 1 }
        } else {
            summary.dirsNew += 1
        }
        return id
    }
}

/// Hands out work positions to concurrent workers, each exactly once.
final class WorkCursor: Sendable {
    private let position = Atomic<Int>(0)

    func next(below count: Int) -> Int? {
        let value = position.add(1, ordering: .relaxed).oldValue
        return value < count ? value : nil
    }
}
