import ResticCore

/// The figures behind `stats`, in restic's four counting modes.
public struct RepositoryStats: Sendable {
    public var fileCount = 0
    public var blobCount = 0
    public var totalSize: UInt64 = 0
    public var totalUncompressedSize: UInt64 = 0
    public var compressedBlobSize: UInt64 = 0
    public var compressedBlobUncompressedSize: UInt64 = 0

    public var compressionRatio: Double {
        totalSize == 0 ? 0 : Double(totalUncompressedSize) / Double(totalSize)
    }
    /// Share of the data (by uncompressed size) that is stored compressed, in percent.
    public var compressionProgress: Double {
        totalUncompressedSize == 0 ? 0 : Double(compressedBlobUncompressedSize) / Double(totalUncompressedSize) * 100
    }
    public var compressionSpaceSaving: Double {
        totalUncompressedSize == 0 ? 0 : (1 - Double(totalSize) / Double(totalUncompressedSize)) * 100
    }

    public static func compute(_ repo: IndexedRepository, snapshots: [SnapshotRecord], mode: String) async throws -> RepositoryStats {
        var stats = RepositoryStats()
        var seenBlobs = Set<ObjectID>()
        var seenTrees = Set<ObjectID>()
        var seenInodes = Set<[UInt64]>()
        var seenContents = Set<[ObjectID]>()
        var blobsByPath: [String: Set<ObjectID>] = [:]
        func addBlob(_ id: ObjectID, _ type: BlobType) {
            guard seenBlobs.insert(id).inserted, let location = repo.index.location(of: id, type) else { return }
            stats.blobCount += 1
            stats.totalSize += UInt64(location.length)
            stats.totalUncompressedSize += UInt64(location.plaintextLength)
            if location.isCompressed {
                stats.compressedBlobSize += UInt64(location.length)
                stats.compressedBlobUncompressedSize += UInt64(location.plaintextLength)
            }
        }
        for record in snapshots {
            if mode == "raw-data" { addBlob(record.snapshot.tree, .tree) }
            // restic keeps its hardlink index per snapshot: each snapshot restores its own copies.
            seenInodes.removeAll()
            try await repo.walk(record.snapshot.tree) { path, node in
                switch mode {
                case "raw-data":
                    if let subtree = node.subtree {
                        guard seenTrees.insert(subtree).inserted else { return false }
                        addBlob(subtree, .tree)
                    }
                    for blob in node.content ?? [] { addBlob(blob, .data) }
                case "restore-size":
                    stats.fileCount += 1
                    if node.inode == 0 || seenInodes.insert([node.inode, node.deviceID]).inserted {
                        stats.totalSize += node.size
                    }
                // Like restic, every node counts by its content list (all content-less nodes
                // share one), whatever its type.
                case "files-by-contents":
                    if seenContents.insert(node.content ?? []).inserted {
                        stats.fileCount += 1
                        stats.totalSize += node.size
                    }
                default:  // blobs-per-file: a file is one path; each blob counts once per path
                    if seenContents.insert(node.content ?? []).inserted {
                        for blob in node.content ?? [] {
                            if blobsByPath[path] == nil {
                                blobsByPath[path] = []
                                stats.fileCount += 1
                            }
                            guard blobsByPath[path, default: []].insert(blob).inserted else { continue }
                            stats.blobCount += 1
                            stats.totalSize += UInt64(repo.index.location(of: blob, .data)?.plaintextLength ?? 0)
                        }
                    }
                }
                return true
            }
        }
        return stats
    }
}
