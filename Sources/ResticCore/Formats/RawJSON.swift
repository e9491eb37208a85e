/// Helpers for pre-encoded JSON values (Go `json.RawMessage`).
enum RawJSON {
    /// What Go's encoder does to a `RawMessage`: drop whitespace outside strings and, with HTML
    /// escaping on, write `<` `>` `&` U+2028 U+2029 inside strings as `\u` escapes. An empty
    /// value is written as `null`, as Go writes a nil RawMessage.
    static func compact(_ raw: [UInt8]) -> [UInt8] {
        if raw.isEmpty { return Array("null".utf8) }
        var out = [UInt8]()
        out.reserveCapacity(raw.count)
        var inString = false
        var escaped = false
        var i = 0
        while i < raw.count {
            let c = raw[i]
            if inString {
                if escaped {
                    escaped = false
                } else if c == 0x5C {
                    escaped = true
                } else if c == 0x22 {
                    inString = false
                } else if c == 0x3C || c == 0x3E || c == 0x26 {
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                    out.append(GoJSONWriter.hexDigits[Int(c >> 4)])
                    out.append(GoJSONWriter.hexDigits[Int(c & 0xF)])
                    i += 1
                    continue
                } else if c == 0xE2, i + 2 < raw.count, raw[i + 1] == 0x80, raw[i + 2] & 0xFE == 0xA8 {
                    out.append(contentsOf: Array("\\u202".utf8))
                    out.append(GoJSONWriter.hexDigits[Int(raw[i + 2] & 0xF)])
                    i += 3
                    continue
                }
                out.append(c)
            } else {
                switch c {
                case 0x20, 0x09, 0x0A, 0x0D:
                    break
                case 0x22:
                    inString = true
                    out.append(c)
                default:
                    out.append(c)
                }
            }
            i += 1
        }
        return out
    }
}
