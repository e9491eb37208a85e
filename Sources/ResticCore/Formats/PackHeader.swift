/// One entry of a pack header.
public struct PackHeaderEntry: Sendable, Equatable {
    public var type: BlobType
    /// Length of the encrypted blob (crypto overhead included).
    public var length: UInt32
    /// 0 for an uncompressed entry (type byte 0/1), else the plaintext length (type 2/3).
    public var uncompressedLength: UInt32
    public var id: ObjectID
    /// Implied by the entries before it; `parse` fills it in, `encode` ignores it.
    public var offset: UInt32

    public init(type: BlobType, length: UInt32, uncompressedLength: UInt32 = 0, id: ObjectID, offset: UInt32 = 0) {
        self.type = type
        self.length = length
        self.uncompressedLength = uncompressedLength
        self.id = id
        self.offset = offset
    }

    public var isCompressed: Bool { uncompressedLength != 0 }

    /// Bytes this entry takes in the plaintext header.
    public var encodedSize: Int { isCompressed ? PackHeader.entrySizeCompressed : PackHeader.entrySizeUncompressed }
}

/// The pack header: `type(1) ‖ len(4) [‖ uncompressed_len(4)] ‖ id(32)` per blob, little-endian,
/// encrypted, followed in the file by a uint32 LE header length.
public enum PackHeader {
    /// Header plus its length field, at most (restic's MaxHeaderSize).
    public static let maxHeaderSize = 16 * 1024 * 1024 + 4
    public static let entrySizeUncompressed = 37
    public static let entrySizeCompressed = 41
    /// IV + MAC added by encryption.
    public static let cryptoOverhead = 32
    /// Smallest valid pack: one uncompressed entry, its encryption and the length field.
    public static let minFileSize = entrySizeUncompressed + cryptoOverhead + 4
    /// How many tail bytes restic reads first (15 entries), to get small headers in one request.
    public static let eagerReadSize = 15 * entrySizeCompressed + cryptoOverhead + 4
    /// Most entries one header can hold.
    public static let maxEntries = (maxHeaderSize - cryptoOverhead - 4) / entrySizeCompressed

    /// Validates the trailing uint32 LE header length against the file size; returns the
    /// encrypted header length (not counting the 4 length bytes).
    public static func headerLength(trailer: [UInt8], fileSize: Int) throws -> Int {
        guard trailer.count == 4 else {
            throw FormatError.invalidField("pack: header length field needs 4 bytes, got \(trailer.count)")
        }
        guard fileSize >= minFileSize else {
            throw FormatError.invalidField("pack: file is too short (\(fileSize) bytes, minimum \(minFileSize))")
        }
        let hlen = Int(UInt32(trailer[0]) | UInt32(trailer[1]) << 8 | UInt32(trailer[2]) << 16 | UInt32(trailer[3]) << 24)
        if hlen == 0 { throw FormatError.invalidField("pack: header length is zero") }
        if hlen < cryptoOverhead { throw FormatError.invalidField("pack: header length \(hlen) is too short") }
        if hlen > fileSize - 4 {
            throw FormatError.invalidField("pack: header length \(hlen) is larger than the file (\(fileSize) bytes)")
        }
        if hlen > maxHeaderSize - 4 {
            throw FormatError.invalidField("pack: header length \(hlen) exceeds the maximum \(maxHeaderSize - 4)")
        }
        return hlen
    }

    /// Parses a decrypted header; offsets are the running sum of lengths. Rejects unknown type
    /// bytes, truncated entries and offsets beyond 4 GiB.
    public static func parse(_ plaintext: [UInt8]) throws -> [PackHeaderEntry] {
        var entries: [PackHeaderEntry] = []
        entries.reserveCapacity(plaintext.count / entrySizeUncompressed)
        var pos = 0
        var offset: UInt64 = 0
        @inline(__always) func u32(_ i: Int) -> UInt32 {
            UInt32(plaintext[i]) | UInt32(plaintext[i + 1]) << 8 | UInt32(plaintext[i + 2]) << 16 | UInt32(plaintext[i + 3]) << 24
        }
        while pos < plaintext.count {
            let typeByte = plaintext[pos]
            let type: BlobType
            switch typeByte {
            case 0, 2: type = .data
            case 1, 3: type = .tree
            default:
                throw FormatError.invalidField("pack header: entry \(entries.count) has invalid type \(typeByte) at byte \(pos)")
            }
            let size = typeByte >= 2 ? entrySizeCompressed : entrySizeUncompressed
            guard plaintext.count - pos >= size else {
                throw FormatError.invalidField("pack header: entry \(entries.count) truncated (\(plaintext.count - pos) of \(size) bytes)")
            }
            let length = u32(pos + 1)
            var uncompressed: UInt32 = 0
            var idStart = pos + 5
            if typeByte >= 2 {
                uncompressed = u32(pos + 5)
                idStart += 4
            }
            guard offset <= UInt64(UInt32.max) else {
                throw FormatError.invalidField("pack header: entry \(entries.count) starts beyond 4 GiB")
            }
            let id = ObjectID(bytes: plaintext[idStart..<(idStart + 32)])
            entries.append(PackHeaderEntry(type: type, length: length, uncompressedLength: uncompressed,
                                           id: id, offset: UInt32(offset)))
            offset += UInt64(length)
            pos += size
        }
        return entries
    }

    /// The plaintext header for `entries` (types 2/3 for entries with an uncompressed length).
    public static func encode(_ entries: [PackHeaderEntry]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(entries.count * entrySizeCompressed)
        @inline(__always) func put(_ v: UInt32) {
            out.append(UInt8(truncatingIfNeeded: v))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            out.append(UInt8(truncatingIfNeeded: v >> 24))
        }
        for e in entries {
            let base: UInt8 = e.type == .data ? 0 : 1
            out.append(e.isCompressed ? base + 2 : base)
            put(e.length)
            if e.isCompressed { put(e.uncompressedLength) }
            out.append(contentsOf: e.id.bytes)
        }
        return out
    }

    /// Encrypted header length plus the 4-byte length field for these entries.
    public static func trailerSize(_ entries: [PackHeaderEntry]) -> Int {
        entries.reduce(cryptoOverhead + 4) { $0 + $1.encodedSize }
    }

    /// The uint32 LE length field that ends a pack.
    public static func lengthField(_ encryptedHeaderLength: Int) -> [UInt8] {
        let v = UInt32(truncatingIfNeeded: encryptedHeaderLength)
        return [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8),
                UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24)]
    }
}
