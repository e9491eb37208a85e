extension FormatError {
    /// The same error with `context` put in front of its message (e.g. "node 3").
    func adding(context: String) -> FormatError {
        switch self {
        case .malformedJSON(let m): return .malformedJSON("\(context): \(m)")
        case .invalidField(let m): return .invalidField("\(context): \(m)")
        case .unsupported(let m): return .unsupported("\(context): \(m)")
        }
    }
}

extension Node {
    /// The node as Go's `json.Marshal` writes it inside a tree (restic's `Node.MarshalJSON`).
    public func encodeJSON() -> [UInt8] {
        var w = GoJSONWriter(capacity: 512)
        encode(into: &w)
        return w.bytes
    }

    /// Appends this node as one JSON value; field order and omitempty rules follow restic's
    /// `Node` struct.
    public func encode(into w: inout GoJSONWriter) {
        w.beginObject()
        w.key("name"); w.string(bytes: GoStrconv.quoteContents(name))
        w.key("type"); w.string(type)
        if mode != 0 { w.key("mode"); w.number(mode) }
        w.key("mtime"); w.time(mtime)
        w.key("atime"); w.time(atime)
        w.key("ctime"); w.time(ctime)
        w.key("uid"); w.number(uid)
        w.key("gid"); w.number(gid)
        if let user, !user.isEmpty { w.key("user"); w.string(user) }
        if let group, !group.isEmpty { w.key("group"); w.string(group) }
        if inode != 0 { w.key("inode"); w.number(inode) }
        if deviceID != 0 { w.key("device_id"); w.number(deviceID) }
        if size != 0 { w.key("size"); w.number(size) }
        if links != 0 { w.key("links"); w.number(links) }
        if let target = linkTarget, !target.isEmpty {
            let valid = GoUTF8.isValid(target)
            w.key("linktarget")
            w.string(bytes: target, escapingReplacementCharacter: linkTargetLossy && valid)
            if !valid { w.key("linktarget_raw"); w.base64(target) }
        }
        if let attrs = extendedAttributes, !attrs.isEmpty {
            w.key("extended_attributes")
            w.beginArray()
            for a in attrs {
                w.beginObject()
                w.key("name"); w.string(a.name)
                w.key("value"); w.base64(a.valueIsNull ? nil : a.value)
                w.endObject()
            }
            w.endArray()
        }
        if let generic = genericAttributes, !generic.isEmpty {
            w.key("generic_attributes")
            w.beginObject()
            for (k, v) in Node.sortedUnique(generic) {
                w.key(k)
                w.raw(RawJSON.compact(v))
            }
            w.endObject()
        }
        if device != 0 { w.key("device"); w.number(device) }
        w.key("content")
        if let content {
            w.beginArray()
            for id in content { w.id(id) }
            w.endArray()
        } else {
            w.null()
        }
        if let subtree { w.key("subtree"); w.id(subtree) }
        if let error, !error.isEmpty { w.key("error"); w.string(error) }
        w.endObject()
    }

    /// Go map semantics: one value per key (the last), keys in byte order.
    static func sortedUnique(_ pairs: [(String, [UInt8])]) -> [(String, [UInt8])] {
        var byKey: [String: [UInt8]] = [:]
        for (k, v) in pairs { byKey[k] = v }
        return byKey.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            .map { ($0.key, $0.value) }
    }

    /// Decodes one node from its JSON (restic's `Node.UnmarshalJSON`).
    public static func decodeJSON(_ bytes: [UInt8]) throws -> Node {
        try bytes.withUnsafeBytes { p in
            var r = JSONReader(p, what: "node")
            let node = try decode(from: &r)
            try r.finish()
            return node
        }
    }

