import ResticCore
import ResticRepository

/// What to restore, worked out from the trees before any data is read.
struct RestorePlan: Sendable {
    enum Kind: Sendable {
        case directory
        case file(index: Int)
        /// A further name of a file already restored under `RestorePlan.files[index]`.
        case hardlink(index: Int)
        case symlink
        case special
    }

    struct Entry: Sendable {
        var path: RawPath
        var meta: EntryMeta
        var kind: Kind
        var depth: Int
        /// The directory holding the entry, numbered in walk order (0 is the target): work is
        /// grouped by it because the kernel serialises entry creation within one directory.
        var parent: Int
    }

    /// How a file's content reaches it, which decides who creates it and sets its metadata.
    enum Layout: Sendable {
        /// No content: made, with its metadata, before any pack is read.
        case empty
        /// Every blob is in one pack: the pack's worker creates it, writes it, sets its
        /// metadata and closes it, without another pass over the files.
        case onePack
        /// Blobs in several packs, or some missing: made before the data, metadata after.
        case spanning
    }

    struct FileTarget: Sendable {
        var path: RawPath
        var size: Int
        var failed = false
        var parent: Int
        var layout: Layout
        /// Index of the file's entry in `entries`, set once the walk is done.
        var entry = 0
    }

    /// One blob's plaintext going to one place. A plan keeps one flat array of these instead of
    /// a table keyed by blob: sorted by pack and offset, copies of one blob fall side by side,
    /// so each is read and decrypted once.
    struct Placement: Sendable {
        var id: ObjectID
        var location: BlobLocation
        var file: Int
        var offset: Int
    }

    /// One pack's placements: `placements[range]` once sorted.
    struct PackWork: Sendable {
        var pack: ObjectID
        var range: Range<Int>
    }

    var entries: [Entry] = []
    var files: [FileTarget] = []
    var placements: [Placement] = []
    var problems: [String] = []
    private var directoryCount = 1

    /// Walks the trees below `root`, applying the filters, and records every entry and where each
    /// blob's bytes belong.
    static func make(_ repo: IndexedRepository, root: ObjectID, target: RawPath,
                     filter: RestoreFilter) async throws -> RestorePlan {
        var plan = RestorePlan()
        var hardlinks: [HardlinkKey: Int] = [:]
        try await plan.visit(repo, tree: root, loading: Task { try await repo.loadTree(root) }, path: target,
                             snapshotPath: "", depth: 0, parent: 0, filter: filter, hardlinks: &hardlinks)
        plan.finish()
        return plan
    }

    struct HardlinkKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// Subtrees loaded ahead of the walk, per directory: loading (read, decrypt, decode) then
    /// overlaps with walking on the other cores. Only without filters, which may skip them.
    static let treesAhead = 4

    private mutating func visit(_ repo: IndexedRepository, tree id: ObjectID, loading: Task<Tree, Error>,
                                path: RawPath, snapshotPath: String, depth: Int, parent: Int, filter: RestoreFilter,
                                hardlinks: inout [HardlinkKey: Int]) async throws {
        let tree: Tree
        do {
            tree = try await loading.value
        } catch {
            problems.append("\(snapshotPath.isEmpty ? "/" : snapshotPath): \(error)")
            return
        }
        let subtrees: [(index: Int, id: ObjectID)] = filter.isEmpty ? tree.nodes.indices.compactMap { index in
            let node = tree.nodes[index]
            return node.type == "dir" ? node.subtree.map { (index, $0) } : nil
        } : []
        var ahead: [Int: Task<Tree, Error>] = [:]
        var started = 0
        func loadAhead() {
            while started < subtrees.count && ahead.count < Self.treesAhead {
                let subtree = subtrees[started].id
                ahead[subtrees[started].index] = Task { try await repo.loadTree(subtree) }
                started += 1
            }
        }
        loadAhead()
        defer { for task in ahead.values { task.cancel() } }
        for (index, node) in tree.nodes.enumerated() {
            let name = node.name
            if name.isEmpty || name == Array(".".utf8) || name == Array("..".utf8) || name.contains(UInt8(ascii: "/")) {
                problems.append("\(snapshotPath)/\(node.nameString): invalid file name in tree \(id.hex), skipped")
                continue
            }
            let childPath = path.appending(name)
            let childSnapshotPath = snapshotPath + "/" + node.nameString
            let decision = filter.decide(childSnapshotPath, isDirectory: node.type == "dir")
            if decision == .skip { continue }
            switch node.type {
            case "dir":
                if decision == .select {
                    entries.append(Entry(path: childPath, meta: EntryMeta(node), kind: .directory, depth: depth, parent: parent))
                }
                guard let subtree = node.subtree else {
                    problems.append("\(childSnapshotPath): directory without subtree")
                    continue
                }
                let before = entries.count
                let number = directoryCount
                directoryCount += 1
                let loading = ahead.removeValue(forKey: index) ?? Task { try await repo.loadTree(subtree) }
                loadAhead()
                try await visit(repo, tree: subtree, loading: loading, path: childPath, snapshotPath: childSnapshotPath,
                                depth: depth + 1, parent: number, filter: filter, hardlinks: &hardlinks)
                // A directory entered only to reach included children is still made, as a parent.
                if decision == .descendOnly && entries.count > before {
                    entries.insert(Entry(path: childPath, meta: EntryMeta(node), kind: .directory, depth: depth, parent: parent),
                                   at: before)
                }
            case "file":
                if decision == .select {
                    addFile(node, path: childPath, snapshotPath: childSnapshotPath, depth: depth, parent: parent,
                            repo: repo, hardlinks: &hardlinks)
                }
            case "symlink":
                if decision == .select {
                    entries.append(Entry(path: childPath, meta: EntryMeta(node), kind: .symlink, depth: depth, parent: parent))
                }
            case "fifo", "dev", "chardev":
                if decision == .select {
                    entries.append(Entry(path: childPath, meta: EntryMeta(node), kind: .special, depth: depth, parent: parent))
                }
            default:
                problems.append("\(childSnapshotPath): unsupported node type \"\(node.type)\", skipped")
            }
        }
    }

