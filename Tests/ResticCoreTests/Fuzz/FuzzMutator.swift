/// The mutations of the fuzzer: byte-level ones for every format, token-level ones for JSON
/// (swap, replace, drop or repeat tokens; hostile numbers and strings; deep nesting) and
/// length-field ones for binary formats (little-endian fields set to huge or edge values).
struct FuzzMutator {
    let style: FuzzTarget.Style
    let dictionary: [[UInt8]]

    init(style: FuzzTarget.Style, dictionary: [[UInt8]]) {
        self.style = style
        self.dictionary = dictionary
    }

    static let numbers: [String] = [
        "0", "-0", "1", "-1", "255", "256", "65535", "4294967295", "4294967296", "-2147483649",
        "2147483648", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616",
        "340282366920938463463374607431768211456", "0.5", "-0.0", "1.0", "1e3", "1E400", "-1e-400",
        "2e9999999999", "1e", "01", "-", "1.", ".5", "+1", "0x10", "NaN", "Infinity", "1_000",
    ]

    static let strings: [String] = [
        #""""#, #""\u0000""#, #""\ud800""#, #""\udc00\ud800""#, #""\udbff\udfff""#, #""\x41""#, #""\""#,
        #""\/\b\f\n\r\t""#, #""\u00""#, #""2024-05-03T07:00:00Z""#, #""0000-01-01T00:00:00Z""#,
        #""9999-12-31T23:59:59.999999999999+23:59""#, #""2024-02-30T00:00:00Z""#, #""2024-05-03T24:00:00-00:00""#,
        #""-0001-01-01T00:00:00Z""#, #""2024-05-03T07:00:00.Z""#, #""2024-05-03 07:00:00Z""#,
        "\"" + String(repeating: "0", count: 64) + "\"", "\"" + String(repeating: "A", count: 64) + "\"",
        "\"" + String(repeating: "f", count: 63) + "\"", "\"" + String(repeating: "e", count: 65) + "\"",
        #""AAAA""#, #""AA==""#, #""A===""#, #""////""#, #""QUJD\nRA==""#, #""data""#, #""tree""#,
        #""scrypt""#, #""\\xff\\u2028\\U0001f600\\377\\a""#, #""\\""#, #""\\x""#, #""\\400""#,
    ]

    static let literals: [String] = [
        "null", "true", "false", "{}", "[]", "[null]", "{\"\":null}", "nul", "tru", "[[]]", ",", ":", "{", "}", "[", "]",
    ]

