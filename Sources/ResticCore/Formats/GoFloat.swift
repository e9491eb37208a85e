/// Go's `encoding/json` formatting of float64 values.
///
/// Both Go (`strconv.FormatFloat(f, 'f'|'e', -1, 64)`) and Swift's `description` produce the
/// shortest digit string that round-trips, so the digits are taken from Swift and only the
/// layout is redone in Go's style.
enum GoFloat {
    static func format(_ v: Double) -> [UInt8] {
        guard v.isFinite else { return Array("null".utf8) }
        if v == 0 { return v.sign == .minus ? Array("-0".utf8) : [0x30] }
        let (digits, pointPos) = shortestDigits(v.magnitude)
        var out: [UInt8] = v < 0 ? [UInt8(ascii: "-")] : []
        let abs = v.magnitude
        if abs < 1e-6 || abs >= 1e21 {
            // d.ddde±XX, at least two exponent digits, then Go trims "e-0X" to "e-X".
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            let exp = pointPos - 1
            out.append(UInt8(ascii: "e"))
            out.append(exp < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let e = exp.magnitude
            if e < 10 && exp >= 0 { out.append(0x30) }
            out.append(contentsOf: Array(String(e).utf8))
            return out
        }
        if pointPos <= 0 {
            out.append(0x30)
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: [UInt8](repeating: 0x30, count: -pointPos))
            out.append(contentsOf: digits)
        } else if pointPos >= digits.count {
            out.append(contentsOf: digits)
            out.append(contentsOf: [UInt8](repeating: 0x30, count: pointPos - digits.count))
        } else {
            out.append(contentsOf: digits[..<pointPos])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[pointPos...])
        }
        return out
    }

    /// Significant digits (no leading/trailing zeros) and the position of the decimal point
    /// relative to them: value = 0.d1d2d3… × 10^pointPos.
    static func shortestDigits(_ v: Double) -> (digits: [UInt8], pointPos: Int) {
        let text = Array(v.description.utf8)
        var mantissa: [UInt8] = []
        var pointAt: Int?
        var exponent = 0
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: ".") {
                pointAt = mantissa.count
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                exponent = Int(String(decoding: text[(i + 1)...], as: UTF8.self)) ?? 0
                break
            } else if c >= 0x30 && c <= 0x39 {
                mantissa.append(c)
            }
            i += 1
        }
        var pointPos = (pointAt ?? mantissa.count) + exponent
        while let first = mantissa.first, first == 0x30 {
            mantissa.removeFirst()
            pointPos -= 1
        }
        while let last = mantissa.last, last == 0x30 { mantissa.removeLast() }
        return (mantissa, pointPos)
    }
}
