/// Walks the entries of an RDB file without building any value: enough to find where each
/// key starts and ends, count keys, and reach the end marker and checksum. Every read is
/// bounds-checked; running out of bytes throws `.needMore` with how many bytes the current
/// entry needs, so a streaming caller can retry once that many have arrived.
struct RDBCursor {
    enum Stop: Error, Equatable {
        /// The entry is incomplete: at least this many bytes (from the cursor's start) are needed.
        case needMore(Int)
        case corrupt(String)
    }

    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// Lengths beyond this are taken as corruption rather than waited for.
    static let maxLength: UInt64 = 1 << 40

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw Stop.needMore(position + 1) }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func skip(_ count: UInt64) throws {
        guard count <= Self.maxLength else { throw Stop.corrupt("length \(count) at offset \(position) is implausible") }
        let end = position + Int(count)
        guard end <= bytes.count else { throw Stop.needMore(end) }
        position = end
    }

    mutating func bigEndian(_ width: Int) throws -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<width { value = value << 8 | UInt64(try byte()) }
        return value
    }

    /// An RDB length: 6, 14, 32 or 64 bits, or a special encoding (returned with `encoded`).
    mutating func length() throws -> (value: UInt64, encoded: Bool) {
        let first = try byte()
        switch first >> 6 {
        case 0: return (UInt64(first & 0x3f), false)
        case 1: return (UInt64(first & 0x3f) << 8 | UInt64(try byte()), false)
        case 3: return (UInt64(first & 0x3f), true)
        default:
            switch first {
            case 0x80: return (try bigEndian(4), false)
            case 0x81: return (try bigEndian(8), false)
            default: throw Stop.corrupt("unknown length encoding 0x\(String(first, radix: 16)) at offset \(position - 1)")
            }
        }
    }

    mutating func plainLength() throws -> UInt64 {
        let (value, encoded) = try length()
        guard !encoded else { throw Stop.corrupt("unexpected encoded length at offset \(position - 1)") }
        return value
    }

    /// A string: raw bytes, a small integer, or LZF-compressed bytes.
    mutating func skipString() throws {
        let (value, encoded) = try length()
        guard encoded else { return try skip(value) }
        switch value {
        case 0: try skip(1)
        case 1: try skip(2)
        case 2: try skip(4)
        case 3:
            let compressed = try plainLength()
            _ = try plainLength()
            try skip(compressed)
        default: throw Stop.corrupt("unknown string encoding \(value) at offset \(position - 1)")
        }
    }

    /// A string's bytes when stored raw (nil for integer and LZF encodings, which are skipped).
    mutating func rawString() throws -> [UInt8]? {
        let start = position
        let (value, encoded) = try length()
        guard !encoded else {
            position = start
            try skipString()
            return nil
        }
        let from = position
        try skip(value)
        return Array(bytes[from..<position])
    }

    mutating func skipStrings(_ count: UInt64) throws {
        guard count <= Self.maxLength else { throw Stop.corrupt("element count \(count) is implausible") }
        for _ in 0..<count { try skipString() }
    }

    /// The value of one key, by RDB type (Redis 2.x to 7.4 encodings).
    mutating func skipValue(type: UInt8) throws {
        switch type {
        case 0: try skipString()
        case 1, 2: try skipStrings(try plainLength())
        case 3:
            for _ in 0..<(try checkedCount()) {
                try skipString()
                let size = try byte()
                if size < 253 { try skip(UInt64(size)) }  // 253-255 are NaN and ±inf
            }
        case 4: try skipStrings(try plainLength().multipliedReportingOverflow(by: 2).partialValue)
        case 5:
            for _ in 0..<(try checkedCount()) {
                try skipString()
                try skip(8)
            }
        case 7: try skipModuleValue(withID: true)
        case 9, 10, 11, 12, 13, 16, 17, 20, 23: try skipString()
        case 25:
            try skip(8)
            try skipString()
        case 14: try skipStrings(try plainLength())
        case 18:
            for _ in 0..<(try checkedCount()) {
                _ = try plainLength()
                try skipString()
            }
        case 15, 19, 21: try skipStream(version: type == 15 ? 1 : type == 19 ? 2 : 3)
        case 22, 24:
            if type == 24 { try skip(8) }
            for _ in 0..<(try checkedCount()) {
                _ = try plainLength()
                try skipString()
                try skipString()
            }
        default:
            throw Stop.corrupt("unsupported RDB value type \(type) at offset \(position - 1)")
        }
    }

    private mutating func checkedCount() throws -> UInt64 {
        let count = try plainLength()
        guard count <= Self.maxLength else { throw Stop.corrupt("element count \(count) is implausible") }
        return count
    }

    /// Streams: listpacks, then counters and IDs, then consumer groups with their pending lists.
    private mutating func skipStream(version: Int) throws {
        for _ in 0..<(try checkedCount()) {
            try skipString()
            try skipString()
        }
        for _ in 0..<(version >= 2 ? 8 : 3) { _ = try plainLength() }
        for _ in 0..<(try checkedCount()) {
            try skipString()
            _ = try plainLength()
            _ = try plainLength()
            if version >= 2 { _ = try plainLength() }
            for _ in 0..<(try checkedCount()) {
                try skip(16 + 8)
                _ = try plainLength()
            }
            for _ in 0..<(try checkedCount()) {
                try skipString()
                try skip(version >= 3 ? 16 : 8)
                for _ in 0..<(try checkedCount()) { try skip(16) }
            }
        }
    }

    /// A module value or aux record: typed fields until the module EOF opcode.
    mutating func skipModuleValue(withID: Bool) throws {
        if withID { _ = try plainLength() }
        while true {
            switch try plainLength() {
            case 0: return
            case 1, 2: _ = try plainLength()
            case 3: try skip(4)
            case 4: try skip(8)
            case 5: try skipString()
            case let other: throw Stop.corrupt("unknown module field opcode \(other) at offset \(position)")
            }
        }
    }
}
