/// A 32-byte SHA-256 identifier of a blob, a pack or a repository file.
///
/// Stored as four words rather than an array: the in-memory index holds millions of these, and
/// a fixed-size value type costs 32 bytes with no heap allocation or reference counting.
public struct ObjectID: Hashable, Comparable, Sendable {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let zero = ObjectID(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// `bytes` must hold exactly 32 bytes (a SHA-256 digest).
    public init<C: Collection>(bytes: C) where C.Element == UInt8 {
        precondition(bytes.count == 32, "ObjectID needs 32 bytes")
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var i = 0
        for b in bytes {
            let shift = UInt64(56 - 8 * (i % 8))
            switch i / 8 {
            case 0: words.0 |= UInt64(b) << shift
            case 1: words.1 |= UInt64(b) << shift
            case 2: words.2 |= UInt64(b) << shift
            default: words.3 |= UInt64(b) << shift
            }
            i += 1
        }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// The fast path for digests: four big-endian loads instead of a byte loop through a
    /// generic collection (an ID is made for every chunk and blob).
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "ObjectID needs 32 bytes")
        self = bytes.withUnsafeBytes { raw in
            ObjectID(w0: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                     w1: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                     w2: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                     w3: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
        }
    }

    /// Parses exactly 64 hex digits (either case); nil otherwise.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 {
            guard let hi = Self.nibble(utf8[2 * i]), let lo = Self.nibble(utf8[2 * i + 1]) else { return nil }
            bytes[i] = hi << 4 | lo
        }
        self.init(bytes: bytes)
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        for (wi, w) in [w0, w1, w2, w3].enumerated() {
            for j in 0..<8 { out[wi * 8 + j] = UInt8(truncatingIfNeeded: w >> UInt64(56 - 8 * j)) }
        }
        return out
    }

    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The eight-digit prefix restic prints for IDs.
    public var shortHex: String { String(hex.prefix(8)) }

    public var isZero: Bool { self == .zero }

    /// The first byte, used for `data/XX/` folders and `--read-data-subset n/t`.
    public var firstByte: UInt8 { UInt8(truncatingIfNeeded: w0 >> 56) }

    public static func < (a: ObjectID, b: ObjectID) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension ObjectID: CustomStringConvertible {
    public var description: String { hex }
}
