import ResticCore
import ResticCrypto

/// Assembles one pack in memory: sealed blobs back to back, then the sealed header and its
/// length. Blobs are sealed straight into the pack buffer, so their bytes are written once.
struct PackBuilder {
    let type: BlobType
    /// The pack so far is `bytes[0..<used]`. Past `used` the array holds scratch room that
    /// blobs are compressed and encrypted into; it is only ever extended (by zeroing new room),
    /// so a reused buffer costs no clearing, and cut back to `used` when the pack is finished.
    private var bytes: [UInt8] = []
    private var used = 0
    private(set) var entries: [PackHeaderEntry] = []
    /// Where a spooled pack's bytes go once `spoolPiece` of them are sealed, with the hash of
    /// what went: the pack is `spooled` bytes in the spool, then `bytes[0..<used]`.
    private var spool: (any BackendSpool)?
    private var digest: PackDigest?
    private var spooled = 0
    /// Sealed bytes kept before they go to the spool: big enough that writes are large.
    static let spoolPiece = 1 << 20

    /// The largest blob the chunker makes, plus encryption overhead; a pack is finished once it
    /// passes its target size, so it may be this much bigger.
    static let maxBlobOverrun = 8 * 1024 * 1024 + 64 * 1024

    init(type: BlobType, capacity: Int) {
        self.type = type
        // Reserved (address space only, until touched) for the largest pack this builder can
        // make: growing the array would copy the whole pack and leave the doubled capacity resident.
        bytes.reserveCapacity(capacity + Self.maxBlobOverrun)
    }

    /// A builder writing into `buffer`'s storage, so a task reuses one pack buffer for every
    /// pack it makes instead of faulting in fresh memory each time. The old contents stay as
    /// scratch room and are overwritten, never read.
    init(type: BlobType, capacity: Int, reusing buffer: consuming [UInt8]) {
        self.type = type
        bytes = buffer
        bytes.reserveCapacity(capacity + Self.maxBlobOverrun)
    }

    /// A builder that passes its bytes on to `spool` as it goes, so it holds about one blob
    /// and `spoolPiece` instead of the whole pack.
    init(type: BlobType, spool: any BackendSpool, reusing buffer: consuming [UInt8]) {
        self.type = type
        self.spool = spool
        digest = PackDigest()
        bytes = buffer
        bytes.reserveCapacity(Self.spoolPiece + Self.maxBlobOverrun)
    }

    var isEmpty: Bool { entries.isEmpty }
    var isSpooled: Bool { spool != nil }
    var size: Int { spooled + used }
    /// Entries that still fit under restic's maximum header size.
    var headerFull: Bool { entries.count >= 400_000 }

    /// Makes `bytes[used..<used + count]` writable.
    private mutating func makeRoom(_ count: Int) {
        let needed = used + count
        if bytes.count < needed { bytes.append(contentsOf: repeatElement(0, count: needed - bytes.count)) }
    }

