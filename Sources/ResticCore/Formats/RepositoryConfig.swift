/// The repository `config` file (plaintext JSON inside its encryption).
public struct RepositoryConfig: Sendable, Equatable {
    public static let minVersion = 1
    public static let maxVersion = 2

    /// 1 (no compression) or 2 (zstd).
    public var version: Int
    /// 64 lowercase hex digits.
    public var id: String
    /// The chunker's irreducible polynomial (degree 53); irreducibility is not checked here.
    public var chunkerPolynomial: UInt64

    public init(version: Int, id: String, chunkerPolynomial: UInt64) {
        self.version = version
        self.id = id
        self.chunkerPolynomial = chunkerPolynomial
    }

    /// `{"version":N,"id":"…","chunker_polynomial":"<hex without 0x>"}`, no trailing newline.
    public func encode() -> [UInt8] {
        var w = GoJSONWriter(capacity: 128)
        w.beginObject()
        w.key("version"); w.number(version)
        w.key("id"); w.string(id)
        w.key("chunker_polynomial"); w.string(String(chunkerPolynomial, radix: 16))
        w.endObject()
        return w.bytes
    }

    /// Decodes a config; accepts the trailing newline of very old repositories; requires
    /// version 1...2, a non-empty id and a hex polynomial.
    public static func decode(_ bytes: [UInt8]) throws -> RepositoryConfig {
        try bytes.withUnsafeBytes { p in
            var r = JSONReader(p, what: "config")
            var version: Int?
            var id = ""
            var pol: UInt64?
            try r.beginObject()
            var first = true
            while try r.nextKey(&first) {
                if r.keyIs("version") {
                    if try !r.consumeNull() { version = try r.readUInt("version") }
                } else if r.keyIs("id") {
                    id = try r.readOptionalText() ?? id
                } else if r.keyIs("chunker_polynomial") {
                    if try !r.consumeNull() {
                        let raw = try r.readRawStringContents("chunker_polynomial")
                        guard let v = parseHex(raw) else {
                            let text = String(decoding: UnsafeRawBufferPointer(rebasing: raw), as: UTF8.self)
                            throw FormatError.invalidField("config: chunker_polynomial \"\(text)\" is not a hex number")
                        }
                        pol = v
                    }
                } else {
                    try r.skipValue()
                }
            }
            try r.finish()
            guard let version else { throw FormatError.invalidField("config: field \"version\" is missing") }
            guard (minVersion...maxVersion).contains(version) else {
                throw FormatError.unsupported("config: repository version \(version) (supported: \(minVersion) and \(maxVersion))")
            }
            guard !id.isEmpty else { throw FormatError.invalidField("config: field \"id\" is missing or empty") }
            guard let pol else { throw FormatError.invalidField("config: field \"chunker_polynomial\" is missing") }
            return RepositoryConfig(version: version, id: id, chunkerPolynomial: pol)
        }
    }

    /// Base-16 digits (either case), 1 to 16 of them, like Go's `strconv.ParseUint(s, 16, 64)`.
    private static func parseHex(_ raw: Slice<UnsafeRawBufferPointer>) -> UInt64? {
        guard !raw.isEmpty, raw.count <= 16 else { return nil }
        var v: UInt64 = 0
        for c in raw {
            guard let d = GoStrconv.hexValue(c) else { return nil }
            v = v << 4 | UInt64(d)
        }
        return v
    }
}