    static func decode(from r: inout JSONReader) throws -> Node {
        var node = Node(name: [], type: "")
        var quotedName: [UInt8] = []
        var rawTarget: [UInt8]?
        var target: [UInt8]?
        var targetEscapes = 0
        try r.beginObject()
        var first = true
        while try r.nextKey(&first) {
            if r.keyIs("name") {
                if let v = try r.readOptionalString() { quotedName = v }
            } else if r.keyIs("type") {
                if let v = try r.readOptionalText() { node.type = v }
            } else if r.keyIs("mode") {
                if try !r.consumeNull() { node.mode = try r.readUInt32("mode") }
            } else if r.keyIs("mtime") {
                if let t = try r.readOptionalTime("mtime") { node.mtime = t }
            } else if r.keyIs("atime") {
                if let t = try r.readOptionalTime("atime") { node.atime = t }
            } else if r.keyIs("ctime") {
                if let t = try r.readOptionalTime("ctime") { node.ctime = t }
            } else if r.keyIs("uid") {
                if try !r.consumeNull() { node.uid = try r.readUInt32("uid") }
            } else if r.keyIs("gid") {
                if try !r.consumeNull() { node.gid = try r.readUInt32("gid") }
            } else if r.keyIs("user") {
                if let v = try r.readOptionalText() { node.user = v }
            } else if r.keyIs("group") {
                if let v = try r.readOptionalText() { node.group = v }
            } else if r.keyIs("inode") {
                if try !r.consumeNull() { node.inode = try r.readUInt64("inode") }
            } else if r.keyIs("device_id") {
                if try !r.consumeNull() { node.deviceID = try r.readUInt64("device_id") }
            } else if r.keyIs("size") {
                if try !r.consumeNull() { node.size = try r.readUInt64("size") }
            } else if r.keyIs("links") {
                if try !r.consumeNull() { node.links = try r.readUInt64("links") }
            } else if r.keyIs("linktarget") {
                if let v = try r.readOptionalString() {
                    target = v
                    targetEscapes = r.lastStringReplacementEscapes
                }
            } else if r.keyIs("linktarget_raw") {
                if let v = try r.readOptionalBase64("linktarget_raw") { rawTarget = v }
            } else if r.keyIs("extended_attributes") {
                node.extendedAttributes = try decodeExtendedAttributes(&r)
            } else if r.keyIs("generic_attributes") {
                node.genericAttributes = try decodeGenericAttributes(&r)
            } else if r.keyIs("device") {
                if try !r.consumeNull() { node.device = try r.readUInt64("device") }
            } else if r.keyIs("content") {
                node.content = try decodeIDList(&r, field: "content")
            } else if r.keyIs("subtree") {
                node.subtree = try r.readOptionalID("subtree")
            } else if r.keyIs("error") {
                if let v = try r.readOptionalText() { node.error = v }
            } else {
                try r.skipValue()
            }
        }
        node.name = try GoStrconv.unquoteContents(quotedName)
        if let rawTarget {
            node.linkTarget = rawTarget
        } else if let target {
            node.linkTarget = target
            node.linkTargetLossy = targetEscapes > 0 && countReplacementChars(target) == targetEscapes
        }
        return node
    }

    private static func countReplacementChars(_ b: [UInt8]) -> Int {
        var n = 0
        var i = 0
        while i + 2 < b.count {
            if b[i] == 0xEF && b[i + 1] == 0xBF && b[i + 2] == 0xBD { n += 1; i += 3 } else { i += 1 }
        }
        return n
    }

    static func decodeIDList(_ r: inout JSONReader, field: String) throws -> [ObjectID]? {
        if try r.consumeNull() { return nil }
        try r.beginArray()
        var ids: [ObjectID] = []
        var first = true
        while try r.nextElement(&first) { ids.append(try r.readID(field)) }
        return ids
    }

    private static func decodeExtendedAttributes(_ r: inout JSONReader) throws -> [ExtendedAttribute]? {
        if try r.consumeNull() { return nil }
        try r.beginArray()
        var attrs: [ExtendedAttribute] = []
        var first = true
        while try r.nextElement(&first) {
            var attr = ExtendedAttribute(name: "", value: [], valueIsNull: true)
            if try !r.consumeNull() {
                try r.beginObject()
                var firstKey = true
                while try r.nextKey(&firstKey) {
                    if r.keyIs("name") {
                        if let v = try r.readOptionalText() { attr.name = v }
                    } else if r.keyIs("value") {
                        let v = try r.readOptionalBase64("extended attribute value")
                        attr.value = v ?? []
                        attr.valueIsNull = v == nil
                    } else {
                        try r.skipValue()
                    }
                }
            }
            attrs.append(attr)
        }
        return attrs
    }

    private static func decodeGenericAttributes(_ r: inout JSONReader) throws -> [(String, [UInt8])]? {
        if try r.consumeNull() { return nil }
        try r.beginObject()
        var attrs: [(String, [UInt8])] = []
        // Looked up by hash: a linear search per key made a hostile tree with many keys quadratic.
        var positions: [String: Int] = [:]
        var first = true
        while try r.nextKey(&first) {
            let key = r.currentKey
            let value = try r.readRawValue()
            if let i = positions[key] {
                attrs[i].1 = value  // a repeated key replaces the value, as in a Go map
            } else {
                positions[key] = attrs.count
                attrs.append((key, value))
            }
        }
        return attrs
    }
}