    private mutating func write(_ source: UnsafeRawBufferPointer) {
        makeRoom(source.count)
        let offset = used
        bytes.withUnsafeMutableBytes { buffer in
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + source.count]).copyMemory(from: source)
        }
        used += source.count
    }

    mutating func append(sealed: [UInt8], id: ObjectID, uncompressedLength: UInt32) throws {
        entries.append(PackHeaderEntry(type: type, length: UInt32(sealed.count),
                                       uncompressedLength: uncompressedLength, id: id,
                                       offset: UInt32(size)))
        sealed.withUnsafeBytes { write($0) }
        if spool != nil && used >= Self.spoolPiece { try drain() }
    }

    /// Seals `plaintext` onto the end of the pack, in place; returns the sealed length.
    mutating func appendSealing(_ plaintext: UnsafeRawBufferPointer, id: ObjectID, sealer: BlobSealer) throws -> Int {
        let room = sealer.room(for: plaintext.count, type: type)
        makeRoom(room)
        let offset = used
        let type = type
        let (length, uncompressedLength) = try bytes.withUnsafeMutableBytes { buffer in
            try sealer.seal(plaintext, id: id, type: type,
                            into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + room]))
        }
        entries.append(PackHeaderEntry(type: type, length: UInt32(length), uncompressedLength: uncompressedLength,
                                       id: id, offset: UInt32(spooled + offset)))
        used += length
        if spool != nil && used >= Self.spoolPiece { try drain() }
        return length
    }

    /// Passes the sealed bytes on to the spool.
    private mutating func drain() throws {
        guard let spool, let digest, used > 0 else { return }
        let count = used
        try bytes.withUnsafeBytes { buffer in
            let sealed = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            try spool.append(sealed)
            digest.stream.update(sealed)
        }
        spooled += count
        used = 0
    }

    /// The blobs of another builder of the same type, copied over sealed as they are. A spooled
    /// `other` is read back from its spool, which is then dropped (and its file removed).
    mutating func append(contentsOf other: PackBuilder) throws {
        let shift = UInt32(size)
        if let otherSpool = other.spool {
            try otherSpool.contents().withUnsafeBytes { try appendRaw($0) }
        }
        try other.bytes.withUnsafeBytes { try appendRaw(UnsafeRawBufferPointer(rebasing: $0[0..<other.used])) }
        entries.append(contentsOf: other.entries.map { entry in
            var moved = entry
            moved.offset += shift
            return moved
        })
    }

    /// Sealed bytes onto the end: a spooled builder sends them on without holding them.
    private mutating func appendRaw(_ source: UnsafeRawBufferPointer) throws {
        guard let spool, let digest else { return write(source) }
        try drain()
        try spool.append(source)
        digest.stream.update(source)
        spooled += source.count
    }

    /// Seals the header onto the pack and returns the finished file with its ID.
    consuming func finish(key: MasterKey) throws -> FinishedPack {
        bytes.removeSubrange(used...)
        let header = key.seal(PackHeader.encode(entries))
        bytes.append(contentsOf: header)
        let length = UInt32(header.count)
        bytes.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8 & 0xff),
                                  UInt8(length >> 16 & 0xff), UInt8(length >> 24)])
        used = bytes.count
        let blobs = entries.map {
            IndexBlob(id: $0.id, type: $0.type, offset: $0.offset, length: $0.length,
                      uncompressedLength: $0.uncompressedLength)
        }
        guard let spool, let digest else {
            return FinishedPack(id: ObjectID(bytes: SHA256.digest(bytes)), bytes: bytes, blobs: blobs)
        }
        try drain()
        return FinishedPack(id: ObjectID(bytes: digest.stream.finalize()), bytes: [], blobs: blobs, spool: spool,
                            scratch: bytes)
    }
}

/// The running hash of a spooled pack. Builders (Sendable values) hold it; only the one task
/// filling the builder ever touches it.
final class PackDigest: @unchecked Sendable {
    let stream = SHA256Stream()
}

/// A complete pack file ready to upload, and the index entries it will get once it is stored:
/// its bytes in memory, or already in a spool of the backend.
public struct FinishedPack: Sendable {
    public var id: ObjectID
    public var bytes: [UInt8]
    public var blobs: [IndexBlob]
    public var spool: (any BackendSpool)?
    /// A spooled pack's builder buffer, for the next pack of the same task.
    var scratch: [UInt8] = []

    public init(id: ObjectID, bytes: [UInt8], blobs: [IndexBlob], spool: (any BackendSpool)? = nil) {
        self.id = id
        self.bytes = bytes
        self.blobs = blobs
        self.spool = spool
    }

    init(id: ObjectID, bytes: [UInt8], blobs: [IndexBlob], spool: any BackendSpool, scratch: [UInt8]) {
        self.init(id: id, bytes: bytes, blobs: blobs, spool: spool)
        self.scratch = scratch
    }
}
