import ResticBackends
import ResticCore
import ResticCrypto
import CartaeSync

/// Collects new blobs into packs and packs into index files, in the order that keeps a
/// repository consistent at every instant: a pack is stored (and durable) before any index
/// names it, and index files are stored before the caller writes a snapshot that needs them.
///
/// Only bookkeeping happens under the lock, never a suspension: hashing, compression and
/// encryption run in the callers' tasks (see `BlobSealer`, `BlobPacker`), so they spread over
/// the cores, and deduplicating a blob costs a lock, not a hop to another executor.
public final class RepositoryWriter: Sendable {
    public let repository: IndexedRepository
    public let packSize: Int
    /// With `dryRun` everything is computed but nothing is stored.
    public let dryRun: Bool
    /// False for repacking: the blobs are in the index already (in packs about to go away).
    public let deduplicateAgainstIndex: Bool

    struct BlobKey: Hashable {
        var id: ObjectID
        var type: BlobType
    }

    struct State: ~Copyable {
        var reserved = Set<BlobKey>()
        var builders: [BlobType: PackBuilder] = [:]
        var pendingIndex: [IndexPack] = []
        var pendingBlobs = 0
        var writtenIndexFiles: [ObjectID] = []
        var statistics = WriteStatistics()
    }

    private let state = Locked(State())

    /// restic starts a new index file after this many blobs.
    static let indexMaxBlobs = 50_000

    public init(repository: IndexedRepository, packSize: Int = 16 * 1024 * 1024, dryRun: Bool = false,
                deduplicateAgainstIndex: Bool = true) {
        self.repository = repository
        self.packSize = CrashPoint.packSizeOverride ?? packSize  // a testing hook, off unless set
        self.dryRun = dryRun
        self.deduplicateAgainstIndex = deduplicateAgainstIndex
    }

    public var writtenIndexFiles: [ObjectID] { state.withLock { $0.writtenIndexFiles } }
    public var statistics: WriteStatistics { state.withLock { $0.statistics } }

    /// True when the blob is new and the caller must store it; false when the repository (or
    /// this session) already has it.
    public func reserve(_ id: ObjectID, _ type: BlobType) -> Bool {
        if deduplicateAgainstIndex && repository.index.contains(id, type) { return false }
        return state.withLock { $0.reserved.insert(BlobKey(id: id, type: type)).inserted }
    }

    /// Counts a blob a `BlobPacker` sealed into its own pack.
    func recordAdded(_ type: BlobType, plaintextLength: Int, sealedLength: Int) {
        state.withLock { $0.statistics.record(type, plaintextLength: plaintextLength, sealedLength: sealedLength) }
    }

    /// Adds a sealed blob to the shared pack of its type; returns a pack when one is full and
    /// must be uploaded.
    public func add(sealed: [UInt8], id: ObjectID, type: BlobType, plaintextLength: Int,
                    uncompressedLength: UInt32) throws -> FinishedPack? {
        let packSize = packSize
        let full: PackBuilder? = try state.withLock { state in
            state.statistics.record(type, plaintextLength: plaintextLength, sealedLength: sealed.count)
            // Mutated in place: a copy out of the dictionary would copy the whole pack buffer.
            try state.builders[type, default: PackBuilder(type: type, capacity: packSize)]
                .append(sealed: sealed, id: id, uncompressedLength: uncompressedLength)
            guard let builder = state.builders[type], builder.size >= packSize || builder.headerFull else { return nil }
            return state.builders.removeValue(forKey: type)
        }
        return try full?.finish(key: repository.repository.key)
    }

    /// Takes over a task's unfinished pack into the shared pack of its type, so the end of a
    /// run leaves one small pack per type rather than one per task. Returns the shared pack
    /// when that filled it. The merge runs outside the lock (it may read a spool back and
    /// write to one): the shared builder is taken out meanwhile, and one put there by another
    /// task in the meantime is merged in turn. A spooled builder is kept as the target, so
    /// only the other one is ever read back into memory.
    func absorb(_ partial: PackBuilder) throws -> FinishedPack? {
        var merged = partial
        while let shared = state.withLock({ $0.builders.removeValue(forKey: partial.type) }) {
            if merged.isSpooled || !shared.isSpooled {
                try merged.append(contentsOf: shared)
            } else {
                var target = shared
                try target.append(contentsOf: merged)
                merged = target
            }
        }
        if merged.size >= packSize || merged.headerFull {
            return try merged.finish(key: repository.repository.key)
        }
        let finished = merged
        let raced: PackBuilder? = state.withLock { state in
            guard state.builders[partial.type] == nil else { return finished }
            state.builders[partial.type] = finished
            return nil
        }
        // Another task's pack arrived between the last merge and now: merge once more.
        if let raced { return try absorb(raced) }
        return nil
    }

