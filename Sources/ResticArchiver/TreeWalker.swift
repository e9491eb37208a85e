#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticRepository

/// Walks the source depth first, compares each entry with the parent snapshot, and routes it:
/// metadata and unchanged files straight into their directory's pending tree, changed and new
/// files onto the readers' queue. One per walker task; finishes directories that need no reader.
struct TreeWalker {
    let run: BackupRun
    let sealer: BlobSealer
    let factory = NodeFactory()
    let offset: Int32
    static let cacheTagName = Array("CACHEDIR.TAG".utf8)
    static let cacheTagSignature = Array("Signature: 8a477f597d28d172789f06886806bc55".utf8)

    init(run: BackupRun) throws {
        self.run = run
        sealer = try run.makeSealer()
        offset = (run.options.time ?? GoTime.now()).utcOffset
    }

    /// Lists one directory (its own node already made) and everything below it. A
    /// subdirectory goes to a walker task of its own when one is free (see `WalkerSlots`),
    /// else it is walked here: the tree's bytes do not depend on which, since every entry has
    /// its slot in its directory.
    func walk(_ dir: PendingTree, device: UInt64) async throws {
        try Task.checkCancellation()
        try await withThrowingTaskGroup(of: Void.self) { group in
            do {
                let directory = try SourceFS.OpenDirectory(dir.path)
                let names = try directory.names()
                let parentTree = await loadParentTree(dir.parentSubtree)
                var cacheTagged = false
                if run.options.excludeCaches, names.contains(Self.cacheTagName) {
                    cacheTagged = Self.hasCacheSignature(SourceFS.join(dir.path, Self.cacheTagName))
                }
                for name in names {
                    if cacheTagged && name != Self.cacheTagName { continue }
                    let path = SourceFS.join(dir.path, name)
                    if isExcluded(path) { continue }
                    guard let child = try await add(name: name, path: path, to: dir, parentTree: parentTree,
                                                    device: device, directory: directory) else { continue }
                    if run.walkerSlots.tryAcquire() {
                        let run = run
                        group.addTask {
                            defer { run.walkerSlots.release() }
                            try await TreeWalker(run: run).walk(child, device: device)
                        }
                    } else {
                        try await walk(child, device: device)
                    }
                }
            } catch let error as ResticError where error.kind == .io || error.kind == .notFound {
                // An unreadable directory is kept with what could be read (nothing), as restic does.
                run.warn("\(error)")
            }
            try await group.waitForAll()
        }
        if dir.listingFinished() { try await run.finish(dir, sealer: sealer) }
    }

    /// Files the entry into `dir` (or hands it to the readers); returns a subdirectory for the
    /// caller to walk.
    func add(name: [UInt8], path: [UInt8], to dir: PendingTree, parentTree: Tree?, device: UInt64,
             directory: SourceFS.OpenDirectory? = nil) async throws -> PendingTree? {
        let status: SourceFS.Status
        var node: Node
        do {
            if let directory {
                status = try SourceFS.lstat(at: directory, name: name, path: path, offset: offset)
            } else {
                status = try SourceFS.lstat(path, offset: offset)
            }
            guard let made = try factory.node(name: name, path: path, status: status) else { return nil }
            node = made
        } catch let error as ResticError where error.kind == .io || error.kind == .notFound {
            run.warn("\(error)")
            return nil
        }
        if run.options.oneFileSystem && status.device != device && status.isDirectory { return nil }
        let previous = parentTree?.node(named: name)
        switch node.type {
        case "dir":
            return PendingTree(node: node, path: path, parent: dir,
                               parentSubtree: previous?.type == "dir" ? previous?.subtree : nil,
                               existedInParent: previous != nil)
        case "file":
            let size = node.size
            run.count { $0.totalFilesProcessed += 1; $0.totalBytesProcessed += size }
            run.progress.scanned(files: 1, bytes: size)
            if !run.options.force, let previous, Self.unchanged(node, previous),
               let content = previous.content, content.allSatisfy({ run.repository.index.contains($0, .data) }) {
                node.content = content
                dir.add(node)
                run.count { $0.filesUnmodified += 1 }
                run.progress.processed(files: 1, bytes: size)
                return nil
            }
            let ticket = run.readAhead.submit(path: path, size: size)
            try await run.queue.send(FileJob(node: node, path: path, directory: dir, slot: dir.reserveSlot(),
                                             existedInParent: previous != nil, ticket: ticket))
        default:
            dir.add(node)
        }
        return nil
    }

    /// restic's change detection: same type, mtime, ctime, size and inode.
    static func unchanged(_ node: Node, _ previous: Node) -> Bool {
        func same(_ a: GoTime, _ b: GoTime) -> Bool { a.seconds == b.seconds && a.nanoseconds == b.nanoseconds }
        return previous.type == "file" && same(previous.mtime, node.mtime) && same(previous.ctime, node.ctime)
            && previous.size == node.size && previous.inode == node.inode
    }

    func isExcluded(_ path: [UInt8]) -> Bool {
        guard !run.options.excludes.isEmpty else { return false }
        let text = SourceFS.describe(path)
        return run.options.excludes.contains { $0.matches(text) }
    }

    func loadParentTree(_ id: ObjectID?) async -> Tree? {
        guard let id else { return nil }
        return try? await run.repository.loadTree(id)
    }

    static func hasCacheSignature(_ path: [UInt8]) -> Bool {
        let fd = SourceFS.withCString(path) { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: cacheTagSignature.count)
        let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n == cacheTagSignature.count && header == cacheTagSignature
    }
}
