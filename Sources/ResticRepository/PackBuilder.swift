import ResticCore
import ResticCrypto

/// Assembles one pack in memory: sealed blobs back to back, then the sealed header and its
/// length. Blobs are sealed straight into the pack buffer, so their bytes are written once.
struct PackBuilder {
    let type: BlobType
    private(set) var bytes: [UInt8] = []
    private(set) var entries: [PackHeaderEntry] = []

    /// The largest blob the chunker makes, plus encryption overhead; a pack is finished once it
    /// passes its target size, so it may be this much bigger.
    static let maxBlobOverrun = 8 * 1024 * 1024 + 64 * 1024

    init(type: BlobType, capacity: Int) {
        self.type = type
        // Reserved once for the largest pack this builder can make: growing the array would
        // copy the whole pack and leave the doubled capacity resident.
        bytes.reserveCapacity(capacity + Self.maxBlobOverrun)
    }

    /// A builder writing into `buffer`'s storage (emptied first), so a task reuses one pack
    /// buffer for every pack it makes instead of faulting in fresh memory each time.
    init(type: BlobType, capacity: Int, reusing buffer: consuming [UInt8]) {
        self.type = type
        buffer.removeAll(keepingCapacity: true)
        bytes = buffer
        bytes.reserveCapacity(capacity + Self.maxBlobOverrun)
    }

    var isEmpty: Bool { entries.isEmpty }
    var size: Int { bytes.count }
    /// Entries that still fit under restic's maximum header size.
    var headerFull: Bool { entries.count >= 400_000 }

    mutating func append(sealed: [UInt8], id: ObjectID, uncompressedLength: UInt32) {
        entries.append(PackHeaderEntry(type: type, length: UInt32(sealed.count),
                                       uncompressedLength: uncompressedLength, id: id,
                                       offset: UInt32(bytes.count)))
        bytes.append(contentsOf: sealed)
    }

    /// Seals `plaintext` onto the end of the pack; returns the sealed length.
    mutating func appendSealing(_ plaintext: UnsafeRawBufferPointer, id: ObjectID, sealer: BlobSealer) throws -> Int {
        let offset = bytes.count
        let uncompressedLength = try sealer.seal(plaintext, id: id, type: type, appendingTo: &bytes)
        let length = bytes.count - offset
        entries.append(PackHeaderEntry(type: type, length: UInt32(length), uncompressedLength: uncompressedLength,
                                       id: id, offset: UInt32(offset)))
        return length
    }

    /// The blobs of another builder of the same type, copied over sealed as they are.
    mutating func append(contentsOf other: PackBuilder) {
        let shift = UInt32(bytes.count)
        bytes.append(contentsOf: other.bytes)
        entries.append(contentsOf: other.entries.map { entry in
            var moved = entry
            moved.offset += shift
            return moved
        })
    }

    /// Seals the header onto the pack and returns the finished file with its ID.
    consuming func finish(key: MasterKey) -> FinishedPack {
        let header = key.seal(PackHeader.encode(entries))
        bytes.append(contentsOf: header)
        let length = UInt32(header.count)
        bytes.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8 & 0xff),
                                  UInt8(length >> 16 & 0xff), UInt8(length >> 24)])
        let id = ObjectID(bytes: SHA256.digest(bytes))
        let blobs = entries.map {
            IndexBlob(id: $0.id, type: $0.type, offset: $0.offset, length: $0.length,
                      uncompressedLength: $0.uncompressedLength)
        }
        return FinishedPack(id: id, bytes: bytes, blobs: blobs)
    }
}

/// A complete pack file ready to upload, and the index entries it will get once it is stored.
public struct FinishedPack: Sendable {
    public var id: ObjectID
    public var bytes: [UInt8]
    public var blobs: [IndexBlob]
}
