import ResticCore
import ResticRepository

/// What to restore, worked out from the trees before any data is read.
struct RestorePlan {
    enum Kind {
        case directory
        case file(index: Int)
        /// A further name of a file already restored under `RestorePlan.files[index]`.
        case hardlink(index: Int)
        case symlink
        case special
    }

    struct Entry {
        var path: RawPath
        var node: Node
        var kind: Kind
        var depth: Int
    }

    struct FileTarget {
        var path: RawPath
        var size: Int
        var blobs: [ObjectID]
        var failed = false
    }

    /// Where a blob's plaintext goes: file number and byte offset.
    struct Placement {
        var file: Int
        var offset: Int
    }

    struct PackWork {
        var pack: ObjectID
        var blobs: [(id: ObjectID, location: BlobLocation, placements: [Placement])]
    }

    var entries: [Entry] = []
    var files: [FileTarget] = []
    var blobPlacements: [ObjectID: (location: BlobLocation, placements: [Placement])] = [:]
    var problems: [String] = []

    /// Walks the trees below `root`, applying the filters, and records every entry and where each
    /// blob's bytes belong.
    static func make(_ repo: IndexedRepository, root: ObjectID, target: RawPath,
                     filter: RestoreFilter) async throws -> RestorePlan {
        var plan = RestorePlan()
        var hardlinks: [HardlinkKey: Int] = [:]
        try await plan.visit(repo, tree: root, path: target, snapshotPath: "", depth: 0,
                             filter: filter, hardlinks: &hardlinks)
        return plan
    }

    struct HardlinkKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private mutating func visit(_ repo: IndexedRepository, tree id: ObjectID, path: RawPath, snapshotPath: String,
                                depth: Int, filter: RestoreFilter, hardlinks: inout [HardlinkKey: Int]) async throws {
        let tree: Tree
        do {
            tree = try await repo.loadTree(id)
        } catch {
            problems.append("\(snapshotPath.isEmpty ? "/" : snapshotPath): \(error)")
            return
        }
        for node in tree.nodes {
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
                    entries.append(Entry(path: childPath, node: node, kind: .directory, depth: depth))
                }
                guard let subtree = node.subtree else {
                    problems.append("\(childSnapshotPath): directory without subtree")
                    continue
                }
                let before = entries.count
                try await visit(repo, tree: subtree, path: childPath, snapshotPath: childSnapshotPath,
                                depth: depth + 1, filter: filter, hardlinks: &hardlinks)
                // A directory entered only to reach included children is still made, as a parent.
                if decision == .descendOnly && entries.count > before {
                    entries.insert(Entry(path: childPath, node: node, kind: .directory, depth: depth), at: before)
                }
            case "file":
                if decision == .select {
                    addFile(node, path: childPath, snapshotPath: childSnapshotPath, depth: depth, repo: repo,
                            hardlinks: &hardlinks)
                }
            case "symlink":
                if decision == .select {
                    entries.append(Entry(path: childPath, node: node, kind: .symlink, depth: depth))
                }
            case "fifo", "dev", "chardev":
                if decision == .select {
                    entries.append(Entry(path: childPath, node: node, kind: .special, depth: depth))
                }
            default:
                problems.append("\(childSnapshotPath): unsupported node type \"\(node.type)\", skipped")
            }
        }
    }

    private mutating func addFile(_ node: Node, path: RawPath, snapshotPath: String, depth: Int,
                                  repo: IndexedRepository, hardlinks: inout [HardlinkKey: Int]) {
        if node.links > 1 && node.inode != 0 {
            let key = HardlinkKey(device: node.deviceID, inode: node.inode)
            if let first = hardlinks[key] {
                entries.append(Entry(path: path, node: node, kind: .hardlink(index: first), depth: depth))
                return
            }
            hardlinks[key] = files.count
        }
        let number = files.count
        var offset = 0
        var failed = false
        let content = node.content ?? []
        if node.content == nil { problems.append("\(snapshotPath): file node without content list") }
        for blob in content {
            if var known = blobPlacements[blob] {
                known.placements.append(Placement(file: number, offset: offset))
                blobPlacements[blob] = known
                offset += known.location.plaintextLength
            } else if let location = repo.index.location(of: blob, .data) {
                blobPlacements[blob] = (location, [Placement(file: number, offset: offset)])
                offset += location.plaintextLength
            } else {
                problems.append("\(snapshotPath): data blob \(blob.hex) not found in index")
                failed = true
            }
        }
        files.append(FileTarget(path: path, size: failed ? Int(node.size) : offset, blobs: content, failed: failed))
        entries.append(Entry(path: path, node: node, kind: .file(index: number), depth: depth))
    }

    /// The blobs to read, grouped by pack and ordered by offset, so each pack is read once.
    func packWork() -> [PackWork] {
        var byPack: [ObjectID: [(id: ObjectID, location: BlobLocation, placements: [Placement])]] = [:]
        for (id, value) in blobPlacements {
            byPack[value.location.pack, default: []].append((id, value.location, value.placements))
        }
        return byPack.map { pack, blobs in
            PackWork(pack: pack, blobs: blobs.sorted { $0.location.offset < $1.location.offset })
        }.sorted { $0.pack < $1.pack }
    }
}