    static let invalidUTF8: [[UInt8]] = [
        [0xFF], [0xFE], [0x80], [0xC0, 0x80], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80],
        [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98], [0xEF, 0xBB, 0xBF], [0x00], [0x1F], [0x7F],
    ]

    static let interestingBytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 2, 3, 4]

    /// Applies 1...4 stacked mutations. Returns true when one of them built a deliberately
    /// large input (deep nesting, a very long string), which gets the larger size cap.
    mutating func mutate(_ input: inout [UInt8], rng: inout FuzzRNG, corpus: [[UInt8]]) -> Bool {
        var large = false
        // Mostly one or two mutations, so many mutants stay close enough to valid to get deep.
        let count = rng.oneIn(2) ? 1 : (rng.oneIn(2) ? 2 : 3 + rng.below(2))
        for _ in 0..<count {
            if style == .json && rng.oneIn(400) {
                large = true
                nest(&input, rng: &rng)
            } else if style == .json && rng.oneIn(300) {
                large = true
                longString(&input, rng: &rng)
            } else if style == .json && rng.oneIn(2) {
                tokenMutation(&input, rng: &rng)
            } else if style == .binary && rng.oneIn(2) {
                fieldMutation(&input, rng: &rng)
            } else {
                byteMutation(&input, rng: &rng, corpus: corpus)
            }
        }
        return large
    }

    // MARK: byte level

    private func byteMutation(_ b: inout [UInt8], rng: inout FuzzRNG, corpus: [[UInt8]]) {
        if b.isEmpty { b = [rng.pick(Self.interestingBytes)]; return }
        let i = rng.below(b.count)
        switch rng.below(9) {
        case 0: b[i] = UInt8(truncatingIfNeeded: rng.next())
        case 1: b[i] ^= 1 << UInt8(rng.below(8))
        case 2: b[i] = rng.pick(Self.interestingBytes)
        case 3: b.removeLast(b.count - i)
        case 4: b.insert(contentsOf: (0..<(1 + rng.below(8))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: i)
        case 5: b.removeSubrange(i..<min(b.count, i + 1 + rng.below(32)))
        case 6:
            let r = randomRange(b.count, max: 256, rng: &rng)
            b.insert(contentsOf: b[r], at: rng.below(b.count + 1))
        case 7:
            // Splice: our prefix, another corpus entry's suffix.
            let other = rng.pick(corpus)
            b = Array(b[..<i]) + Array(other[rng.below(other.count + 1)...])
        default: b.insert(contentsOf: rng.pick(Self.invalidUTF8), at: i)
        }
    }

    private func randomRange(_ count: Int, max: Int, rng: inout FuzzRNG) -> Range<Int> {
        let start = rng.below(count)
        return start..<min(count, start + 1 + rng.below(max))
    }

    // MARK: binary length fields

    private func fieldMutation(_ b: inout [UInt8], rng: inout FuzzRNG) {
        guard b.count >= 4 else { b += [0xFF, 0xFF, 0xFF, 0xFF]; return }
        let values: [UInt64] = [0, 1, 31, 32, 33, 36, 37, 41, 73, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE,
                                UInt64(b.count), UInt64(b.count) &- 4, UInt64(b.count) + 1, 16 << 20, (16 << 20) + 4,
                                1 << 40, UInt64.max, 128 * 1024, 512 << 20]
        let width = rng.oneIn(4) && b.count >= 8 ? 8 : (rng.oneIn(3) ? 3 : 4)
        // Half the time hit the places binary formats keep lengths: the tail and entry fields.
        let at: Int
        switch rng.below(4) {
        case 0: at = b.count - width
        case 1: at = min(b.count - width, 1 + 37 * rng.below(max(1, b.count / 37)))
        case 2: at = min(b.count - width, 1 + 41 * rng.below(max(1, b.count / 41)) + (rng.oneIn(2) ? 4 : 0))
        default: at = rng.below(b.count - width + 1)
        }
        var v = rng.pick(values)
        if rng.oneIn(8) { v = rng.next() }
        for k in 0..<width { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
    }

    // MARK: JSON tokens

    /// Byte ranges of JSON-ish tokens (strings with their quotes, numbers, words, punctuation).
    static func tokens(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        let n = b.count
        func isNumber(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B || c == 0x2E || c == 0x65 || c == 0x45 }
        func isWord(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) }
        while i < n {
            let c = b[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1; continue }
            var j = i + 1
            if c == 0x22 {
                while j < n && b[j] != 0x22 { j += b[j] == 0x5C ? 2 : 1 }
                j = min(j + 1, n)
            } else if isNumber(c) {
                while j < n && isNumber(b[j]) { j += 1 }
            } else if isWord(c) {
                while j < n && isWord(b[j]) { j += 1 }
            }
            out.append(i..<j)
            i = j
        }
        return out
    }

    private func tokenMutation(_ b: inout [UInt8], rng: inout FuzzRNG) {
        let toks = Self.tokens(b)
        guard toks.count >= 2 else { b += Array(rng.pick(Self.literals).utf8); return }
        let t = rng.pick(toks)
        switch rng.below(7) {
        case 0:  // swap two tokens
            let u = rng.pick(toks)
            let (a, z) = t.lowerBound < u.lowerBound ? (t, u) : (u, t)
            guard a != z, a.upperBound <= z.lowerBound else { return }
            b = Array(b[..<a.lowerBound]) + Array(b[z]) + Array(b[a.upperBound..<z.lowerBound]) + Array(b[a]) + Array(b[z.upperBound...])
        case 1:  // a number (or anything) becomes a hostile number
            let numeric = toks.filter { b[$0.lowerBound] == 0x2D || (b[$0.lowerBound] >= 0x30 && b[$0.lowerBound] <= 0x39) }
            b.replaceSubrange(numeric.isEmpty ? t : rng.pick(numeric), with: Array(rng.pick(Self.numbers).utf8))
        case 2:
            let strings = toks.filter { b[$0.lowerBound] == 0x22 }
            b.replaceSubrange(strings.isEmpty ? t : rng.pick(strings), with: Array(rng.pick(Self.strings).utf8))
        case 3: b.replaceSubrange(t, with: Array(rng.pick(Self.literals).utf8))
        case 4: b.removeSubrange(t)
        case 5: b.insert(contentsOf: b[t], at: rng.pick(toks).lowerBound)
        default:
            // A format word as a key or as a value.
            guard !dictionary.isEmpty else { return }
            let word = [0x22] + rng.pick(dictionary) + [0x22]
            b.replaceSubrange(t, with: rng.oneIn(2) ? word : word + Array(":".utf8) + Array(rng.pick(Self.literals + Self.numbers).utf8) + [0x2C])
        }
    }

    /// Deep nesting at a token boundary: 100k `[` or `{"a":` with or without their closers.
    private func nest(_ b: inout [UInt8], rng: inout FuzzRNG) {
        let depth = rng.pick([100, 9_999, 10_000, 10_001, 50_000])
        let open: [UInt8] = rng.oneIn(2) ? Array("[".utf8) : Array("{\"a\":".utf8)
        let close: [UInt8] = open.count == 1 ? Array("]".utf8) : Array("}".utf8)
        let at = rng.pick(Self.tokens(b).map(\.lowerBound) + [b.count])
        var middle = [UInt8](); middle.reserveCapacity(depth * (open.count + close.count) + 4)
        for _ in 0..<depth { middle += open }
        middle += Array("0".utf8)
        if rng.oneIn(2) { for _ in 0..<depth { middle += close } }
        b.insert(contentsOf: middle, at: at)
    }

    /// A very long string or number in place of a token.
    private func longString(_ b: inout [UInt8], rng: inout FuzzRNG) {
        let length = rng.pick([1_000, 65_536, 200_000])
        let body: [UInt8]
        switch rng.below(4) {
        case 0: body = [0x22] + [UInt8](repeating: 0x61, count: length) + [0x22]
        case 1: body = [0x22] + Array(repeating: Array("\\u00e9".utf8), count: length / 6).flatMap { $0 } + [0x22]
        case 2: body = [0x22] + [UInt8](repeating: 0xFF, count: length) + [0x22]
        default: body = [UInt8](repeating: 0x39, count: length)
        }
        let toks = Self.tokens(b)
        if toks.isEmpty { b += body } else { b.replaceSubrange(rng.pick(toks), with: body) }
    }
}
