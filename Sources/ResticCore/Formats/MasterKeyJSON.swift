import ResticCrypto

/// The master key JSON inside a key file's `data`:
/// `{"mac":{"k":b64,"r":b64},"encrypt":b64}`.
public struct MasterKeyJSON: Sendable, Equatable {
    /// AES-256 key, 32 bytes.
    public var encrypt: [UInt8]
    /// AES-128 key for the Poly1305 nonce, 16 bytes.
    public var macK: [UInt8]
    /// Poly1305 r, 16 bytes (may be stored unclamped; clamp before use).
    public var macR: [UInt8]

    public init(encrypt: [UInt8], macK: [UInt8], macR: [UInt8]) {
        self.encrypt = encrypt
        self.macK = macK
        self.macR = macR
    }

    /// Zeroes the key bytes in place, once they have been handed on.
    public mutating func wipe() {
        SecretBytes.wipe(&encrypt)
        SecretBytes.wipe(&macK)
        SecretBytes.wipe(&macR)
    }

    public func encode() -> [UInt8] {
        var w = GoJSONWriter(capacity: 160)
        w.beginObject()
        w.key("mac")
        w.beginObject()
        w.key("k"); w.base64(macK)
        w.key("r"); w.base64(macR)
        w.endObject()
        w.key("encrypt"); w.base64(encrypt)
        w.endObject()
        return w.bytes
    }

    /// Decodes and checks the key lengths (32/16/16) and that no part is all zero.
    public static func decode(_ bytes: [UInt8]) throws -> MasterKeyJSON {
        try bytes.withUnsafeBytes { buf in
            var rd = JSONReader(buf, what: "master key")
            var key = MasterKeyJSON(encrypt: [], macK: [], macR: [])
            try rd.beginObject()
            var first = true
            while try rd.nextKey(&first) {
                if rd.keyIs("encrypt") {
                    key.encrypt = try rd.readOptionalBase64("encrypt") ?? []
                } else if rd.keyIs("mac") {
                    if try rd.consumeNull() { continue }
                    try rd.beginObject()
                    var firstMac = true
                    while try rd.nextKey(&firstMac) {
                        if rd.keyIs("k") { key.macK = try rd.readOptionalBase64("mac.k") ?? [] }
                        else if rd.keyIs("r") { key.macR = try rd.readOptionalBase64("mac.r") ?? [] }
                        else { try rd.skipValue() }
                    }
                } else {
                    try rd.skipValue()
                }
            }
            try rd.finish()
            for (name, value, size) in [("encrypt", key.encrypt, 32), ("mac.k", key.macK, 16), ("mac.r", key.macR, 16)] {
                guard value.count == size else {
                    throw FormatError.invalidField("master key: \(name) has \(value.count) bytes, expected \(size)")
                }
                guard value.contains(where: { $0 != 0 }) else {
                    throw FormatError.invalidField("master key: \(name) is all zero")
                }
            }
            return key
        }
    }
}