    private mutating func addFile(_ node: Node, path: RawPath, snapshotPath: String, depth: Int, parent: Int,
                                  repo: IndexedRepository, hardlinks: inout [HardlinkKey: Int]) {
        if node.links > 1 && node.inode != 0 {
            let key = HardlinkKey(device: node.deviceID, inode: node.inode)
            if let first = hardlinks[key] {
                entries.append(Entry(path: path, meta: EntryMeta(node), kind: .hardlink(index: first), depth: depth, parent: parent))
                return
            }
            hardlinks[key] = files.count
        }
        let number = files.count
        var offset = 0
        var failed = false
        var pack: ObjectID?
        var spans = false
        let content = node.content ?? []
        if node.content == nil { problems.append("\(snapshotPath): file node without content list") }
        for blob in content {
            guard let location = repo.index.location(of: blob, .data) else {
                problems.append("\(snapshotPath): data blob \(blob.hex) not found in index")
                failed = true
                continue
            }
            placements.append(Placement(id: blob, location: location, file: number, offset: offset))
            offset += location.plaintextLength
            if pack == nil { pack = location.pack } else if pack != location.pack { spans = true }
        }
        let layout: Layout = failed || spans ? .spanning : content.isEmpty ? .empty : .onePack
        files.append(FileTarget(path: path, size: failed ? Int(node.size) : offset, failed: failed,
                                parent: parent, layout: layout))
        entries.append(Entry(path: path, meta: EntryMeta(node), kind: .file(index: number), depth: depth, parent: parent))
    }

    /// Links files to their entries, and sorts the placements by pack and offset.
    private mutating func finish() {
        for (number, entry) in entries.enumerated() {
            if case .file(let index) = entry.kind { files[index].entry = number }
        }
        // Mostly in order already (a backup writes packs as it walks): the merge sort is quick.
        placements.sort { a, b in
            a.location.pack != b.location.pack ? a.location.pack < b.location.pack : a.location.offset < b.location.offset
        }
    }

    /// Pack bytes one unit of work covers, roughly: small enough that the last units do not
    /// leave cores idle, large enough that reads stay few.
    static let unitBytes = 4 << 20

    /// The work: each pack cut into units at blob boundaries that no one-pack file straddles
    /// (its worker must see all of the file's blobs), ordered round-robin over the packs so the
    /// units in flight at once come from different packs and mostly touch different files.
    func packWork() -> [PackWork] {
        var perPack: [[PackWork]] = []
        var start = 0
        while start < placements.count {
            let pack = placements[start].location.pack
            var end = start + 1
            while end < placements.count && placements[end].location.pack == pack { end += 1 }
            perPack.append(units(pack, start..<end))
            start = end
        }
        var work: [PackWork] = []
        for round in 0..<(perPack.map(\.count).max() ?? 0) {
            for units in perPack where round < units.count { work.append(units[round]) }
        }
        return work
    }

    private func units(_ pack: ObjectID, _ range: Range<Int>) -> [PackWork] {
        var last: [Int: Int] = [:]
        for index in range where files[placements[index].file].layout == .onePack {
            last[placements[index].file] = index
        }
        var units: [PackWork] = []
        var unitStart = range.lowerBound
        var reach = range.lowerBound
        var bytes = 0
        for index in range {
            let newBlob = index == range.lowerBound
                || placements[index].location.offset != placements[index - 1].location.offset
            if newBlob && index > unitStart && reach < index && bytes >= Self.unitBytes {
                units.append(PackWork(pack: pack, range: unitStart..<index))
                unitStart = index
                bytes = 0
            }
            if let end = last[placements[index].file] { reach = max(reach, end) }
            if newBlob { bytes += Int(placements[index].location.length) }
        }
        units.append(PackWork(pack: pack, range: unitStart..<range.upperBound))
        return units
    }
}
