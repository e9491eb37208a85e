import ResticCore

/// Writes a POSIX (pax) tar stream, as `dump` of a directory produces: ustar headers, pax
/// extended records for long names, large sizes and nanosecond times.
public struct TarWriter {
    let sink: ([UInt8]) throws -> Void

    public init(sink: @escaping ([UInt8]) throws -> Void) {
        self.sink = sink
    }

    public enum EntryType: UInt8 {
        case file = 48, hardlink = 49, symlink = 50, charDevice = 51, blockDevice = 52, directory = 53, fifo = 54
    }

    public func header(name: String, type: EntryType, node: Node, size: Int, linkName: String = "") throws {
        var pax: [(String, String)] = []
        let nameBytes = Array(name.utf8), linkBytes = Array(linkName.utf8)
        if nameBytes.count > 100 { pax.append(("path", name)) }
        if linkBytes.count > 100 { pax.append(("linkpath", linkName)) }
        if size > 0o77777777777 { pax.append(("size", String(size))) }
        if node.mtime.nanoseconds != 0 { pax.append(("mtime", Self.paxTime(node.mtime))) }
        if !pax.isEmpty {
            var records: [UInt8] = []
            for (key, value) in pax { records += Self.paxRecord(key, value) }
            try sink(Self.block(name: "PaxHeaders/" + String(name.suffix(80)), type: 120, mode: 0o644, uid: 0, gid: 0,
                                size: records.count, mtime: node.mtime.seconds, linkName: "", user: "", group: ""))
            try sink(records + Self.padding(records.count))
        }
        try sink(Self.block(name: name, type: type.rawValue, mode: GoFileMode.unixPermissions(node.mode),
                            uid: node.uid, gid: node.gid, size: type == .file ? size : 0,
                            mtime: node.mtime.seconds, linkName: linkName, user: node.user ?? "", group: node.group ?? ""))
    }

    /// Pads file content to the 512-byte block size after `size` bytes of content.
    public func finishContent(size: Int) throws {
        let pad = Self.padding(size)
        if !pad.isEmpty { try sink(pad) }
    }

    public func finish() throws {
        try sink([UInt8](repeating: 0, count: 1024))
    }

    static func padding(_ size: Int) -> [UInt8] {
        [UInt8](repeating: 0, count: (512 - size % 512) % 512)
    }

    static func paxTime(_ time: GoTime) -> String {
        var fraction = String(time.nanoseconds)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        return "\(time.seconds).\(fraction)"
    }

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length = String(length).count + body.utf8.count }
        return Array("\(length)\(body)".utf8)
    }

    static func block(name: String, type: UInt8, mode: UInt32, uid: UInt32, gid: UInt32, size: Int,
                      mtime: Int64, linkName: String, user: String, group: String) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int, width: Int) {
            for (i, b) in bytes.prefix(width).enumerated() { block[offset + i] = b }
        }
        func octal(_ value: UInt64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            let padded = String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            put(Array(padded.utf8), at: offset, width: width - 1)
        }
        put(Array(name.utf8), at: 0, width: 100)
        octal(UInt64(mode), at: 100, width: 8)
        octal(UInt64(min(uid, 0o7777777)), at: 108, width: 8)
        octal(UInt64(min(gid, 0o7777777)), at: 116, width: 8)
        octal(UInt64(min(size, 0o77777777777)), at: 124, width: 12)
        octal(UInt64(max(0, min(mtime, 0o77777777777))), at: 136, width: 12)
        block[156] = type
        put(Array(linkName.utf8), at: 157, width: 100)
        put(Array("ustar\u{0}00".utf8), at: 257, width: 8)
        put(Array(user.utf8), at: 265, width: 32)
        put(Array(group.utf8), at: 297, width: 32)
        put([UInt8](repeating: UInt8(ascii: " "), count: 8), at: 148, width: 8)
        let checksum = block.reduce(0) { $0 + Int($1) }
        octal(UInt64(checksum), at: 148, width: 7)
        block[155] = UInt8(ascii: " ")
        return block
    }
}
