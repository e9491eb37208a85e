import ResticCore
import ResticRepository

/// `--json` snapshot lists in restic's shape: each snapshot's own JSON plus `id` and `short_id`.
enum SnapshotJSON {
    static func object(_ record: SnapshotRecord) -> [UInt8] {
        var bytes = record.snapshot.encode()
        guard bytes.last == UInt8(ascii: "}") else { return bytes }
        bytes.removeLast()
        var tail = GoJSONWriter()
        tail.key("id"); tail.string(record.id.hex)
        tail.key("short_id"); tail.string(record.id.shortHex)
        return bytes + Array(",".utf8) + tail.bytes + Array("}".utf8)
    }

    static func array(_ records: [SnapshotRecord]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, record) in records.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += object(record)
        }
        return out + Array("]\n".utf8)
    }

    static func groups(_ groups: [SnapshotGrouping.Group], _ grouping: SnapshotGrouping) -> [UInt8] {
        var out = GoJSONWriter()
        out.beginArray()
        for (i, group) in groups.enumerated() {
            if i > 0 { out.comma() }
            out.beginObject()
            out.key("group_key")
            out.beginObject()
            out.key("hostname"); out.string(group.key.hostname)
            out.comma(); out.key("paths"); stringsOrNull(&out, grouping.paths ? group.key.paths : nil)
            // restic's key holds the snapshot's tag list, which is null when it has none.
            out.comma(); out.key("tags"); stringsOrNull(&out, grouping.tags && !group.key.tags.isEmpty ? group.key.tags : nil)
            out.endObject()
            out.comma(); out.key("snapshots")
            out.raw(array(group.records).dropLast())
            out.endObject()
        }
        out.endArray()
        return out.bytes + [10]
    }

    static func stringsOrNull(_ out: inout GoJSONWriter, _ values: [String]?) {
        guard let values else { out.null(); return }
        out.beginArray()
        for (i, value) in values.enumerated() {
            if i > 0 { out.comma() }
            out.string(value)
        }
        out.endArray()
    }
}
