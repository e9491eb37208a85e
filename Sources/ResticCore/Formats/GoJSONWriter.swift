/// Writes compact JSON exactly as Go's `encoding/json` (with its default HTML escaping) does.
///
/// Commas are inserted automatically between members and elements; `comma()` is accepted and
/// idempotent for callers that prefer to place them. Keys are written in call order (Go writes
/// struct fields in declaration order, map keys sorted).
public struct GoJSONWriter: Sendable {
    public var bytes: [UInt8]
    private var needsComma = false

    public init() { bytes = [] }

    public init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = false
    }

    /// Makes sure a separator is in place before the next member or element.
    public mutating func comma() {
        separate()
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes `"key":`; the next call writes the value.
    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ s: String) {
        separate()
        appendQuoted(s)
        needsComma = true
    }

    /// A Go string holding arbitrary bytes: invalid UTF-8 is written as `\ufffd` per byte.
    public mutating func string(bytes s: [UInt8]) {
        separate()
        s.withUnsafeBytes { appendQuoted($0, escapeReplacementChar: false) }
        needsComma = true
    }

    /// Like `string(bytes:)` but also writes valid U+FFFD as the escape `\ufffd`, which is how
    /// a string decoded from a lossy `\ufffd` escape is re-encoded byte-exactly.
    mutating func string(bytes s: [UInt8], escapingReplacementCharacter: Bool) {
        separate()
        s.withUnsafeBytes { appendQuoted($0, escapeReplacementChar: escapingReplacementCharacter) }
        needsComma = true
    }

    /// Pre-encoded JSON, written verbatim as one value.
    public mutating func raw(_ json: some Sequence<UInt8>) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    public mutating func number<T: BinaryInteger>(_ v: T) {
        separate()
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendDecimal(UInt64(truncatingIfNeeded: v.magnitude))
        } else {
            appendDecimal(UInt64(truncatingIfNeeded: v))
        }
        needsComma = true
    }

    // Concrete overloads keep hot paths (index encoding) free of generic dispatch.
    public mutating func number(_ v: UInt64) {
        separate()
        appendDecimal(v)
        needsComma = true
    }

    public mutating func number(_ v: UInt32) { number(UInt64(v)) }

    public mutating func number(_ v: Int) {
        separate()
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(v.magnitude.toUInt64)
        needsComma = true
    }

    public mutating func number(_ v: Int64) { number(Int(v)) }

    /// A float64 as Go writes it: shortest round-trip digits, `e` notation below 1e-6 and from
    /// 1e21 on (exponent without leading zero). NaN and infinities, which Go refuses, become null.
    public mutating func number(_ v: Double) {
        separate()
        bytes.append(contentsOf: GoFloat.format(v))
        needsComma = true
    }

    public mutating func bool(_ v: Bool) {
        separate()
        bytes.append(contentsOf: v ? Array("true".utf8) : Array("false".utf8))
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        needsComma = true
    }

    /// A `[]byte` value: base64 string, or null when `value` is nil.
    public mutating func base64(_ value: [UInt8]?) {
        guard let value else { null(); return }
        separate()
        bytes.append(0x22)
        Base64.appendEncoded(value, to: &bytes)
        bytes.append(0x22)
        needsComma = true
    }

    /// A `time.Time` value in RFC 3339 with nanoseconds; years outside 0...9999 are clamped
    /// first like restic's `fixTime` (Go itself refuses to marshal them).
    public mutating func time(_ t: GoTime) {
        separate()
        bytes.append(0x22)
        t.clampedForJSON.appendRFC3339(to: &bytes)
        bytes.append(0x22)
        needsComma = true
    }

    public mutating func id(_ id: ObjectID) {
        separate()
        bytes.append(0x22)
        GoJSONWriter.appendHex(id, to: &bytes)
        bytes.append(0x22)
        needsComma = true
    }

    // MARK: helpers

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    @inline(__always)
    static func hexDigit(_ v: UInt64) -> UInt8 {
        let n = UInt8(truncatingIfNeeded: v & 0xF)
        return n < 10 ? 0x30 &+ n : 0x57 &+ n
    }

    static func appendHex(_ id: ObjectID, to out: inout [UInt8]) {
        @inline(__always) func word(_ w: UInt64) {
            var shift: UInt64 = 60
            for _ in 0..<16 {
                out.append(hexDigit(w >> shift))
                shift &-= 4
            }
        }
        word(id.w0); word(id.w1); word(id.w2); word(id.w3)
    }

    private mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            bytes.append(0x30 &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var m = value
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes; UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &scratch) { digits in
            var i = digits.count
            while m > 0 {
                i -= 1
                digits[i] = 0x30 &+ UInt8(truncatingIfNeeded: m % 10)
                m /= 10
            }
            bytes.append(contentsOf: digits[i...])
        }
    }

    private mutating func appendQuoted(_ s: String) {
        var s = s
        s.withUTF8 { p in appendQuoted(UnsafeRawBufferPointer(p), escapeReplacementChar: false) }
    }

    // Bytes that go out unchanged: printable ASCII except `"` `\` `<` `>` `&`.
    private static let safeASCII: [Bool] = (0..<128).map { c in
        c >= 0x20 && c != 0x22 && c != 0x5C && c != 0x3C && c != 0x3E && c != 0x26
    }

    private mutating func appendQuoted(_ p: UnsafeRawBufferPointer, escapeReplacementChar: Bool) {
        bytes.append(0x22)
        var i = 0
        var runStart = 0
        while i < p.count {
            let c = p[i]
            if c < 0x80 {
                if GoJSONWriter.safeASCII[Int(c)] { i += 1; continue }
                if runStart < i { bytes.append(contentsOf: p[runStart..<i]) }
                bytes.append(0x5C)
                switch c {
                case 0x22, 0x5C: bytes.append(c)
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))  // Go >= 1.22; older Go wrote \u0008
                case 0x0C: bytes.append(UInt8(ascii: "f"))  // Go >= 1.22; older Go wrote \u000c
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30])
                    bytes.append(GoJSONWriter.hexDigits[Int(c >> 4)])
                    bytes.append(GoJSONWriter.hexDigits[Int(c & 0xF)])
                }
                i += 1
                runStart = i
                continue
            }
            let (r, w) = GoUTF8.decodeRune(p, i)
            let invalid = r == 0xFFFD && w == 1
            if invalid || r == 0x2028 || r == 0x2029 || (r == 0xFFFD && escapeReplacementChar) {
                if runStart < i { bytes.append(contentsOf: p[runStart..<i]) }
                let tail: [UInt8] = r == 0x2028 ? Array("2028".utf8) : r == 0x2029 ? Array("2029".utf8) : Array("fffd".utf8)
                bytes.append(0x5C)
                bytes.append(UInt8(ascii: "u"))
                bytes.append(contentsOf: tail)
                i += w
                runStart = i
                continue
            }
            i += w
        }
        if runStart < p.count { bytes.append(contentsOf: p[runStart..<p.count]) }
        bytes.append(0x22)
    }
}

private extension UInt {
    var toUInt64: UInt64 { UInt64(self) }
}
