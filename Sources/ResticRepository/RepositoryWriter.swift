import ResticCore
import ResticCrypto
import ResticCompress

/// Collects new blobs into packs and packs into index files, in the order that keeps a
/// repository consistent at every instant: a pack is stored (and durable) before any index
/// names it, and index files are stored before the caller writes a snapshot that needs them.
///
/// The actor only does bookkeeping; hashing, compression and encryption run in the callers'
/// tasks (see `BlobSealer`), so they spread over the cores.
public actor RepositoryWriter {
    public let repository: IndexedRepository
    public let packSize: Int
    private var reserved = Set<BlobKey>()
    private var builders: [BlobType: PackBuilder] = [:]
    private var pendingIndex: [IndexPack] = []
    private var pendingBlobs = 0
    public private(set) var writtenIndexFiles: [ObjectID] = []
    public private(set) var statistics = WriteStatistics()

    /// restic starts a new index file after this many blobs.
    static let indexMaxBlobs = 50_000

    struct BlobKey: Hashable {
        var id: ObjectID
        var type: BlobType
    }

    /// With `dryRun` everything is computed but nothing is stored.
    public let dryRun: Bool

    /// False for repacking: the blobs are in the index already (in packs about to go away).
    public let deduplicateAgainstIndex: Bool

    public init(repository: IndexedRepository, packSize: Int = 16 * 1024 * 1024, dryRun: Bool = false,
                deduplicateAgainstIndex: Bool = true) {
        self.repository = repository
        self.packSize = packSize
        self.dryRun = dryRun
        self.deduplicateAgainstIndex = deduplicateAgainstIndex
    }

    /// True when the blob is new and the caller must store it; false when the repository (or
    /// this session) already has it.
    public func reserve(_ id: ObjectID, _ type: BlobType) -> Bool {
        if deduplicateAgainstIndex && repository.index.contains(id, type) { return false }
        return reserved.insert(BlobKey(id: id, type: type)).inserted
    }

    /// Adds a sealed blob; returns a pack when one is full and must be uploaded.
    public func add(sealed: [UInt8], id: ObjectID, type: BlobType, plaintextLength: Int,
                    uncompressedLength: UInt32) -> FinishedPack? {
        // Mutated in place: a copy out of the dictionary would make every append copy the
        // whole pack buffer.
        builders[type, default: PackBuilder(type: type, capacity: packSize)]
            .append(sealed: sealed, id: id, uncompressedLength: uncompressedLength)
        if type == .data {
            statistics.dataBlobs += 1
        } else {
            statistics.treeBlobs += 1
        }
        statistics.dataAdded += UInt64(plaintextLength)
        statistics.dataAddedPacked += UInt64(sealed.count)
        guard let builder = builders[type], builder.size >= packSize || builder.headerFull else { return nil }
        builders[type] = nil
        return builder.finish(key: repository.repository.key)
    }

    /// Stores a finished pack, then remembers its blobs for the next index file.
    public func upload(_ pack: FinishedPack) async throws {
        if !dryRun {
            try await repository.backend.save(FileHandle(.pack, pack.id), data: pack.bytes)
        }
        try await stored(pack.id, pack.blobs)
    }

    private func stored(_ pack: ObjectID, _ blobs: [IndexBlob]) async throws {
        pendingIndex.append(IndexPack(id: pack, blobs: blobs))
        pendingBlobs += blobs.count
        statistics.packsWritten += 1
        if pendingBlobs >= Self.indexMaxBlobs { try await writeIndex() }
    }

    /// Finishes the open packs, uploads them and writes the remaining index entries.
    public func flush() async throws {
        let open = builders
        builders = [:]
        for type in [BlobType.data, .tree] {
            guard let builder = open[type], !builder.isEmpty else { continue }
            try await upload(builder.finish(key: repository.repository.key))
        }
        try await writeIndex()
    }

    /// Takes the packs that an interrupted run stored but never indexed into this run's index,
    /// so their blobs are not uploaded again. A pack is adopted only when its bytes hash to its
    /// name and its header decodes; anything else is left for `check`/`prune`. Call it only when
    /// no other live process can be writing packs (see `RepositoryLock.noOtherLiveLock`).
    /// Returns the number of packs adopted.
    @discardableResult
    public func adoptUnindexedPacks() async throws -> Int {
        guard !dryRun else { return 0 }
        let indexed = Set(repository.index.allPacks)
        let repo = repository.repository
        var adopted = 0
        for info in try await repository.backend.list(.pack) {
            guard let id = ObjectID(hex: info.name), !indexed.contains(id),
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
            for blob in blobs { reserved.insert(BlobKey(id: blob.id, type: blob.type)) }
            pendingIndex.append(IndexPack(id: id, blobs: blobs))
            pendingBlobs += blobs.count
            adopted += 1
        }
        if pendingBlobs >= Self.indexMaxBlobs { try await writeIndex() }
        return adopted
    }

    private func writeIndex() async throws {
        guard !pendingIndex.isEmpty, !dryRun else { return }
        let file = IndexFile(packs: pendingIndex, supersedes: [])
        pendingIndex = []
        pendingBlobs = 0
        writtenIndexFiles.append(try await repository.repository.saveUnpacked(.index, file.encode()))
    }
}

