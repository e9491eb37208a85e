/// Backup statistics stored in a snapshot (restic >= 0.17).
public struct SnapshotSummary: Sendable, Equatable {
    public var backupStart: GoTime
    public var backupEnd: GoTime
    public var filesNew = 0
    public var filesChanged = 0
    public var filesUnmodified = 0
    public var dirsNew = 0
    public var dirsChanged = 0
    public var dirsUnmodified = 0
    public var dataBlobs = 0
    public var treeBlobs = 0
    public var dataAdded: UInt64 = 0
    public var dataAddedPacked: UInt64 = 0
    public var totalFilesProcessed: UInt64 = 0
    public var totalBytesProcessed: UInt64 = 0

    public init(backupStart: GoTime, backupEnd: GoTime) {
        self.backupStart = backupStart
        self.backupEnd = backupEnd
    }

    func encode(into w: inout GoJSONWriter) {
        w.beginObject()
        w.key("backup_start"); w.time(backupStart)
        w.key("backup_end"); w.time(backupEnd)
        w.key("files_new"); w.number(filesNew)
        w.key("files_changed"); w.number(filesChanged)
        w.key("files_unmodified"); w.number(filesUnmodified)
        w.key("dirs_new"); w.number(dirsNew)
        w.key("dirs_changed"); w.number(dirsChanged)
        w.key("dirs_unmodified"); w.number(dirsUnmodified)
        w.key("data_blobs"); w.number(dataBlobs)
        w.key("tree_blobs"); w.number(treeBlobs)
        w.key("data_added"); w.number(dataAdded)
        w.key("data_added_packed"); w.number(dataAddedPacked)
        w.key("total_files_processed"); w.number(totalFilesProcessed)
        w.key("total_bytes_processed"); w.number(totalBytesProcessed)
        w.endObject()
    }

    static func decode(from r: inout JSONReader) throws -> SnapshotSummary {
        var s = SnapshotSummary(backupStart: .goZero, backupEnd: .goZero)
        try r.beginObject()
        var first = true
        while try r.nextKey(&first) {
            if try r.consumeNull() { continue }  // Go leaves a field unchanged for null
            if r.keyIs("backup_start") { s.backupStart = try r.readOptionalTime("backup_start") ?? .goZero }
            else if r.keyIs("backup_end") { s.backupEnd = try r.readOptionalTime("backup_end") ?? .goZero }
            else if r.keyIs("files_new") { s.filesNew = try r.readUInt("files_new") }
            else if r.keyIs("files_changed") { s.filesChanged = try r.readUInt("files_changed") }
            else if r.keyIs("files_unmodified") { s.filesUnmodified = try r.readUInt("files_unmodified") }
            else if r.keyIs("dirs_new") { s.dirsNew = try r.readUInt("dirs_new") }
            else if r.keyIs("dirs_changed") { s.dirsChanged = try r.readUInt("dirs_changed") }
            else if r.keyIs("dirs_unmodified") { s.dirsUnmodified = try r.readUInt("dirs_unmodified") }
            else if r.keyIs("data_blobs") { s.dataBlobs = try r.readInt("data_blobs") }
            else if r.keyIs("tree_blobs") { s.treeBlobs = try r.readInt("tree_blobs") }
            else if r.keyIs("data_added") { s.dataAdded = try r.readUInt64("data_added") }
            else if r.keyIs("data_added_packed") { s.dataAddedPacked = try r.readUInt64("data_added_packed") }
            else if r.keyIs("total_files_processed") { s.totalFilesProcessed = try r.readUInt64("total_files_processed") }
            else if r.keyIs("total_bytes_processed") { s.totalBytesProcessed = try r.readUInt64("total_bytes_processed") }
            else { try r.skipValue() }
        }
        return s
    }
}

/// A snapshot file (`snapshots/<id>`).
public struct Snapshot: Sendable, Equatable {
    public var time: GoTime
    public var parent: ObjectID?
    public var tree: ObjectID
    public var paths: [String]
    public var hostname: String
    public var username: String
    public var uid: UInt32
    public var gid: UInt32
    public var excludes: [String]
    public var tags: [String]
    /// The ID of the first version of a rewritten snapshot.
    public var original: ObjectID?
    /// e.g. "restic 0.16.0" (restic >= 0.16).
    public var programVersion: String?
    public var summary: SnapshotSummary?

