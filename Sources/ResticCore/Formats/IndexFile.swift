/// One blob's location as listed in an index file.
public struct IndexBlob: Sendable, Equatable {
    public var id: ObjectID
    public var type: BlobType
    public var offset: UInt32
    /// Length of the encrypted blob in the pack (crypto overhead included).
    public var length: UInt32
    /// Plaintext length after decompression; 0 = not compressed.
    public var uncompressedLength: UInt32

    public init(id: ObjectID, type: BlobType, offset: UInt32, length: UInt32, uncompressedLength: UInt32 = 0) {
        self.id = id
        self.type = type
        self.offset = offset
        self.length = length
        self.uncompressedLength = uncompressedLength
    }
}

/// A pack and the blobs an index file lists for it (in no particular order).
public struct IndexPack: Sendable, Equatable {
    public var id: ObjectID
    public var blobs: [IndexBlob]

    public init(id: ObjectID, blobs: [IndexBlob]) {
        self.id = id
        self.blobs = blobs
    }
}

/// An index file (`index/<id>`).
public struct IndexFile: Sendable, Equatable {
    public var packs: [IndexPack]
    /// Index IDs this one replaces (restic < 0.17 wrote it; now ignored but kept for round trips).
    public var supersedes: [ObjectID]

    public init(packs: [IndexPack], supersedes: [ObjectID] = []) {
        self.packs = packs
        self.supersedes = supersedes
    }

    public var blobCount: Int { packs.reduce(0) { $0 + $1.blobs.count } }

    /// As Go's `json.Encoder` writes restic's index: `{"supersedes":[…],"packs":[…]}\n`, with
    /// `supersedes` left out when empty and `uncompressed_length` only for compressed blobs.
    public func encode() -> [UInt8] {
        var w = GoJSONWriter(capacity: 64 + packs.count * 90 + blobCount * 170)
        w.beginObject()
        if !supersedes.isEmpty {
            w.key("supersedes")
            w.beginArray()
            for id in supersedes { w.id(id) }
            w.endArray()
        }
        w.key("packs")
        w.beginArray()
        for pack in packs {
            w.beginObject()
            w.key("id"); w.id(pack.id)
            w.key("blobs")
            w.beginArray()
            for b in pack.blobs {
                w.beginObject()
                w.key("id"); w.id(b.id)
                w.key("type"); w.string(b.type.rawValue)
                w.key("offset"); w.number(b.offset)
                w.key("length"); w.number(b.length)
                if b.uncompressedLength != 0 { w.key("uncompressed_length"); w.number(b.uncompressedLength) }
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        w.bytes.append(0x0A)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> IndexFile {
        try bytes.withUnsafeBytes { try decode($0) }
    }

    /// Decodes an index, or the legacy form (a bare array of packs from restic 0.1).
    /// Parses the bytes in place; only IDs and numbers are materialised.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> IndexFile {
        var r = JSONReader(bytes, what: "index")
        var index = IndexFile(packs: [])
        if r.peek() == UInt8(ascii: "[") {
            index.packs = try decodePacks(&r)
        } else {
            try r.beginObject()
            var first = true
            while try r.nextKey(&first) {
                if r.keyIs("packs") {
                    index.packs = try r.consumeNull() ? [] : decodePacks(&r)
                } else if r.keyIs("supersedes") {
                    index.supersedes = try Node.decodeIDList(&r, field: "supersedes") ?? []
                } else {
                    try r.skipValue()
                }
            }
        }
        try r.finish()
        return index
    }

    private static func decodePacks(_ r: inout JSONReader) throws -> [IndexPack] {
        try r.beginArray()
        var packs: [IndexPack] = []
        packs.reserveCapacity(max(16, r.buf.count / 4096))
        var first = true
        while try r.nextElement(&first) {
            do {
                packs.append(try decodePack(&r))
            } catch let e as FormatError {
                throw e.adding(context: "pack \(packs.count)")
            }
        }
        return packs
    }

    private static func decodePack(_ r: inout JSONReader) throws -> IndexPack {
        var pack = IndexPack(id: .zero, blobs: [])
        var sawID = false
        try r.beginObject()
        var first = true
        while try r.nextKey(&first) {
            if r.keyIs("id") {
                pack.id = try r.readID("pack id")
                sawID = true
            } else if r.keyIs("blobs") {
                pack.blobs = []
                if try r.consumeNull() { continue }
                try r.beginArray()
                var firstBlob = true
                while try r.nextElement(&firstBlob) {
                    do {
                        pack.blobs.append(try decodeBlob(&r))
                    } catch let e as FormatError {
                        throw e.adding(context: "blob \(pack.blobs.count)")
                    }
                }
            } else {
                try r.skipValue()
            }
        }
        guard sawID else { throw FormatError.invalidField("index: pack without \"id\"") }
        return pack
    }

    @inline(__always)
    private static func decodeBlob(_ r: inout JSONReader) throws -> IndexBlob {
        var blob = IndexBlob(id: .zero, type: .data, offset: 0, length: 0)
        var seen: UInt8 = 0  // bits: id, type, offset, length
        try r.beginObject()
        var first = true
        while try r.nextKey(&first) {
            if r.keyIs("id") {
                blob.id = try r.readID("blob id"); seen |= 1
            } else if r.keyIs("type") {
                blob.type = try readBlobType(&r); seen |= 2
            } else if r.keyIs("offset") {
                blob.offset = try r.readUInt32("offset"); seen |= 4
            } else if r.keyIs("length") {
                blob.length = try r.readUInt32("length"); seen |= 8
            } else if r.keyIs("uncompressed_length") {
                blob.uncompressedLength = try r.readUInt32("uncompressed_length")
            } else {
                try r.skipValue()
            }
        }
        guard seen == 15 else {
            let names = ["id", "type", "offset", "length"]
            let missing = names.indices.first(where: { seen & (1 << UInt8($0)) == 0 }).map { names[$0] } ?? "?"
            throw FormatError.invalidField("index: blob without \"\(missing)\"")
        }
        return blob
    }

    /// restic's `BlobType.UnmarshalJSON` compares the raw token with `"data"` and `"tree"`.
    @inline(__always)
    private static func readBlobType(_ r: inout JSONReader) throws -> BlobType {
        guard r.peek() == 0x22 else { throw r.typeError("blob type: expected a string, found \(r.nextKind())") }
        let p = r.pos
        let b = r.buf
        if p + 6 <= b.count && b[p + 5] == 0x22 {
            if b[p + 1] == UInt8(ascii: "d") && b[p + 2] == UInt8(ascii: "a") && b[p + 3] == UInt8(ascii: "t") && b[p + 4] == UInt8(ascii: "a") {
                r.pos += 6
                return .data
            }
            if b[p + 1] == UInt8(ascii: "t") && b[p + 2] == UInt8(ascii: "r") && b[p + 3] == UInt8(ascii: "e") && b[p + 4] == UInt8(ascii: "e") {
                r.pos += 6
                return .tree
            }
        }
        let text = String(decoding: try r.readString(), as: UTF8.self)
        throw FormatError.invalidField("index: unknown blob type \"\(text)\"")
    }
}