public struct WriteStatistics: Sendable {
    public var dataBlobs = 0
    public var treeBlobs = 0
    public var dataAdded: UInt64 = 0
    public var dataAddedPacked: UInt64 = 0
    public var packsWritten = 0
}

/// Per-task compression and encryption state (contexts are reused, never shared).
public final class BlobSealer {
    public enum Compression: Sendable { case off, level(Int32) }

    let key: MasterKey
    let crypto: CryptoContext
    let compressor: ZstdCompressor?
    let decompressor: ZstdDecompressor
    let compressData: Bool
    let compressTrees: Bool
    let verify: Bool
    /// Reused for reading sealed blobs back, so verification allocates nothing per blob.
    private var verifyBuffer: [UInt8] = []

    /// `compression` applies to data blobs; tree blobs are compressed in any v2 repository,
    /// as restic does.
    public init(repository: Repository, compression: Compression, verify: Bool = true) throws {
        key = repository.key
        crypto = CryptoContext(key: repository.key)
        let v2 = repository.version >= 2
        var level: Int32 = 3
        if case .level(let chosen) = compression { level = chosen }
        compressor = v2 ? try ZstdCompressor(level: level) : nil
        decompressor = try ZstdDecompressor()
        compressTrees = v2
        if case .off = compression { compressData = false } else { compressData = v2 }
        self.verify = verify
    }

    /// Compresses (when enabled and the blob is not empty) and encrypts a blob; returns the
    /// sealed bytes and the uncompressed length to record (0 = stored uncompressed).
    public func seal(_ plaintext: UnsafeRawBufferPointer, id: ObjectID, type: BlobType) throws -> (sealed: [UInt8], uncompressedLength: UInt32) {
        var sealed: [UInt8] = []
        var uncompressedLength: UInt32 = 0
        let compress = plaintext.count > 0 && (type == .tree ? compressTrees : compressData)
        var compressed: [UInt8]?
        if compress, let compressor {
            // Incompressible blobs (random data, tiny trees) would come out a few bytes bigger:
            // those are stored plain, which an uncompressed header entry allows in v2 as well.
            let candidate = try compressor.compress(plaintext)
            if candidate.count < plaintext.count { compressed = candidate }
        }
        if let compressed {
            sealed.reserveCapacity(compressed.count + MasterKey.overhead)
            compressed.withUnsafeBytes { crypto.seal($0, appendingTo: &sealed) }
            uncompressedLength = UInt32(plaintext.count)
        } else {
            sealed.reserveCapacity(plaintext.count + MasterKey.overhead)
            crypto.seal(plaintext, appendingTo: &sealed)
        }
        if verify { try check(sealed, id: id, uncompressedLength: uncompressedLength) }
        return (sealed, uncompressedLength)
    }

    /// Reads the sealed blob back before it leaves the process, so a fault in compression or
    /// encryption can never store a blob that fails to restore.
    private func check(_ sealed: [UInt8], id: ObjectID, uncompressedLength: UInt32) throws {
        try sealed.withUnsafeBytes { try crypto.open($0, into: &verifyBuffer) }
        var digest: [UInt8]
        if uncompressedLength != 0 {
            let plaintext = try decompressor.decompress(verifyBuffer, expectedSize: Int(uncompressedLength),
                                                        limit: Int(uncompressedLength))
            digest = SHA256.digest(plaintext)
        } else {
            digest = SHA256.digest(verifyBuffer)
        }
        guard ObjectID(bytes: digest) == id else {
            throw ResticError.corrupt("internal: blob \(id.hex) failed verification before upload")
        }
    }
}

extension RepositoryWriter {
    /// Hashes, deduplicates, seals and packs one blob; uploads a pack when it fills up.
    /// Returns the blob's ID and whether it was new.
    @discardableResult
    public nonisolated func save(_ plaintext: [UInt8], _ type: BlobType, sealer: BlobSealer) async throws -> (ObjectID, Bool) {
        let id = ObjectID(bytes: SHA256.digest(plaintext))
        guard await reserve(id, type) else { return (id, false) }
        let (sealed, uncompressedLength) = try plaintext.withUnsafeBytes { try sealer.seal($0, id: id, type: type) }
        if let pack = await add(sealed: sealed, id: id, type: type, plaintextLength: plaintext.count,
                                uncompressedLength: uncompressedLength) {
            try await upload(pack)
        }
        return (id, true)
    }
}