    public init(time: GoTime, tree: ObjectID, paths: [String], hostname: String = "", username: String = "",
                uid: UInt32 = 0, gid: UInt32 = 0, parent: ObjectID? = nil, excludes: [String] = [],
                tags: [String] = [], original: ObjectID? = nil, programVersion: String? = nil,
                summary: SnapshotSummary? = nil) {
        self.time = time
        self.tree = tree
        self.paths = paths
        self.hostname = hostname
        self.username = username
        self.uid = uid
        self.gid = gid
        self.parent = parent
        self.excludes = excludes
        self.tags = tags
        self.original = original
        self.programVersion = programVersion
        self.summary = summary
    }

    /// Go `json.Marshal` of restic's `Snapshot`: field order of the struct, omitempty rules,
    /// no trailing newline.
    public func encode() -> [UInt8] {
        var w = GoJSONWriter(capacity: 512)
        w.beginObject()
        w.key("time"); w.time(time)
        if let parent { w.key("parent"); w.id(parent) }
        w.key("tree"); w.id(tree)
        w.key("paths"); Snapshot.writeStrings(paths, &w)
        if !hostname.isEmpty { w.key("hostname"); w.string(hostname) }
        if !username.isEmpty { w.key("username"); w.string(username) }
        if uid != 0 { w.key("uid"); w.number(uid) }
        if gid != 0 { w.key("gid"); w.number(gid) }
        if !excludes.isEmpty { w.key("excludes"); Snapshot.writeStrings(excludes, &w) }
        if !tags.isEmpty { w.key("tags"); Snapshot.writeStrings(tags, &w) }
        if let original { w.key("original"); w.id(original) }
        if let programVersion, !programVersion.isEmpty { w.key("program_version"); w.string(programVersion) }
        if let summary { w.key("summary"); summary.encode(into: &w) }
        w.endObject()
        return w.bytes
    }

    private static func writeStrings(_ list: [String], _ w: inout GoJSONWriter) {
        w.beginArray()
        for s in list { w.string(s) }
        w.endArray()
    }

    /// Decodes a snapshot; a missing or null `tree` is an error (restic's `check` would crash on it).
    public static func decode(_ bytes: [UInt8]) throws -> Snapshot {
        try bytes.withUnsafeBytes { p in
            var r = JSONReader(p, what: "snapshot")
            var sn = Snapshot(time: .goZero, tree: .zero, paths: [])
            var tree: ObjectID?
            try r.beginObject()
            var first = true
            while try r.nextKey(&first) {
                if r.keyIs("time") { if let t = try r.readOptionalTime("time") { sn.time = t } }
                else if r.keyIs("parent") { sn.parent = try r.readOptionalID("parent") }
                else if r.keyIs("tree") { tree = try r.readOptionalID("tree") }
                else if r.keyIs("paths") { sn.paths = try r.readOptionalTextArray() ?? [] }
                else if r.keyIs("hostname") { sn.hostname = try r.readOptionalText() ?? sn.hostname }
                else if r.keyIs("username") { sn.username = try r.readOptionalText() ?? sn.username }
                else if r.keyIs("uid") { if try !r.consumeNull() { sn.uid = try r.readUInt32("uid") } }
                else if r.keyIs("gid") { if try !r.consumeNull() { sn.gid = try r.readUInt32("gid") } }
                else if r.keyIs("excludes") { sn.excludes = try r.readOptionalTextArray() ?? [] }
                else if r.keyIs("tags") { sn.tags = try r.readOptionalTextArray() ?? [] }
                else if r.keyIs("original") { sn.original = try r.readOptionalID("original") }
                else if r.keyIs("program_version") { sn.programVersion = try r.readOptionalText() ?? sn.programVersion }
                else if r.keyIs("summary") {
                    sn.summary = try r.consumeNull() ? nil : SnapshotSummary.decode(from: &r)
                }
                else { try r.skipValue() }
            }
            try r.finish()
            guard let tree else { throw FormatError.invalidField("snapshot: field \"tree\" is missing or null") }
            sn.tree = tree
            return sn
        }
    }
}
