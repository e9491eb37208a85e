extension JSONReader {
    // MARK: strings

    /// Reads a string value and returns its decoded UTF-8 bytes (Go's unquoting rules).
    mutating func readString() throws -> [UInt8] {
        guard peek() == 0x22 else {
            if atEnd { throw syntaxError("unexpected end of input, expected a string") }
            throw typeError("expected a string, found \(nextKind())")
        }
        pos += 1
        lastStringReplacementEscapes = 0
        var out = [UInt8]()
        var runStart = pos
        while true {
            guard pos < buf.count else { throw syntaxError("unterminated string") }
            let c = buf[pos]
            if c >= 0x20 && c < 0x80 && c != 0x22 && c != 0x5C {
                pos += 1
                continue
            }
            if runStart < pos { out.append(contentsOf: buf[runStart..<pos]) }
            if c == 0x22 {
                pos += 1
                return out
            }
            if c < 0x20 { throw syntaxError("control character in string") }
            if c >= 0x80 {
                let (r, w) = GoUTF8.decodeRune(buf, pos)
                if r == 0xFFFD && w == 1 {
                    out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                } else {
                    out.append(contentsOf: buf[pos..<(pos + w)])
                }
                pos += w
                runStart = pos
                continue
            }
            try readEscape(into: &out)
            runStart = pos
        }
    }

    private mutating func readEscape(into out: inout [UInt8]) throws {
        guard pos + 1 < buf.count else { throw syntaxError("unterminated string") }
        let e = buf[pos + 1]
        pos += 2
        switch e {
        case 0x22, 0x5C, 0x2F: out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            guard var r = hex4(at: pos) else { throw syntaxError("invalid \\u escape") }
            pos += 4
            if (0xD800..<0xE000).contains(r) {
                // A high surrogate followed by `\u` low surrogate forms a pair; anything else is U+FFFD.
                if r < 0xDC00, pos + 6 <= buf.count, buf[pos] == 0x5C, buf[pos + 1] == UInt8(ascii: "u"),
                   let r2 = hex4(at: pos + 2), (0xDC00..<0xE000).contains(r2) {
                    r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00)
                    pos += 6
                } else {
                    r = 0xFFFD
                }
            }
            if r == 0xFFFD { lastStringReplacementEscapes += 1 }
            GoUTF8.appendScalar(r, to: &out)
        default:
            throw syntaxError("invalid escape in string")
        }
    }

    private func hex4(at i: Int) -> UInt32? {
        guard i + 4 <= buf.count else { return nil }
        var v: UInt32 = 0
        for j in 0..<4 {
            guard let d = GoStrconv.hexValue(buf[i + j]) else { return nil }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Reads a string, or nil for `null`.
    mutating func readOptionalString() throws -> [UInt8]? {
        try consumeNull() ? nil : readString()
    }

    /// Reads a string as Swift text (already valid UTF-8 after Go-style replacement), or nil for null.
    mutating func readOptionalText() throws -> String? {
        // Plain ASCII without escapes (a node's type, user and group, nearly always) becomes
        // text straight from the input: no byte array between, and short text needs no
        // allocation at all. Anything else takes the general path.
        if peek() == 0x22 {
            var end = pos + 1
            while end < buf.count, buf[end] >= 0x20, buf[end] < 0x80, buf[end] != 0x22, buf[end] != 0x5C { end += 1 }
            if end < buf.count, buf[end] == 0x22 {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: buf[(pos + 1)..<end]), as: UTF8.self)
                pos = end + 1
                lastStringReplacementEscapes = 0
                return text
            }
        }
        guard let b = try readOptionalString() else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    /// Reads a JSON array of strings; nil for `null`.
    mutating func readOptionalTextArray() throws -> [String]? {
        if try consumeNull() { return nil }
        try beginArray()
        var out: [String] = []
        var first = true
        while try nextElement(&first) {
            out.append(try readOptionalText() ?? "")  // Go decodes a null element as ""
        }
        return out
    }

    /// The raw bytes between the quotes of a string value that must contain no escapes
    /// (Go decodes times, IDs and polynomials from the raw token like this).
    mutating func readRawStringContents(_ field: String) throws -> Slice<UnsafeRawBufferPointer> {
        guard peek() == 0x22 else {
            if atEnd { throw syntaxError("unexpected end of input, expected a string") }
            throw typeError("\(field): expected a string, found \(nextKind())")
        }
        let start = pos
        _ = try readString()  // validates the token and moves past it
        return buf[(start + 1)..<(pos - 1)]
    }

    // MARK: numbers and booleans

    /// Reads an integer into UInt64; rejects fractions, exponents, negatives and overflow.
    mutating func readUInt64(_ field: String) throws -> UInt64 {
        guard let c = peek() else { throw syntaxError("unexpected end of input, expected a number") }
        guard c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else {
            throw typeError("\(field): expected an unsigned integer, found \(nextKind())")
        }
        let range = try scanNumber()
        var v: UInt64 = 0
        for i in range {
            let d = buf[i]
            guard d >= 0x30 && d <= 0x39 else {
                throw typeError("\(field): expected an unsigned integer, found \(numberText(range))")
            }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d - 0x30))
            guard !o1 && !o2 else { throw typeError("\(field): number \(numberText(range)) overflows") }
            v = s
        }
        return v
    }

    /// Reads a signed integer into Int64; rejects fractions, exponents and overflow.
    mutating func readInt64(_ field: String) throws -> Int64 {
        guard let c = peek() else { throw syntaxError("unexpected end of input, expected a number") }
        guard c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else {
            throw typeError("\(field): expected an integer, found \(nextKind())")
        }
        let range = try scanNumber()
        let negative = buf[range.lowerBound] == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        for i in (negative ? range.lowerBound + 1 : range.lowerBound)..<range.upperBound {
            let d = buf[i]
            guard d >= 0x30 && d <= 0x39 else {
                throw typeError("\(field): expected an integer, found \(numberText(range))")
            }
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d - 0x30))
            guard !o1 && !o2 else { throw typeError("\(field): number \(numberText(range)) overflows") }
            magnitude = s
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw typeError("\(field): number \(numberText(range)) overflows") }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw typeError("\(field): number \(numberText(range)) overflows") }
        return Int64(magnitude)
    }

    mutating func readUInt32(_ field: String) throws -> UInt32 {
        let v = try readUInt64(field)
        guard let r = UInt32(exactly: v) else { throw typeError("\(field): number \(v) does not fit 32 bits") }
        return r
    }

    mutating func readInt(_ field: String) throws -> Int {
        let v = try readInt64(field)
        guard let r = Int(exactly: v) else { throw typeError("\(field): number \(v) out of range") }
        return r
    }

    /// A non-negative integer as Int (Go `uint` fields).
    mutating func readUInt(_ field: String) throws -> Int {
        let v = try readUInt64(field)
        guard let r = Int(exactly: v) else { throw typeError("\(field): number \(v) out of range") }
        return r
    }

    private func numberText(_ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: buf[r.lowerBound..<min(r.upperBound, r.lowerBound + 40)]), as: UTF8.self)
    }

    mutating func readBool(_ field: String) throws -> Bool {
        switch peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        case nil: throw syntaxError("unexpected end of input, expected a bool")
        default: throw typeError("\(field): expected a bool, found \(nextKind())")
        }
    }

    // MARK: restic value types

    /// Hex digit values; 0x80 marks a non-hex byte.
    static let hexTable: [UInt8] = (0..<256).map { GoStrconv.hexValue(UInt8($0)) ?? 0x80 }

    /// Reads an ID: exactly `"` + 64 hex digits + `"` (restic's `ID.UnmarshalJSON`).
    mutating func readID(_ field: String) throws -> ObjectID {
        guard peek() == 0x22 else {
            if atEnd { throw syntaxError("unexpected end of input, expected an ID") }
            throw typeError("\(field): expected an ID string, found \(nextKind())")
        }
        guard pos + 66 <= buf.count, buf[pos + 65] == 0x22 else {
            throw typeError("\(field): an ID must be 64 hex digits")
        }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var bad: UInt8 = 0
        for w in 0..<4 {
            var v: UInt64 = 0
            let base = pos + 1 + w * 16
            for j in 0..<16 {
                let d = JSONReader.hexTable[Int(buf[base + j])]
                bad |= d
                v = v << 4 | UInt64(d & 0x0F)
            }
            switch w {
            case 0: words.0 = v
            case 1: words.1 = v
            case 2: words.2 = v
            default: words.3 = v
            }
        }
        guard bad & 0x80 == 0 else { throw typeError("\(field): invalid hex digit in ID") }
        pos += 66
        return ObjectID(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Reads an ID or null.
    mutating func readOptionalID(_ field: String) throws -> ObjectID? {
        try consumeNull() ? nil : readID(field)
    }

    /// Reads a Go `time.Time` (RFC 3339 string, or null → nil).
    mutating func readOptionalTime(_ field: String) throws -> GoTime? {
        if try consumeNull() { return nil }
        let raw = try readRawStringContents(field)
        guard let t = GoTime(rfc3339Bytes: UnsafeRawBufferPointer(rebasing: raw)) else {
            throw typeError("\(field): invalid RFC 3339 time \"\(String(decoding: UnsafeRawBufferPointer(rebasing: raw), as: UTF8.self))\"")
        }
        return t
    }

    /// Reads a Go `[]byte` (standard base64 string, or null → nil).
    mutating func readOptionalBase64(_ field: String) throws -> [UInt8]? {
        guard let s = try readOptionalString() else { return nil }
        guard let b = Base64.decode(s) else { throw typeError("\(field): invalid base64") }
        return b
    }
}
