/// Checks an RDB stream as it passes through: the `REDIS` header and version, every entry's
/// structure, the CRC-64 after the end marker, and counts the keys (per database and with an
/// expiry). It tells the caller where the RDB ends, so bytes that follow it (the 40-byte
/// end-of-transfer marker `redis-cli --rdb -` writes after a diskless transfer) are kept out
/// of the backup. Memory: the largest single entry, never the whole file.
/// Parsing happens inside `consume` on a copy-on-write view of the buffer, and the state
/// changes only after a whole entry is read, so an incomplete entry is simply retried.
public struct RDBValidator: Sendable {
    public struct Summary: Sendable, Equatable {
        public var version: Int
        public var keys: Int
        public var keysWithExpiry: Int
        /// Keys per database number.
        public var databases: [Int: Int]
        public var bytes: UInt64
        /// False when the file was written with `rdbchecksum no` (a zero checksum).
        public var checksumVerified: Bool
        public var redisVersion: String?
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { "invalid RDB: \(message)" }
    }

    private var pending: [UInt8] = []
    private var needed = 0
    private var crc = CRC64()
    private var version = -1
    private var database = 0
    private var expiryPending = false
    private var keys = 0, keysWithExpiry = 0
    private var databases: [Int: Int] = [:]
    private var finished = false
    private var checksumVerified = false
    private var redisVersion: String?
    /// Bytes that came after the end of the RDB.
    public private(set) var trailingBytes = 0

    public init() {}

    /// True once the end marker and checksum have been read.
    public var isFinished: Bool { finished }

    /// The RDB's length in bytes, known once the end marker has been parsed.
    public var length: UInt64? { finished ? rdbLength : nil }
    private var rdbLength: UInt64 = 0

    /// Takes the next bytes of the stream. Entries are parsed as soon as they are complete;
    /// a large entry is retried only after its buffered bytes double, so parsing stays linear.
    public mutating func consume(_ chunk: UnsafeRawBufferPointer) throws {
        received += UInt64(chunk.count)
        if finished {
            trailingBytes += chunk.count
            return
        }
        pending.append(contentsOf: chunk)
        if pending.count >= needed { try parse() }
    }

    public mutating func consume(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try consume($0) }
    }

    /// Parses what is left once the stream has ended and returns the result; throws if the
    /// stream stopped before the end marker.
    public mutating func finish() throws -> Summary {
        if !finished && !pending.isEmpty { try parse(final: true) }
        guard version >= 0 else { throw Failure(message: received == 0 ? "empty stream" : "truncated header") }
        guard finished else { throw Failure(message: "truncated after \(received) bytes (no end marker)") }
        return Summary(version: version, keys: keys, keysWithExpiry: keysWithExpiry, databases: databases,
                       bytes: rdbLength, checksumVerified: checksumVerified, redisVersion: redisVersion)
    }

    private var received: UInt64 = 0
    /// Bytes of the stream already parsed and dropped from `pending`.
    private var dropped: UInt64 = 0

    private mutating func parse(final: Bool = false) throws {
        let buffer = pending
        var consumed = 0
        var failure: Failure?
        var wait = 0
        buffer.withUnsafeBytes { bytes in
            while !finished {
                var cursor = RDBCursor(bytes, at: consumed)
                do {
                    try entry(&cursor)
                } catch RDBCursor.Stop.needMore(let count) {
                    let required = count - consumed
                    let have = bytes.count - consumed
                    wait = have >= 1 << 20 && !final ? max(required, have * 2) : required
                    return
                } catch RDBCursor.Stop.corrupt(let message) {
                    failure = Failure(message: message)
                    return
                } catch {
                    failure = Failure(message: "\(error)")
                    return
                }
                if !finished {
                    crc.update(UnsafeRawBufferPointer(rebasing: bytes[consumed..<cursor.position]))
                }
                consumed = cursor.position
            }
        }
        if let failure { throw failure }
        needed = wait
        dropped += UInt64(consumed)
        if finished {
            rdbLength = dropped
            trailingBytes += buffer.count - consumed
            pending = []
        } else {
            pending = Array(buffer[consumed...])
        }
    }

    /// One top-level entry: the header, an opcode with its arguments, or a key with its value.
    /// State changes only after the whole entry is present, so an entry can be retried.
    private mutating func entry(_ cursor: inout RDBCursor) throws {
        let start = cursor.position
        if version < 0 {
            try cursor.skip(9)
            let header = Array(cursor.bytes[start..<start + 9])
            guard Array(header.prefix(5)) == Array("REDIS".utf8),
                  let number = Int(String(decoding: header.suffix(4), as: UTF8.self)), number > 0 else {
                throw RDBCursor.Stop.corrupt("no REDIS header (starts with \(header.prefix(5).map { String($0, radix: 16) }.joined(separator: " ")))")
            }
            version = number
            return
        }
        let opcode = try cursor.byte()
        switch opcode {
        case 0xff:
            guard version >= 5 else { finished = true; return }
            try cursor.skip(8)
            var stored: UInt64 = 0
            for i in 0..<8 { stored |= UInt64(cursor.bytes[start + 1 + i]) << (8 * UInt64(i)) }
            var final = crc
            final.update(UnsafeRawBufferPointer(rebasing: cursor.bytes[start..<start + 1]))
            if stored != 0 && stored != final.value {
                throw RDBCursor.Stop.corrupt("checksum mismatch: stored \(hex(stored)), computed \(hex(final.value))")
            }
            checksumVerified = stored != 0
            finished = true
        case 0xfe: database = Int(try cursor.plainLength())
        case 0xfd: try cursor.skip(4); expiryPending = true
        case 0xfc: try cursor.skip(8); expiryPending = true
        case 0xfb: _ = try cursor.plainLength(); _ = try cursor.plainLength()
        case 0xfa:
            let name = try cursor.rawString()
            let value = try cursor.rawString()
            if let name, let value, name == Array("redis-ver".utf8) {
                redisVersion = String(decoding: value, as: UTF8.self)
            }
        case 0xf9: try cursor.skip(1)
        case 0xf8: _ = try cursor.plainLength()
        case 0xf7:
            // Module id, then "when" as a typed (uint) field, then the module's own fields.
            for _ in 0..<3 { _ = try cursor.plainLength() }
            try cursor.skipModuleValue(withID: false)
        case 0xf5: try cursor.skipString()
        case 0xf4: for _ in 0..<3 { _ = try cursor.plainLength() }
        default:
            guard opcode < 0xf0 else {
                throw RDBCursor.Stop.corrupt("unsupported RDB opcode 0x\(String(opcode, radix: 16)) at offset \(dropped + UInt64(start))")
            }
            try cursor.skipString()
            try cursor.skipValue(type: opcode)
            keys += 1
            databases[database, default: 0] += 1
            if expiryPending { keysWithExpiry += 1 }
            expiryPending = false
        }
    }

    private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}
