/// Go's `strconv.Quote` / `strconv.Unquote` for double-quoted strings, byte for byte.
///
/// restic stores node names as `strconv.Quote(name)` without the outer quotes, so raw names
/// (any bytes) survive JSON; reproducing the exact escapes is what keeps tree IDs equal.
public enum GoStrconv {
    /// The Unicode version of Go's `strconv.IsPrint` tables (Go 1.21 and later: 15.0.0).
    static let unicodeVersion = (major: 15, minor: 0)

    private static let lowerHex: [UInt8] = Array("0123456789abcdef".utf8)

    /// `strconv.Quote(s)` without the surrounding quotes, for raw bytes `s`.
    public static func quoteContents(_ s: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(s.count + 2)
        s.withUnsafeBytes { p in
            var i = 0
            while i < p.count {
                let b = p[i]
                if b >= 0x20 && b < 0x7F && b != 0x22 && b != 0x5C {
                    out.append(b)
                    i += 1
                    continue
                }
                let (r, w) = b < 0x80 ? (UInt32(b), 1) : GoUTF8.decodeRune(p, i)
                if r == 0xFFFD && w == 1 {
                    appendHexEscape(UInt8(ascii: "x"), UInt32(b), digits: 2, to: &out)
                } else {
                    appendEscapedRune(r, bytes: p[i..<(i + w)], to: &out)
                }
                i += w
            }
        }
        return out
    }

    private static func appendEscapedRune(_ r: UInt32, bytes: Slice<UnsafeRawBufferPointer>, to out: inout [UInt8]) {
        if r == 0x22 || r == 0x5C {
            out.append(0x5C)
            out.append(UInt8(r))
            return
        }
        if isPrint(r) {
            out.append(contentsOf: bytes)
            return
        }
        switch r {
        case 0x07: out.append(contentsOf: [0x5C, UInt8(ascii: "a")])
        case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x0B: out.append(contentsOf: [0x5C, UInt8(ascii: "v")])
        case 0..<0x20, 0x7F: appendHexEscape(UInt8(ascii: "x"), r, digits: 2, to: &out)
        case 0..<0x10000: appendHexEscape(UInt8(ascii: "u"), r, digits: 4, to: &out)
        default: appendHexEscape(UInt8(ascii: "U"), r, digits: 8, to: &out)
        }
    }

    private static func appendHexEscape(_ letter: UInt8, _ v: UInt32, digits: Int, to out: inout [UInt8]) {
        out.append(0x5C)
        out.append(letter)
        var shift = (digits - 1) * 4
        while shift >= 0 {
            out.append(lowerHex[Int((v >> UInt32(shift)) & 0xF)])
            shift -= 4
        }
    }

    /// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and U+0020, as
    /// assigned in Unicode 15.0 (later assignments are unassigned to Go, hence not printable).
    public static func isPrint(_ r: UInt32) -> Bool {
        isPrint(r, maxVersion: unicodeVersion)
    }

    static func isPrint(_ r: UInt32, maxVersion: (major: Int, minor: Int)) -> Bool {
        if r <= 0xFF {
            if r >= 0x20 && r <= 0x7E { return true }
            if r >= 0xA1 && r <= 0xFF { return r != 0xAD }
            return false
        }
        guard let scalar = Unicode.Scalar(r), let age = scalar.properties.age else { return false }
        if age.major > maxVersion.major || (age.major == maxVersion.major && age.minor > maxVersion.minor) {
            return false
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    /// `strconv.Unquote("\"" + s + "\"")`: reverses `quoteContents`. Throws on what Go rejects
    /// (a bare `"` or newline, bad escapes, `\'`, surrogates in `\u`).
    public static func unquoteContents(_ s: [UInt8]) throws -> [UInt8] {
        if !s.contains(0x5C) && !s.contains(0x22) && !s.contains(0x0A) && GoUTF8.isValid(s) {
            return s
        }
        var out = [UInt8]()
        out.reserveCapacity(s.count)
        try s.withUnsafeBytes { p in
            var i = 0
            func fail(_ why: String) -> FormatError {
                .invalidField("quoted name: \(why) at byte \(i)")
            }
            while i < p.count {
                let c = p[i]
                if c == 0x22 { throw fail("unescaped '\"'") }
                if c == 0x0A { throw fail("unescaped newline") }
                if c >= 0x80 {
                    let (r, w) = GoUTF8.decodeRune(p, i)
                    GoUTF8.appendScalar(r, to: &out)
                    i += w
                    continue
                }
                if c != 0x5C { out.append(c); i += 1; continue }
                guard i + 1 < p.count else { throw fail("trailing backslash") }
                let e = p[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "a"): out.append(0x07)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "v"): out.append(0x0B)
                case 0x5C: out.append(0x5C)
                case 0x22: out.append(0x22)
                case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "x") ? 2 : (e == UInt8(ascii: "u") ? 4 : 8)
                    guard i + n <= p.count else { throw fail("short \\\(Character(Unicode.Scalar(e))) escape") }
                    var v: UInt32 = 0
                    for j in 0..<n {
                        guard let d = hexValue(p[i + j]) else { throw fail("bad hex digit") }
                        v = v << 4 | UInt32(d)
                    }
                    i += n
                    if e == UInt8(ascii: "x") {
                        out.append(UInt8(v))  // a single byte, possibly not UTF-8
                    } else {
                        guard v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { throw fail("invalid rune") }
                        GoUTF8.appendScalar(v, to: &out)
                    }
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    guard i + 2 <= p.count else { throw fail("short octal escape") }
                    var v = UInt32(e - 0x30)
                    for j in 0..<2 {
                        let d = p[i + j]
                        guard d >= 0x30 && d <= 0x37 else { throw fail("bad octal digit") }
                        v = v << 3 | UInt32(d - 0x30)
                    }
                    i += 2
                    guard v <= 255 else { throw fail("octal escape out of range") }
                    out.append(UInt8(v))
                default:
                    throw fail("unknown escape")
                }
            }
        }
        return out
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
