/// A key file (`keys/<id>`, plain JSON): scrypt parameters and the master key encrypted with
/// the key derived from one password.
public struct KeyFile: Sendable, Equatable {
    /// Kept as the raw RFC 3339 text so the file re-encodes byte for byte.
    public var created: String
    public var username: String
    public var hostname: String
    /// Always "scrypt".
    public var kdf: String
    public var n: Int
    public var r: Int
    public var p: Int
    public var salt: [UInt8]
    /// IV ‖ AES-256-CTR(master-key JSON) ‖ Poly1305 MAC.
    public var data: [UInt8]

    public init(created: String, username: String, hostname: String, kdf: String = "scrypt",
                n: Int, r: Int, p: Int, salt: [UInt8], data: [UInt8]) {
        self.created = created
        self.username = username
        self.hostname = hostname
        self.kdf = kdf
        self.n = n
        self.r = r
        self.p = p
        self.salt = salt
        self.data = data
    }

    /// `created` parsed, or nil when it is not valid RFC 3339.
    public var createdTime: GoTime? { GoTime(rfc3339: created) }

    /// Go `json.Marshal` of restic's `Key` (capital `N`, lower `r` and `p`), no trailing newline.
    public func encode() -> [UInt8] {
        var w = GoJSONWriter(capacity: 512)
        w.beginObject()
        w.key("created"); w.string(created)
        w.key("username"); w.string(username)
        w.key("hostname"); w.string(hostname)
        w.key("kdf"); w.string(kdf)
        w.key("N"); w.number(n)
        w.key("r"); w.number(r)
        w.key("p"); w.number(p)
        w.key("salt"); w.base64(salt)
        w.key("data"); w.base64(data)
        w.endObject()
        return w.bytes
    }

    /// Decodes a key file; rejects a KDF other than scrypt and an invalid `created` time.
    public static func decode(_ bytes: [UInt8]) throws -> KeyFile {
        try bytes.withUnsafeBytes { buf in
            var rd = JSONReader(buf, what: "key file")
            var k = KeyFile(created: GoTime.goZero.rfc3339, username: "", hostname: "", kdf: "",
                            n: 0, r: 0, p: 0, salt: [], data: [])
            try rd.beginObject()
            var first = true
            while try rd.nextKey(&first) {
                if rd.keyIs("created") {
                    if try !rd.consumeNull() {
                        let raw = try rd.readRawStringContents("created")
                        let text = String(decoding: UnsafeRawBufferPointer(rebasing: raw), as: UTF8.self)
                        guard GoTime(rfc3339Bytes: UnsafeRawBufferPointer(rebasing: raw)) != nil else {
                            throw FormatError.invalidField("key file: created \"\(text)\" is not an RFC 3339 time")
                        }
                        k.created = text
                    }
                } else if rd.keyIs("username") { k.username = try rd.readOptionalText() ?? k.username }
                else if rd.keyIs("hostname") { k.hostname = try rd.readOptionalText() ?? k.hostname }
                else if rd.keyIs("kdf") { k.kdf = try rd.readOptionalText() ?? k.kdf }
                else if rd.keyIs("N") { if try !rd.consumeNull() { k.n = try rd.readInt("N") } }
                else if rd.keyIs("r") { if try !rd.consumeNull() { k.r = try rd.readInt("r") } }
                else if rd.keyIs("p") { if try !rd.consumeNull() { k.p = try rd.readInt("p") } }
                else if rd.keyIs("salt") { k.salt = try rd.readOptionalBase64("salt") ?? [] }
                else if rd.keyIs("data") { k.data = try rd.readOptionalBase64("data") ?? [] }
                else { try rd.skipValue() }
            }
            try rd.finish()
            guard k.kdf == "scrypt" else {
                throw FormatError.unsupported("key file: KDF \"\(k.kdf)\" (only scrypt is supported)")
            }
            return k
        }
    }
}
