/// Standard base64 (`+/`, `=` padding) as Go's `encoding/base64.StdEncoding`, which is what
/// `encoding/json` uses for `[]byte`.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        appendEncoded(bytes, to: &out)
        return out
    }

    public static func encodeString(_ bytes: [UInt8]) -> String {
        String(decoding: encode(bytes), as: UTF8.self)
    }

    static func appendEncoded(_ bytes: [UInt8], to out: inout [UInt8]) {
        var i = 0
        let n = bytes.count
        while i + 3 <= n {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(alphabet[Int((v >> 6) & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = n - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(contentsOf: [0x3D, 0x3D])
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(alphabet[Int((v >> 6) & 63)])
            out.append(0x3D)
        }
    }

    /// Decodes like Go's `StdEncoding.DecodeString`: padding is required, CR and LF are
    /// ignored, anything else outside the alphabet is an error (nil).
    public static func decode(_ text: [UInt8]) -> [UInt8]? {
        var symbols = [UInt8]()
        symbols.reserveCapacity(text.count)
        for c in text where c != 0x0A && c != 0x0D { symbols.append(c) }
        guard symbols.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(symbols.count / 4 * 3)
        var i = 0
        while i < symbols.count {
            let a = decodeTable[Int(symbols[i])], b = decodeTable[Int(symbols[i + 1])]
            guard a != 0xFF, b != 0xFF else { return nil }
            let c3 = symbols[i + 2], c4 = symbols[i + 3]
            let last = i + 4 == symbols.count
            if c3 == 0x3D {
                guard last, c4 == 0x3D else { return nil }
                out.append(a << 2 | b >> 4)
            } else if c4 == 0x3D {
                guard last else { return nil }
                let c = decodeTable[Int(c3)]
                guard c != 0xFF else { return nil }
                out.append(a << 2 | b >> 4)
                out.append(b << 4 | c >> 2)
            } else {
                let c = decodeTable[Int(c3)], d = decodeTable[Int(c4)]
                guard c != 0xFF, d != 0xFF else { return nil }
                out.append(a << 2 | b >> 4)
                out.append(b << 4 | c >> 2)
                out.append(c << 6 | d)
            }
            i += 4
        }
        return out
    }

    public static func decode(_ text: String) -> [UInt8]? {
        decode(Array(text.utf8))
    }
}
