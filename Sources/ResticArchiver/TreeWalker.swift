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
    let factory: NodeFactory
    let offset: Int32
    static let cacheTagName = Array("CACHEDIR.TAG".utf8)
    static let cacheTagSignature = Array("Signature: 8a477f597d28d172789f06886806bc55".utf8)

    init(run: BackupRun) {
        self.run = run
        factory = NodeFactory(owners: run.owners)
        offset = (run.options.time ?? GoTime.now()).utcOffset
    }

    /// Lists one directory (its own node already made) and everything below it. A
    /// subdirectory goes to a walker task of its own when one is free (see `WalkerSlots`),
    /// else it is walked here: the tree's bytes do not depend on which, since every entry has
    /// its slot in its directory.
    func walk(_ child: Child, device: UInt64) async throws {
        let dir = child.tree
        try Task.checkCancellation()
        var listing: WalkListing?
        do {
            listing = try WalkListing(dir.path, cached: child.listing)
        } catch let error as ResticError where error.kind == .io || error.kind == .notFound {
            // An unreadable directory is kept with what could be read (nothing), as restic does.
            run.warn("\(error)")
        }
        if let listing {
            let parentTree = await loadParentTree(dir.parentSubtree)
            if let parentTree { dir.keepParentNodes(parentTree.nodes) }
            var cacheTagged = false
            if run.options.excludeCaches, listing.contains(Self.cacheTagName) {
                cacheTagged = Self.hasCacheSignature(SourceFS.join(dir.path, Self.cacheTagName))
            }
            try await walkEntries(listing, of: dir, parentNodes: parentTree?.nodes ?? [], cacheTagged: cacheTagged,
                                  device: device)
        }
        if dir.listingFinished() { try await run.finish(dir) }
    }

    /// Entries a walker goes through before it may hand half of the rest of its listing to a
    /// free walker slot, when no file waits for a reader: one directory can hold a large share
    /// of a source (17,900 of the 64,000 entries of /usr/share are in man/man1), and a single
    /// task going through it alone leaves the other core idle while an unchanged backup's walk
    /// is all the work there is. Fewer than this is under a millisecond of work, not worth
    /// another task. While files are being read, halves would only interleave the readers'
    /// files from two places in the folder.
    static let entriesBeforeSplit = 512

    /// Goes through the entries `listing` yields, filing them into `dir` and walking its
    /// subdirectories; returns once every task it started has finished.
    private func walkEntries(_ listing: WalkListing, of dir: PendingTree, parentNodes: [Node], cacheTagged: Bool,
                             device: UInt64) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            do {
                try await fileEntries(listing, of: dir, parentNodes: parentNodes, cacheTagged: cacheTagged,
                                      device: device, tasks: &group)
            } catch let error as ResticError where error.kind == .io || error.kind == .notFound {
                // What could be read is kept, as restic does; the tasks already started finish.
                run.warn("\(error)")
            }
            try await group.waitForAll()
        }
    }

    /// `walkEntries`' loop; the tasks it starts (subdirectories, a half of the listing) go
    /// into `tasks`.
    private func fileEntries(_ listing: WalkListing, of dir: PendingTree, parentNodes: [Node], cacheTagged: Bool,
                             device: UInt64, tasks: inout ThrowingTaskGroup<Void, any Error>) async throws {
        var listing = listing
        var parent = ParentNodes(parentNodes)
        var sinceSplit = 0
        while let (name, source) = listing.next() {
            sinceSplit += 1
            if sinceSplit >= Self.entriesBeforeSplit, listing.remaining >= Self.entriesBeforeSplit,
               run.queue.isEmpty, run.walkerSlots.tryAcquire(spareIf: true) {
                sinceSplit = 0
                let rest = listing.splitOffSecondHalf()
                startTask(in: &tasks) { walker in
                    try await walker.walkEntries(rest, of: dir, parentNodes: parentNodes, cacheTagged: cacheTagged,
                                                 device: device)
                }
            }
            if cacheTagged && name != Self.cacheTagName { continue }
            let path = SourceFS.join(dir.path, name)
            if isExcluded(path) { continue }
            guard let child = try await add(name: name, path: path, to: dir, previous: parent.node(named: name),
                                            device: device, source: source) else { continue }
            if run.walkerSlots.tryAcquire(spareIf: run.queue.isEmpty) {
                startTask(in: &tasks) { walker in try await walker.walk(child, device: device) }
            } else {
                try await walk(child, device: device)
            }
        }
    }

    /// Runs `work` on a walker task of its own, in the walker slot the caller acquired, and
    /// gives the slot back when it ends.
    private func startTask(in tasks: inout ThrowingTaskGroup<Void, any Error>,
                           _ work: @escaping @Sendable (TreeWalker) async throws -> Void) {
        let run = run
        tasks.addTask {
            defer { run.walkerSlots.release() }
            try await work(TreeWalker(run: run))
        }
    }

    /// A subdirectory to walk, with its listing from the scan cache when it was there.
    struct Child: Sendable {
        let tree: PendingTree
        let listing: ScannedDirectory?
    }

    /// Files the entry into `dir` (or hands it to the readers); returns a subdirectory for the
    /// caller to walk. `previous` is the entry's node in the parent snapshot.
    func add(name: [UInt8], path: [UInt8], to dir: PendingTree, previous: Node?, device: UInt64,
             source: WalkListing.Source = .live(nil)) async throws -> Child? {
        let status: SourceFS.Status
        var node: Node
        // A folder's listing is taken from the cache with its node: a cached entry's own times
        // are refreshed from it, since entries coming and going in a folder change its times
        // without an event on the watch of the folder above, only on its own.
        var listing: ScannedDirectory?
        var taken = false
        var source = source
        if case .cached(var entry) = source, entry.status.st_mode & S_IFMT == S_IFDIR, let cache = run.options.scanCache {
            taken = true
            listing = cache.take(path, device: UInt64(entry.status.st_dev), inode: UInt64(entry.status.st_ino))
            if let listing {
                listing.refresh(&entry.status)
                source = .cached(entry)
            } else {
                source = .live(nil)
            }
        }
        do {
            switch source {
            case .cached(let entry):
                status = SourceFS.status(entry.status, offset: offset)
                guard let type = NodeFactory.type(status.mode) else { return nil }
                node = factory.node(name: name, type: type, status: status, attributes: entry.attributes,
                                    linkTarget: entry.linkTarget)
            case .live(let directory):
                if let directory {
                    status = try SourceFS.lstat(at: directory, name: name, path: path, offset: offset)
                } else {
                    status = try SourceFS.lstat(path, offset: offset)
                }
                guard let made = try factory.node(name: name, path: path, status: status, directory: directory) else { return nil }
                node = made
            }
        } catch let error as ResticError where error.kind == .io || error.kind == .notFound {
            run.warn("\(error)")
            return nil
        }
        if run.options.oneFileSystem && status.device != device && status.isDirectory { return nil }
        switch node.type {
        case "dir":
            if !taken, let cache = run.options.scanCache {
                listing = cache.take(path, device: status.device, inode: status.inode)
            }
            let tree = PendingTree(node: node, path: path, parent: dir,
                                   parentSubtree: previous?.type == "dir" ? previous?.subtree : nil,
                                   existedInParent: previous != nil)
            return Child(tree: tree, listing: listing)
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
        SourceFS.isExcluded(path, by: run.options.excludes)
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

/// The parent snapshot's nodes of one directory, looked up by name in increasing order (the
/// walker's): a cursor that only moves forward over the sorted nodes, instead of a binary
/// search per entry. The first lookup places it by binary search, as a listing's second half
/// starts in the middle.
struct ParentNodes {
    private let nodes: [Node]
    private var index: Int?

    init(_ nodes: [Node]) {
        self.nodes = nodes
    }

    mutating func node(named name: [UInt8]) -> Node? {
        var i = index ?? firstNotBefore(name)
        while i < nodes.count, Tree.precedes(nodes[i].name, name) { i += 1 }
        index = i
        return i < nodes.count && nodes[i].name == name ? nodes[i] : nil
    }

    private func firstNotBefore(_ name: [UInt8]) -> Int {
        var low = 0, high = nodes.count
        while low < high {
            let mid = (low + high) / 2
            if Tree.precedes(nodes[mid].name, name) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
