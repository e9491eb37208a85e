import ResticCore
import ResticCrypto

/// Assembles one pack in memory: sealed blobs back to back, then the sealed header and its
/// length. Blobs are appended already encrypted, so the builder only copies bytes.
struct PackBuilder {
    let type: BlobType
    private(set) var bytes: [UInt8] = []
    private(set) var entries: [PackHeaderEntry] = []

    init(type: BlobType, capacity: Int) {
        self.type = type
        bytes.reserveCapacity(capacity + 64 * 1024)
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
