import ResticCore
import ResticCrypto
import ResticRepository

/// Carries out a prune plan in the order that keeps the repository valid at every instant:
/// copy the used blobs out of packs to be repacked (new packs and their index first), write an
/// index for every kept pack, delete the old index files, and only then delete packs.
public struct Pruner: Sendable {
    public let repository: IndexedRepository
    public let settings: PruneSettings
    public let compression: BlobSealer.Compression
    /// Repacked blobs that are sealed anew are read back before they are stored (see `BlobSealer`).
    public let verifyBeforeUpload: Bool

    public init(repository: IndexedRepository, settings: PruneSettings, compression: BlobSealer.Compression = .automatic,
                verifyBeforeUpload: Bool = true) {
        self.repository = repository
        self.settings = settings
        self.compression = compression
        self.verifyBeforeUpload = verifyBeforeUpload
    }

    public struct Inputs: Sendable {
        /// The index files the plan was made from; execute replaces them.
        public var indexFiles: [ObjectID]
        public var used: UsedBlobSet
        public var plan: PrunePlan
    }

    /// Loads what the plan needs and makes it. The caller holds the exclusive lock, so the
    /// index files listed here are the ones the repository's index was loaded from.
    public func makePlan(snapshots: [SnapshotRecord], progress: ((String) -> Void)? = nil) async throws -> Inputs {
        let indexFiles = try await repository.repository.list(.index)
        progress?("finding data that is still in use for \(snapshots.count) snapshots")
        let used = try await UsedBlobs.collect(repository, snapshots: snapshots)
        var present: [ObjectID: Int] = [:]
        for info in try await repository.backend.list(.pack) {
            if let id = ObjectID(hex: info.name) { present[id] = info.size }
        }
        let plan = try PrunePlanner.plan(index: repository.index, used: used, present: present,
                                         settings: settings, version: repository.repository.version)
        return Inputs(indexFiles: indexFiles, used: used, plan: plan)
    }

    public func execute(_ inputs: Inputs, progress: ((String) -> Void)? = nil) async throws {
        let plan = inputs.plan
        guard !plan.nothingToDo else { return }
        let backend = repository.backend
        let writer = RepositoryWriter(repository: repository, packSize: settings.packSize, deduplicateAgainstIndex: false)
        if !plan.repack.isEmpty {
            progress?("repacking packs")
            try await repack(plan, used: inputs.used, into: writer)
        }
        // Interrupted (SIGINT), prune stops where it is: every step leaves a valid repository,
        // and the next prune finishes the job.
        try Task.checkCancellation()
        try await writer.flush()
        let fresh = Set(writer.writtenIndexFiles)

        progress?("rebuilding index")
        let kept = keptPacks(plan)
        try Task.checkCancellation()
        _ = try await repository.repository.saveIndex(kept)

        progress?("deleting obsolete index files")
        for id in inputs.indexFiles where !fresh.contains(id) {
            try Task.checkCancellation()
            try await backend.remove(FileHandle(.index, id))
        }
        let doomed = Array(plan.remove) + plan.repack + plan.unindexed
        progress?("removing \(doomed.count) old packs")
        for pack in doomed {
            try Task.checkCancellation()
            try await backend.remove(FileHandle(.pack, pack))
        }
    }

    /// Removes what killed saves left behind (temporary files, partial packs). Under prune's
    /// exclusive lock no save can be running, since every command that writes holds a lock;
    /// the age is a margin all the same.
    public func removeLeftovers() async throws -> (files: Int, bytes: Int) {
        try await repository.backend.removeLeftovers(olderThan: Self.leftoverAge)
    }

    static let leftoverAge: Duration = .seconds(300)

