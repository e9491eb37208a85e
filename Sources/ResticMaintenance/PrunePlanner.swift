import ResticCore
import ResticRepository

/// Decides which packs prune keeps, repacks and deletes (restic's PlanPrune): a pure
/// function of the index, the blobs still in use and the pack files present.
///
/// It reads the master index directly (two passes in blob ID order, side by side with the
/// sorted used-blob lists) rather than a second decoded copy of every index file, so planning
/// needs a few words per pack on top of the index itself.
public enum PrunePlanner {
    struct PackUsage {
        var blobs = 0
        var bytes: UInt64 = 0
        /// Entries of used blobs (every copy), to choose which copy of a duplicate stays.
        var usedShare = 0
        var usedBytes: UInt64 = 0
        var unusedBytes: UInt64 = 0
        var usedBlobs = 0
        var hasTree = false
        var hasData = false
        var hasUncompressed = false
        var size = 4 + 32
    }

    public static func plan(index: MasterIndex, used: UsedBlobSet, present: [ObjectID: Int],
                            settings: PruneSettings, version: Int) throws -> PrunePlan {
        var plan = PrunePlan()
        let packs = index.allPacks
        var numbers: [ObjectID: Int32] = [:]
        numbers.reserveCapacity(packs.count)
        for (number, id) in packs.enumerated() { numbers[id] = Int32(number) }
        var usage = [PackUsage](repeating: PackUsage(), count: packs.count)

        try IndexGroups.forEach(index, numbers: numbers, used: used) { type, _, copies, isUsed in
            for copy in copies {
                let p = Int(copy.pack)
                usage[p].blobs += 1
                usage[p].bytes += UInt64(copy.length)
                usage[p].size += Int(copy.length) + (copy.uncompressedLength != 0 ? PackHeader.entrySizeCompressed
                                                                                     : PackHeader.entrySizeUncompressed)
                if type == .tree { usage[p].hasTree = true } else { usage[p].hasData = true }
                if copy.uncompressedLength == 0 && copy.length > 32 { usage[p].hasUncompressed = true }
                if isUsed { usage[p].usedShare += 1 }
            }
        }
        for (p, id) in packs.enumerated() {
            guard let actual = present[id] else {
                throw ResticError.corrupt("pack \(id.hex) is listed in the index but missing: run repair index, then prune")
            }
            if actual != usage[p].size {
                throw ResticError.corrupt("pack \(id.hex): size \(actual) does not match the index (\(usage[p].size)): run repair index")
            }
        }

        // Keep one copy of each used blob, preferring packs that hold the most used data (then
        // the lowest pack ID), so that duplicates end up in packs that can go away.
        try IndexGroups.forEach(index, numbers: numbers, used: used) { type, id, copies, isUsed in
            guard isUsed else {
                for copy in copies {
                    plan.unused.add(copy.length)
                    usage[Int(copy.pack)].unusedBytes += UInt64(copy.length)
                }
                return
            }
            var best = 0
            for i in copies.indices.dropFirst() {
                let a = copies[i].pack, b = copies[best].pack
                if (usage[Int(a)].usedShare, packs[Int(b)]) > (usage[Int(b)].usedShare, packs[Int(a)]) { best = i }
            }
            let owner = copies[best].pack
            if copies.contains(where: { $0.pack != owner }) {
                plan.duplicateOwner[BlobKey(id, type)] = packs[Int(owner)]
            }
            for (i, copy) in copies.enumerated() {
                let p = Int(copy.pack)
                if i == best {
                    usage[p].usedBytes += UInt64(copy.length)
                    usage[p].usedBlobs += 1
                    plan.used.add(copy.length)
                } else {
                    plan.duplicate.add(copy.length)
                    usage[p].unusedBytes += UInt64(copy.length)
                }
            }
        }

        var candidates: [(pack: Int, entry: PackUsage)] = []
        for (p, entry) in usage.enumerated() {
            let id = packs[p]
            if entry.usedBlobs == 0 {
                plan.remove.insert(id)
                plan.unusedPacks += 1
                plan.toDelete.blobs += entry.blobs
                plan.toDelete.bytes += entry.bytes
                continue
            }
            if entry.unusedBytes == 0 {
                plan.totallyUsedPacks += 1
                let small = entry.size < settings.packSize * 4 / 5
                if mustRepack(entry, settings: settings, version: version) || (settings.repackSmall && small) {
                    candidates.append((p, entry))
                } else {
                    plan.keep.insert(id)
                }
            } else {
                plan.partlyUsedPacks += 1
                candidates.append((p, entry))
            }
        }

        // Tree and mixed packs first (small and always worth it), then the emptiest data packs.
        candidates.sort { a, b in
            if a.entry.hasTree != b.entry.hasTree { return a.entry.hasTree }
            let ra = Double(a.entry.unusedBytes) / Double(max(1, a.entry.usedBytes))
            let rb = Double(b.entry.unusedBytes) / Double(max(1, b.entry.usedBytes))
            return ra != rb ? ra > rb : packs[a.pack] < packs[b.pack]
        }
        let limit = settings.maxUnused.limit(used: plan.used.bytes)
        var unusedLeft = candidates.reduce(UInt64(0)) { $0 + $1.entry.unusedBytes }
        var repackBytes: UInt64 = 0
        for (p, entry) in candidates {
            let forced = mustRepack(entry, settings: settings, version: version)
                || (settings.repackSmall && entry.unusedBytes == 0)
            let fits = settings.maxRepackSize.map { repackBytes + UInt64(entry.size) <= $0 } ?? true
            let wanted = forced || entry.hasTree || unusedLeft > limit
            let allowed = fits && !(settings.repackCacheableOnly && !entry.hasTree)
            if wanted && allowed {
                plan.repack.append(packs[p])
                repackBytes += UInt64(entry.size)
                unusedLeft -= entry.unusedBytes
                // As restic counts it: the whole pack file, header included.
                plan.toRepack.blobs += entry.blobs
                plan.toRepack.bytes += UInt64(entry.size)
                plan.repackRemoves.blobs += entry.blobs - entry.usedBlobs
                plan.repackRemoves.bytes += entry.bytes - entry.usedBytes
            } else {
                plan.keep.insert(packs[p])
            }
        }
        plan.unindexed = present.keys.filter { numbers[$0] == nil }.sorted()
        plan.unindexedBytes = plan.unindexed.reduce(0) { $0 + UInt64(present[$1] ?? 0) }
        return plan
    }

