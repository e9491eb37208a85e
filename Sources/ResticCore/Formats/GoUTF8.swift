/// UTF-8 handling with Go's rules (`unicode/utf8`).
///
/// Go replaces invalid input **one byte at a time** (each bad byte becomes one U+FFFD), while
/// Swift's `String(decoding:as:)` replaces maximal subparts; the two disagree on truncated
/// sequences, and the difference changes tree bytes. Everything here follows Go.
public enum GoUTF8 {
    /// Decodes one rune at `i` like Go's `utf8.DecodeRune`: invalid or truncated input gives
    /// (0xFFFD, 1). `i` must be a valid index.
    @inline(__always)
    static func decodeRune(_ p: UnsafeRawBufferPointer, _ i: Int) -> (scalar: UInt32, width: Int) {
        let n = p.count - i
        let b0 = p[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        let bad: (UInt32, Int) = (0xFFFD, 1)
        if b0 < 0xC2 || b0 > 0xF4 { return bad }
        if b0 < 0xE0 {
            guard n >= 2 else { return bad }
            let b1 = p[i + 1]
            guard b1 & 0xC0 == 0x80 else { return bad }
            return (UInt32(b0 & 0x1F) << 6 | UInt32(b1 & 0x3F), 2)
        }
        // Second-byte ranges exclude overlong forms, surrogates and values above U+10FFFF.
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xE0: lo = 0xA0
        case 0xED: hi = 0x9F
        case 0xF0: lo = 0x90
        case 0xF4: hi = 0x8F
        default: break
        }
        if b0 < 0xF0 {
            guard n >= 3 else { return bad }
            let b1 = p[i + 1], b2 = p[i + 2]
            guard b1 >= lo, b1 <= hi, b2 & 0xC0 == 0x80 else { return bad }
            return (UInt32(b0 & 0x0F) << 12 | UInt32(b1 & 0x3F) << 6 | UInt32(b2 & 0x3F), 3)
        }
        guard n >= 4 else { return bad }
        let b1 = p[i + 1], b2 = p[i + 2], b3 = p[i + 3]
        guard b1 >= lo, b1 <= hi, b2 & 0xC0 == 0x80, b3 & 0xC0 == 0x80 else { return bad }
        let v = UInt32(b0 & 0x07) << 18 | UInt32(b1 & 0x3F) << 12 | UInt32(b2 & 0x3F) << 6 | UInt32(b3 & 0x3F)
        return (v, 4)
    }

    /// True when `bytes` is valid UTF-8 by Go's rules (no surrogates, no overlong forms).
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { p in
            var i = 0
            while i < p.count {
                if p[i] < 0x80 { i += 1; continue }
                let (r, w) = decodeRune(p, i)
                if r == 0xFFFD && w == 1 { return false }
                i += w
            }
            return true
        }
    }

    /// Converts raw bytes to a String the way Go's `string`→JSON path does: each invalid byte
    /// becomes one U+FFFD. Use this (not `String(decoding:)`) when raw names must match restic.
    public static func lossyString(_ bytes: [UInt8]) -> String {
        String(decoding: replacingInvalid(bytes), as: UTF8.self)
    }

    /// `bytes` with each invalid byte replaced by EF BF BD (U+FFFD), Go style.
    static func replacingInvalid(_ bytes: [UInt8]) -> [UInt8] {
        if isValid(bytes) { return bytes }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 8)
        bytes.withUnsafeBytes { p in
            var i = 0
            while i < p.count {
                let (r, w) = decodeRune(p, i)
                if r == 0xFFFD && w == 1 {
                    out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                } else {
                    out.append(contentsOf: p[i..<(i + w)])
                }
                i += w
            }
        }
        return out
    }

    /// Appends the UTF-8 encoding of a valid scalar value.
    @inline(__always)
    static func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}
