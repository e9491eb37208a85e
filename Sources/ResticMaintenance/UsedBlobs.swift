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

/// The blobs still in use, as two sorted arrays of IDs: 32 bytes a blob, no hashing, and in
/// the same order as the master index, so the planner can walk both side by side.
public struct UsedBlobSet: Sendable {
    public private(set) var data: [ObjectID]
    public private(set) var tree: [ObjectID]

    /// Sorts and deduplicates.
    public init(data: [ObjectID], tree: [ObjectID]) {
        self.data = Self.sortedUnique(data)
        self.tree = Self.sortedUnique(tree)
    }

    public var count: Int { data.count + tree.count }

    public func ids(_ type: BlobType) -> [ObjectID] { type == .data ? data : tree }

    public func contains(_ id: ObjectID, _ type: BlobType) -> Bool {
        let table = type == .data ? data : tree
        var low = 0, high = table.count
        while low < high {
            let mid = (low + high) / 2
            if table[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low < table.count && table[low] == id
    }

    public func contains(_ key: BlobKey) -> Bool { contains(key.id, key.type) }

    static func sortedUnique(_ ids: [ObjectID]) -> [ObjectID] {
        var ids = ids
        ids.sort()
        var kept = 0
        for i in ids.indices where kept == 0 || ids[i] != ids[kept - 1] {
            ids[kept] = ids[i]
            kept += 1
        }
        ids.removeLast(ids.count - kept)
        return ids
    }
}

/// Everything the snapshots still need: every tree reachable from them and every data blob
/// those trees list. Each tree is loaded once, however many snapshots share it.
public enum UsedBlobs {
    /// Tree loads in flight: enough to hide the latency of a cold disk or a remote backend,
    /// few enough that only a handful of decoded trees are alive at once.
    static let width = 8
    static let prefetchLimit = 256 << 20

    public static func collect(_ repo: IndexedRepository, snapshots: [SnapshotRecord],
                               progress: ((Int) -> Void)? = nil) async throws -> UsedBlobSet {
        // Reading ahead the packs that hold trees turns thousands of small random reads of a
        // cold repository into a few sequential ones; only when they are few, since asking for
        // gigabytes would just evict each other.
        var treePacks = Set<ObjectID>()
        var treeBytes = 0
        repo.index.forEach { _, type, location in
            if type == .tree {
                treePacks.insert(location.pack)
                treeBytes += Int(location.length)
            }
        }
        if treeBytes <= prefetchLimit {
            for pack in treePacks { repo.backend.willLoad(FileHandle(.pack, pack)) }
        }

        var trees = Set<ObjectID>()
        var data: [ObjectID] = []
        var compactedAt = 1 << 20
        // Each pending tree carries the snapshot it was reached from, for the error message.
        var pending: [(tree: ObjectID, snapshot: Int)] = []
        for (number, record) in snapshots.enumerated() where trees.insert(record.snapshot.tree).inserted {
            pending.append((record.snapshot.tree, number))
        }

        try await withThrowingTaskGroup(of: TreeBatch.self) { group in
            var inFlight = 0
            func launch() {
                while inFlight < width, !pending.isEmpty {
                    // A batch of trees per task: fewer tasks than trees in a wide directory level.
                    let size = max(1, min(64, pending.count / width))
                    let batch = Array(pending.suffix(size))
                    pending.removeLast(size)
                    inFlight += 1
                    group.addTask { try await load(batch, from: repo, snapshots: snapshots) }
                }
            }
            launch()
            while let result = try await group.next() {
                inFlight -= 1
                for (subtree, snapshot) in result.subtrees where trees.insert(subtree).inserted {
                    pending.append((subtree, snapshot))
                }
                data.append(contentsOf: result.data)
                if data.count >= compactedAt {
                    // Files shared by many trees would otherwise be listed once per tree.
                    data = UsedBlobSet.sortedUnique(data)
                    compactedAt = max(compactedAt, 2 * data.count)
                }
                launch()
            }
        }
        progress?(snapshots.count)
        return UsedBlobSet(data: data, tree: Array(trees))
    }

    struct TreeBatch: Sendable {
        var subtrees: [(ObjectID, Int)] = []
        var data: [ObjectID] = []
    }

    private static func load(_ batch: [(tree: ObjectID, snapshot: Int)], from repo: IndexedRepository,
                             snapshots: [SnapshotRecord]) async throws -> TreeBatch {
        var result = TreeBatch()
        for (id, snapshot) in batch {
            try Task.checkCancellation()
            let tree: Tree
            do {
                tree = try await repo.loadTree(id)
            } catch {
                throw ResticError.corrupt("snapshot \(snapshots[snapshot].id.shortHex): tree \(id.hex) cannot be loaded (\(error)); run check, then repair")
            }
            for node in tree.nodes {
                if let subtree = node.subtree { result.subtrees.append((subtree, snapshot)) }
                if let content = node.content { result.data.append(contentsOf: content) }
            }
        }
        return result
    }
}
