import ResticCore
import ResticRepository

/// A blob named with its type: the same hash as data and as tree are two blobs.
public struct BlobKey: Hashable, Sendable {
    public var id: ObjectID
    public var type: BlobType

    public init(_ id: ObjectID, _ type: BlobType) {
        self.id = id
        self.type = type
    }
}

/// Everything the snapshots still need: every tree reachable from them and every data blob
/// those trees list. Each tree is loaded once, however many snapshots share it.
public enum UsedBlobs {
    public static func collect(_ repo: IndexedRepository, snapshots: [SnapshotRecord],
                               progress: ((Int) -> Void)? = nil) async throws -> Set<BlobKey> {
        var used = Set<BlobKey>()
        var pending: [ObjectID] = []
        for (done, record) in snapshots.enumerated() {
            pending.append(record.snapshot.tree)
            while let tree = pending.popLast() {
                guard used.insert(BlobKey(tree, .tree)).inserted else { continue }
                let decoded: Tree
                do {
                    decoded = try await repo.loadTree(tree)
                } catch {
                    throw ResticError.corrupt("snapshot \(record.id.shortHex): tree \(tree.hex) cannot be loaded (\(error)); run check, then repair")
                }
                for node in decoded.nodes {
                    if let subtree = node.subtree { pending.append(subtree) }
                    for blob in node.content ?? [] { used.insert(BlobKey(blob, .data)) }
                }
            }
            progress?(done + 1)
        }
        return used
    }
}
