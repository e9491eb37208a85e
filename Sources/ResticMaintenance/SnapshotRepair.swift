import ResticCore
import ResticCrypto
import ResticRepository

/// `repair snapshots`: rewrites snapshots that reference missing data. File contents that are
/// gone are dropped from their files (the size shrinks accordingly), directories whose tree
/// cannot be loaded become empty, and a snapshot whose root is gone cannot be saved. The new
/// snapshot records the old one in `original`.
public struct SnapshotRepair: Sendable {
    public let repository: IndexedRepository
    public let dryRun: Bool

    public init(repository: IndexedRepository, dryRun: Bool) {
        self.repository = repository
        self.dryRun = dryRun
    }

    public enum Outcome: Sendable {
        case unchanged
        case repaired(newID: ObjectID?, changes: [String])
        case unrepairable(String)
    }

    public func repair(_ record: SnapshotRecord) async throws -> Outcome {
        var changes: [String] = []
        var cache: [ObjectID: ObjectID] = [:]
        let writer = RepositoryWriter(repository: repository, dryRun: dryRun)
        let sealer = try BlobSealer(repository: repository.repository, compression: .automatic)
        guard let root = try await rewrite(record.snapshot.tree, path: "", writer: writer, sealer: sealer,
                                           changes: &changes, cache: &cache) else {
            return .unrepairable("snapshot \(record.id.shortHex): root tree \(record.snapshot.tree.hex) cannot be loaded")
        }
        guard root != record.snapshot.tree else { return .unchanged }
        try await writer.flush()
        var snapshot = record.snapshot
        snapshot.tree = root
        if snapshot.original == nil { snapshot.original = record.id }
        let id: ObjectID? = dryRun ? nil : try await repository.repository.saveUnpacked(.snapshot, snapshot.encode())
        return .repaired(newID: id, changes: changes)
    }

    /// The ID of the repaired tree, or nil when the tree itself cannot be loaded.
    private func rewrite(_ id: ObjectID, path: String, writer: RepositoryWriter, sealer: BlobSealer,
                         changes: inout [String], cache: inout [ObjectID: ObjectID]) async throws -> ObjectID? {
        if let done = cache[id] { return done }
        guard let tree = try? await repository.loadTree(id) else { return nil }
        var nodes: [Node] = []
        for var node in tree.nodes {
            let nodePath = path + "/" + node.nameString
            switch node.type {
            case "dir":
                guard let subtree = node.subtree else {
                    changes.append("dir \"\(nodePath)\": no subtree, replaced with empty directory")
                    node.subtree = try await emptyTree(writer, sealer)
                    break
                }
                if let repaired = try await rewrite(subtree, path: nodePath, writer: writer, sealer: sealer,
                                                    changes: &changes, cache: &cache) {
                    node.subtree = repaired
                } else {
                    changes.append("dir \"\(nodePath)\": replaced with empty directory")
                    node.subtree = try await emptyTree(writer, sealer)
                }
            case "file":
                let content = node.content ?? []
                let present = content.filter { repository.index.contains($0, .data) }
                if present.count != content.count || node.content == nil {
                    changes.append("file \"\(nodePath)\": removed missing content")
                    node.content = present
                    node.size = present.reduce(UInt64(0)) {
                        $0 + UInt64(repository.index.location(of: $1, .data)?.plaintextLength ?? 0)
                    }
                }
            default:
                break
            }
            nodes.append(node)
        }
        let bytes = Tree(nodes: nodes).encode()
        let newID = ObjectID(bytes: SHA256.digest(bytes))
        if newID != id { try await writer.save(bytes, .tree, sealer: sealer) }
        cache[id] = newID
        return newID
    }

    private func emptyTree(_ writer: RepositoryWriter, _ sealer: BlobSealer) async throws -> ObjectID {
        try await writer.save(Tree(nodes: []).encode(), .tree, sealer: sealer).0
    }
}
