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

    public init(repository: IndexedRepository, settings: PruneSettings, compression: BlobSealer.Compression = .automatic) {
        self.repository = repository
        self.settings = settings
        self.compression = compression
    }

    public struct Inputs: Sendable {
        public var indexFiles: [(id: ObjectID, file: IndexFile)]
        public var plan: PrunePlan
    }

    /// Loads what the plan needs and makes it. The caller holds the exclusive lock.
    public func makePlan(snapshots: [SnapshotRecord], progress: ((String) -> Void)? = nil) async throws -> Inputs {
        var failures: [String] = []
        let indexFiles = try await repository.repository.loadIndexFiles { id, error in
            failures.append("index \(id.hex): \(error)")
        }
        if let failure = failures.first {
            throw ResticError.corrupt("\(failure): run repair index before prune")
        }
        progress?("finding data that is still in use for \(snapshots.count) snapshots")
        let used = try await UsedBlobs.collect(repository, snapshots: snapshots)
        for key in used where !repository.index.contains(key.id, key.type) {
            throw ResticError.corrupt("\(key.type) blob \(key.id.hex) is used by a snapshot but missing from the index: run check, then repair")
        }
        var present: [ObjectID: Int] = [:]
        for info in try await repository.backend.list(.pack) {
            if let id = ObjectID(hex: info.name) { present[id] = info.size }
        }
        let plan = try PrunePlanner.plan(packs: indexFiles.flatMap { $0.file.packs }, used: used, present: present,
                                         settings: settings, version: repository.repository.version)
        return Inputs(indexFiles: indexFiles, plan: plan)
    }

    public func execute(_ inputs: Inputs, progress: ((String) -> Void)? = nil) async throws {
        let plan = inputs.plan
        guard !plan.nothingToDo else { return }
        let backend = repository.backend
        let writer = RepositoryWriter(repository: repository, packSize: settings.packSize, deduplicateAgainstIndex: false)
        if !plan.repack.isEmpty {
            progress?("repacking packs")
            let sealer = try BlobSealer(repository: repository.repository, compression: compression)
            let opener = try BlobOpener(key: repository.repository.key)
            for pack in plan.repack {
                try Task.checkCancellation()
                let bytes = try await backend.load(FileHandle(.pack, pack))
                let header = try Self.sealedHeader(bytes, pack: pack)
                // Blobs must end where the header starts, not at the end of the file.
                let entries = try repository.repository.decodeHeader(header, pack: pack,
                                                                     dataEnd: bytes.count - 4 - header.count)
                for entry in entries where plan.owner[BlobKey(entry.id, entry.type)] == pack {
                    let sealed = bytes[Int(entry.offset)..<Int(entry.offset + entry.length)]
                    let location = BlobLocation(pack: pack, offset: entry.offset, length: entry.length,
                                                uncompressedLength: entry.uncompressedLength)
                    let plaintext = try opener.open(sealed, id: entry.id, type: entry.type, location: location)
                    try await writer.save(plaintext, entry.type, sealer: sealer)
                }
            }
        }
        // Interrupted (SIGINT), prune stops where it is: every step leaves a valid repository,
        // and the next prune finishes the job.
        try Task.checkCancellation()
        try await writer.flush()
        let fresh = Set(writer.writtenIndexFiles)

        progress?("rebuilding index")
        var kept: [IndexPack] = []
        var seen = Set<ObjectID>()
        for (_, file) in inputs.indexFiles {
            for pack in file.packs where plan.keep.contains(pack.id) && seen.insert(pack.id).inserted {
                kept.append(pack)
            }
        }
        try Task.checkCancellation()
        _ = try await repository.repository.saveIndex(kept)

        progress?("deleting obsolete index files")
        for (id, _) in inputs.indexFiles where !fresh.contains(id) {
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

    /// The sealed header of a pack already in memory, with its bounds checked.
    static func sealedHeader(_ bytes: [UInt8], pack: ObjectID) throws -> [UInt8] {
        guard bytes.count >= PackHeader.entrySizeUncompressed + 32 + 4 else {
            throw ResticError.corrupt("pack \(pack.hex): file too short to hold a header")
        }
        let length: Int
        do {
            length = try PackHeader.headerLength(trailer: Array(bytes.suffix(4)), fileSize: bytes.count)
        } catch {
            throw ResticError.corrupt("pack \(pack.hex): \(error)")
        }
        return Array(bytes[(bytes.count - 4 - length)..<(bytes.count - 4)])
    }
}