    /// Stores a finished pack, then remembers its blobs for the next index file.
    public func upload(_ pack: FinishedPack) async throws {
        if !dryRun {
            try await LockConfirmation.waitIfPending()
            let handle = FileHandle(.pack, pack.id)
            if let spool = pack.spool {
                try await Self.storing { try await repository.backend.save(handle, spool: spool) }
            } else {
                try await Self.storing { try await repository.backend.save(handle, data: pack.bytes) }
            }
        }
        let due: [IndexPack]? = state.withLock { state in
            state.pendingIndex.append(IndexPack(id: pack.id, blobs: pack.blobs))
            state.pendingBlobs += pack.blobs.count
            state.statistics.packsWritten += 1
            return state.pendingBlobs >= Self.indexMaxBlobs ? Self.takePending(&state) : nil
        }
        if let due { try await writeIndex(due) }
    }

    /// Finishes the shared packs, uploads them and writes the remaining index entries. Every
    /// `BlobPacker` must have been flushed before.
    public func flush() async throws {
        let open = state.withLock { state in
            let builders = state.builders
            state.builders = [:]
            return builders
        }
        for type in [BlobType.data, .tree] {
            guard let builder = open[type], !builder.isEmpty else { continue }
            try await upload(try builder.finish(key: repository.repository.key))
        }
        let rest = state.withLock { Self.takePending(&$0) }
        try await writeIndex(rest)
    }

    /// Takes the packs that an interrupted run stored but never indexed into this run's index,
    /// so their blobs are not uploaded again. A pack is adopted only when its bytes hash to its
    /// name and its header decodes; anything else is left for `check`/`prune`. Call it only when
    /// no other live process can be writing packs (see `RepositoryLock.noOtherLiveLock`).
    /// Returns the number of packs adopted.
    /// `listed`: the names of the pack files, when the caller listed them already.
    @discardableResult
    public func adoptUnindexedPacks(listed: [String]? = nil) async throws -> Int {
        guard !dryRun else { return 0 }
        let indexed = Set(repository.index.allPacks)
        let repo = repository.repository
        var adopted = 0
        let packs: [String]
        if let listed { packs = listed } else { packs = try await repository.backend.listNames(.pack) }
        for name in packs {
            guard let id = ObjectID(hex: name), !indexed.contains(id),
                  let bytes = try? await repository.backend.load(FileHandle(.pack, id)),
                  ObjectID(bytes: SHA256.digest(bytes)) == id,
                  let headerLength = try? PackHeader.headerLength(trailer: Array(bytes.suffix(4)), fileSize: bytes.count),
                  let entries = try? repo.decodeHeader(Array(bytes[(bytes.count - 4 - headerLength)..<(bytes.count - 4)]),
                                                       pack: id, dataEnd: bytes.count - 4 - headerLength)
            else { continue }
            let blobs = entries.map {
                IndexBlob(id: $0.id, type: $0.type, offset: $0.offset, length: $0.length,
                          uncompressedLength: $0.uncompressedLength)
            }
            let due: [IndexPack]? = state.withLock { state in
                for blob in blobs { state.reserved.insert(BlobKey(id: blob.id, type: blob.type)) }
                state.pendingIndex.append(IndexPack(id: id, blobs: blobs))
                state.pendingBlobs += blobs.count
                return state.pendingBlobs >= Self.indexMaxBlobs ? Self.takePending(&state) : nil
            }
            if let due { try await writeIndex(due) }
            adopted += 1
        }
        return adopted
    }

    private static func takePending(_ state: inout State) -> [IndexPack] {
        let packs = state.pendingIndex
        state.pendingIndex = []
        state.pendingBlobs = 0
        return packs
    }

    private func writeIndex(_ packs: [IndexPack]) async throws {
        guard !packs.isEmpty, !dryRun else { return }
        let id = try await Self.storing {
            try await repository.repository.saveUnpacked(.index, IndexFile(packs: packs, supersedes: []).encode())
        }
        state.withLock { $0.writtenIndexFiles.append(id) }
    }