    /// Mixed packs, and (from repository version 2) uncompressed tree packs, are always repacked.
    static func mustRepack(_ entry: PackUsage, settings: PruneSettings, version: Int) -> Bool {
        (entry.hasTree && entry.hasData)
            || (version >= 2 && entry.hasUncompressed && (entry.hasTree || settings.repackUncompressed))
    }
}

/// The master index's entries grouped by blob: every stored copy of one blob at a time, in ID
/// order per type, with entries that only repeat a listing (same pack and offset, from a pack
/// named by two index files) dropped, and whether the snapshots use the blob.
enum IndexGroups {
    struct Copy {
        var pack: Int32
        var offset: UInt32
        var length: UInt32
        var uncompressedLength: UInt32
    }

    static func forEach(_ index: MasterIndex, numbers: [ObjectID: Int32], used: UsedBlobSet,
                        _ body: (BlobType, ObjectID, [Copy], Bool) throws -> Void) throws {
        var current: (type: BlobType, id: ObjectID)?
        var copies: [Copy] = []
        var cursor = (data: 0, tree: 0)
        let usedData = used.data, usedTree = used.tree

        // Used IDs come in the same order as the index: any the index skips past is missing.
        func isUsed(_ type: BlobType, _ id: ObjectID) throws -> Bool {
            let table = type == .data ? usedData : usedTree
            var i = type == .data ? cursor.data : cursor.tree
            if i < table.count && table[i] < id { throw missing(type, table[i]) }
            let found = i < table.count && table[i] == id
            if found { i += 1 }
            if type == .data { cursor.data = i } else { cursor.tree = i }
            return found
        }
        func flush() throws {
            guard let (type, id) = current else { return }
            try body(type, id, copies, try isUsed(type, id))
            copies.removeAll(keepingCapacity: true)
        }

        try index.forEach { id, type, location in
            if let c = current, c.id != id || c.type != type {
                try flush()
            }
            current = (type, id)
            guard let pack = numbers[location.pack] else { return }
            if copies.contains(where: { $0.pack == pack && $0.offset == location.offset }) { return }
            copies.append(Copy(pack: pack, offset: location.offset, length: location.length,
                               uncompressedLength: location.uncompressedLength))
        }
        try flush()
        if cursor.data < usedData.count { throw missing(.data, usedData[cursor.data]) }
        if cursor.tree < usedTree.count { throw missing(.tree, usedTree[cursor.tree]) }
    }

    static func missing(_ type: BlobType, _ id: ObjectID) -> ResticError {
        ResticError.corrupt("\(type) blob \(id.hex) is used by a snapshot but missing from the index: run check, then repair")
    }
}