    /// Copies the kept blobs of the packs to repack into new packs. The blobs to copy come from
    /// the index, as in restic, and are read a window at a time rather than a whole pack, while
    /// the next pack is read ahead; each blob is checked against its ID on the way.
    func repack(_ plan: PrunePlan, used: UsedBlobSet, into writer: RepositoryWriter) async throws {
        let backend = repository.backend
        let sealer = try BlobSealer(repository: repository.repository, compression: compression, verify: verifyBeforeUpload)
        let opener = try BlobOpener(key: repository.repository.key)
        // Sealed straight into pack buffers that are reused from one new pack to the next.
        let packers = [BlobType.data: BlobPacker(writer: writer, sealer: sealer, type: .data),
                       .tree: BlobPacker(writer: writer, sealer: sealer, type: .tree)]
        let blobs = blobsToCopy(plan, used: used)
        for (number, pack) in plan.repack.enumerated() {
            try Task.checkCancellation()
            if number + 1 < plan.repack.count { backend.willLoad(FileHandle(.pack, plan.repack[number + 1])) }
            let entries = blobs[pack] ?? []
            var first = 0
            while first < entries.count {
                let start = Int(entries[first].offset)
                var end = first + 1
                while end < entries.count, Int(entries[end].offset + entries[end].length) - start <= Self.readWindow {
                    end += 1
                }
                let length = Int(entries[end - 1].offset + entries[end - 1].length) - start
                let window = try await backend.load(FileHandle(.pack, pack), offset: start, length: length)
                guard window.count == length else {
                    throw ResticError.corrupt("pack \(pack.hex): short read (\(window.count) of \(length) bytes at offset \(start))")
                }
                for entry in entries[first..<end] {
                    let from = Int(entry.offset) - start
                    let location = BlobLocation(pack: pack, offset: entry.offset, length: entry.length,
                                                uncompressedLength: entry.uncompressedLength)
                    let plaintext = try opener.open(window[from..<(from + Int(entry.length))], id: entry.id,
                                                    type: entry.type, location: location)
                    guard let packer = packers[entry.type], writer.reserve(entry.id, entry.type) else { continue }
                    let full = try plaintext.withUnsafeBytes { try packer.append($0, id: entry.id).full }
                    if let full { try await packer.upload(full) }
                }
                first = end
            }
        }
        for type in [BlobType.data, .tree] { try await packers[type]?.flush() }
    }

    /// Pack reads during repack are at most this big (or one blob, when a blob is bigger).
    static let readWindow = 1 << 20

    /// For each pack to repack, the blobs it must give up to new packs, by offset.
    func blobsToCopy(_ plan: PrunePlan, used: UsedBlobSet) -> [ObjectID: [IndexBlob]] {
        var blobs: [ObjectID: [IndexBlob]] = [:]
        for pack in plan.repack { blobs[pack] = [] }
        repository.index.forEach { id, type, location in
            guard blobs[location.pack] != nil, plan.copies(id, type, from: location.pack, used: used) else { return }
            blobs[location.pack]?.append(IndexBlob(id: id, type: type, offset: location.offset, length: location.length,
                                                   uncompressedLength: location.uncompressedLength))
        }
        for (pack, list) in blobs {
            // A pack named by two index files lists its blobs twice.
            var unique: [IndexBlob] = []
            for blob in list.sorted(by: { $0.offset < $1.offset }) where unique.last?.offset != blob.offset {
                unique.append(blob)
            }
            blobs[pack] = unique
        }
        return blobs
    }

    /// The index entries of the packs that stay, from the loaded index; a pack named by two
    /// index files is listed once.
    func keptPacks(_ plan: PrunePlan) -> [IndexPack] {
        let index = repository.index
        var slots: [ObjectID: Int] = [:]
        var kept: [IndexPack] = []
        for id in index.allPacks where plan.keep.contains(id) {
            slots[id] = kept.count
            kept.append(IndexPack(id: id, blobs: []))
        }
        index.forEach { id, type, location in
            guard let slot = slots[location.pack] else { return }
            // Entries of one blob come together: a repeated listing is the previous entry.
            if let last = kept[slot].blobs.last, last.id == id, last.type == type, last.offset == location.offset { return }
            kept[slot].blobs.append(IndexBlob(id: id, type: type, offset: location.offset, length: location.length,
                                              uncompressedLength: location.uncompressedLength))
        }
        return kept
    }
}
