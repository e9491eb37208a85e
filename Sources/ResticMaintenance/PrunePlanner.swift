import ResticCore
import ResticRepository

/// Decides which packs prune keeps, repacks and deletes (restic's PlanPrune): a pure
/// function of the index, the blobs still in use and the pack files present.
public enum PrunePlanner {
    struct PackUsage {
        var pack: IndexPack
        var usedBytes: UInt64 = 0
        var unusedBytes: UInt64 = 0
        var usedBlobs = 0
        var hasTree = false
        var hasData = false
        var hasUncompressed = false
        var size: Int { pack.expectedPackSize }
    }

    public static func plan(packs indexed: [IndexPack], used: Set<BlobKey>, present: [ObjectID: Int],
                            settings: PruneSettings, version: Int) throws -> PrunePlan {
        var plan = PrunePlan()
        var usage: [ObjectID: PackUsage] = [:]
        for pack in indexed where usage[pack.id] == nil {
            var entry = PackUsage(pack: pack)
            for blob in pack.blobs {
                if blob.type == .tree { entry.hasTree = true } else { entry.hasData = true }
                if blob.uncompressedLength == 0 && blob.length > 32 { entry.hasUncompressed = true }
            }
            usage[pack.id] = entry
        }
        for (id, entry) in usage {
            guard let actual = present[id] else {
                throw ResticError.corrupt("pack \(id.hex) is listed in the index but missing: run repair index, then prune")
            }
            if actual != entry.size {
                throw ResticError.corrupt("pack \(id.hex): size \(actual) does not match the index (\(entry.size)): run repair index")
            }
        }

        // Keep one copy of each used blob, preferring packs that hold the most used data, so
        // that duplicates end up in packs that can go away.
        var usedShare: [ObjectID: Int] = [:]
        for (id, entry) in usage {
            usedShare[id] = entry.pack.blobs.filter { used.contains(BlobKey($0.id, $0.type)) }.count
        }
        let ordered = usage.keys.sorted { (usedShare[$0]!, $1) > (usedShare[$1]!, $0) }
        for id in ordered {
            for blob in usage[id]!.pack.blobs {
                let key = BlobKey(blob.id, blob.type)
                if used.contains(key) {
                    if plan.owner[key] == nil {
                        plan.owner[key] = id
                        usage[id]!.usedBytes += UInt64(blob.length)
                        usage[id]!.usedBlobs += 1
                        plan.used.add(blob.length)
                        continue
                    }
                    plan.duplicate.add(blob.length)
                } else {
                    plan.unused.add(blob.length)
                }
                usage[id]!.unusedBytes += UInt64(blob.length)
            }
        }

        var candidates: [PackUsage] = []
        for id in ordered {
            let entry = usage[id]!
            if entry.usedBlobs == 0 {
                plan.remove.insert(id)
                plan.unusedPacks += 1
                for blob in entry.pack.blobs { plan.toDelete.add(blob.length) }
                continue
            }
            let mixed = entry.hasTree && entry.hasData
            let mustRepack = mixed || (version >= 2 && entry.hasUncompressed && (entry.hasTree || settings.repackUncompressed))
            if entry.unusedBytes == 0 {
                plan.totallyUsedPacks += 1
                let small = entry.size < settings.packSize * 4 / 5
                if mustRepack || (settings.repackSmall && small) {
                    candidates.append(entry)
                } else {
                    plan.keep.insert(id)
                }
            } else {
                plan.partlyUsedPacks += 1
                candidates.append(entry)
            }
        }

        // Tree and mixed packs first (small and always worth it), then the emptiest data packs.
        candidates.sort { a, b in
            if a.hasTree != b.hasTree { return a.hasTree }
            let ra = Double(a.unusedBytes) / Double(max(1, a.usedBytes))
            let rb = Double(b.unusedBytes) / Double(max(1, b.usedBytes))
            return ra != rb ? ra > rb : a.pack.id < b.pack.id
        }
        let limit = settings.maxUnused.limit(used: plan.used.bytes)
        var unusedLeft = candidates.reduce(UInt64(0)) { $0 + $1.unusedBytes }
        var repackBytes: UInt64 = 0
        for entry in candidates {
            let mixed = entry.hasTree && entry.hasData
            let forced = mixed || (version >= 2 && entry.hasUncompressed && (entry.hasTree || settings.repackUncompressed))
                || (settings.repackSmall && entry.unusedBytes == 0)
            let fits = settings.maxRepackSize.map { repackBytes + UInt64(entry.size) <= $0 } ?? true
            let wanted = forced || entry.hasTree || unusedLeft > limit
            let allowed = fits && !(settings.repackCacheableOnly && !entry.hasTree)
            if wanted && allowed {
                plan.repack.append(entry.pack.id)
                repackBytes += UInt64(entry.size)
                unusedLeft -= entry.unusedBytes
                for blob in entry.pack.blobs {
                    if plan.owner[BlobKey(blob.id, blob.type)] == entry.pack.id {
                        plan.toRepack.add(blob.length)
                    } else {
                        plan.repackRemoves.add(blob.length)
                    }
                }
            } else {
                plan.keep.insert(entry.pack.id)
            }
        }
        plan.unindexed = present.keys.filter { usage[$0] == nil }.sorted()
        plan.unindexedBytes = plan.unindexed.reduce(0) { $0 + UInt64(present[$1] ?? 0) }
        return plan
    }
}