    /// Backup treats `.io` and `.notFound` as an unreadable source file (a warning, exit 3); a
    /// pack or index that cannot be stored (disk full, folder gone) must stop the run instead,
    /// as in restic, so it leaves this writer as a plain error.
    static func storing<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ResticError where error.kind == .io || error.kind == .notFound {
            throw ResticError(.other, error.message)
        }
    }
}

public struct WriteStatistics: Sendable {
    public var dataBlobs = 0
    public var treeBlobs = 0
    public var dataAdded: UInt64 = 0
    public var dataAddedPacked: UInt64 = 0
    public var packsWritten = 0

    mutating func record(_ type: BlobType, plaintextLength: Int, sealedLength: Int) {
        if type == .data { dataBlobs += 1 } else { treeBlobs += 1 }
        dataAdded += UInt64(plaintextLength)
        dataAddedPacked += UInt64(sealedLength)
    }
}

extension RepositoryWriter {
    /// Hashes, deduplicates, seals and packs one blob into the shared pack of its type; uploads
    /// a pack when it fills up. Returns the blob's ID and whether it was new.
    @discardableResult
    public func save(_ plaintext: [UInt8], _ type: BlobType, sealer: BlobSealer) async throws -> (ObjectID, Bool) {
        let id = ObjectID(bytes: SHA256.digest(plaintext))
        guard reserve(id, type) else { return (id, false) }
        let (sealed, uncompressedLength) = try plaintext.withUnsafeBytes { try sealer.seal($0, id: id, type: type) }
        if let pack = try add(sealed: sealed, id: id, type: type, plaintextLength: plaintext.count,
                              uncompressedLength: uncompressedLength) {
            try await upload(pack)
        }
        return (id, true)
    }
}

/// One task's own pack of blobs of one type: blobs are sealed straight into it with no lock
/// held and no copy made; the shared writer only deduplicates, counts and indexes. Not
/// Sendable: one per worker task. Call `flush` before the writer's `flush`.
public final class BlobPacker {
    public let writer: RepositoryWriter
    public let sealer: BlobSealer
    let type: BlobType
    private var builder: PackBuilder?
    /// The storage of the last uploaded pack, for the next one.
    private var spare: [UInt8] = []

    public init(writer: RepositoryWriter, sealer: BlobSealer, type: BlobType = .data) {
        self.writer = writer
        self.sealer = sealer
        self.type = type
    }

    /// Stores the blob unless the repository or this run has it; returns whether it was new
    /// and its sealed size.
    public func store(_ plaintext: UnsafeRawBufferPointer, id: ObjectID) async throws -> (new: Bool, sealedLength: Int) {
        guard writer.reserve(id, type) else { return (false, 0) }
        let (length, full) = try append(plaintext, id: id)
        if let full { try await upload(full) }
        return (true, length)
    }

    /// Seals a blob the caller reserved with the writer into the open pack. Returns its sealed
    /// length and, when that filled the pack, the pack the caller must pass to `upload`.
    public func append(_ plaintext: UnsafeRawBufferPointer, id: ObjectID) throws -> (sealedLength: Int, full: FinishedPack?) {
        if builder == nil {
            // Moved out first: a second reference would make the builder copy the storage.
            var storage: [UInt8] = []
            swap(&storage, &spare)
            if !writer.dryRun, let spool = try writer.repository.backend.makeSpool(.pack) {
                builder = PackBuilder(type: type, spool: spool, reusing: consume storage)
            } else {
                builder = PackBuilder(type: type, capacity: writer.packSize, reusing: consume storage)
            }
        }
        let length = try builder!.appendSealing(plaintext, id: id, sealer: sealer)
        writer.recordAdded(type, plaintextLength: plaintext.count, sealedLength: length)
        guard let current = builder, current.size >= writer.packSize || current.headerFull else { return (length, nil) }
        builder = nil
        return (length, try current.finish(key: writer.repository.repository.key))
    }

    /// Uploads a full pack from `append`, then keeps its storage for the next pack.
    public func upload(_ full: consuming FinishedPack) async throws {
        var pack = full
        try await writer.upload(pack)
        // The upload let go of its reference: the storage is ours alone again.
        if pack.spool == nil {
            spare = pack.bytes
        } else {
            spare = pack.scratch
            pack.scratch = []
        }
        pack.bytes = []
    }

    /// Hands the open pack, if any, to the writer's shared pack (uploaded by its `flush`).
    public func flush() async throws {
        guard let current = builder else { return }
        builder = nil
        guard !current.isEmpty, let full = try writer.absorb(current) else { return }
        try await writer.upload(full)
    }
}

@available(*, unavailable)
extension BlobPacker: Sendable {}
