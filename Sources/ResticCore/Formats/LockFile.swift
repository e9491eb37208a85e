/// A lock file (`locks/<id>`).
public struct LockFile: Sendable, Equatable {
    public var time: GoTime
    public var exclusive: Bool
    public var hostname: String
    public var username: String
    public var pid: Int
    public var uid: UInt32
    public var gid: UInt32

    public init(time: GoTime, exclusive: Bool, hostname: String, username: String, pid: Int,
                uid: UInt32 = 0, gid: UInt32 = 0) {
        self.time = time
        self.exclusive = exclusive
        self.hostname = hostname
        self.username = username
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// Go `json.Marshal` of restic's `Lock`: uid/gid left out when 0, no trailing newline.
    public func encode() -> [UInt8] {
        var w = GoJSONWriter(capacity: 160)
        w.beginObject()
        w.key("time"); w.time(time)
        w.key("exclusive"); w.bool(exclusive)
        w.key("hostname"); w.string(hostname)
        w.key("username"); w.string(username)
        w.key("pid"); w.number(pid)
        if uid != 0 { w.key("uid"); w.number(uid) }
        if gid != 0 { w.key("gid"); w.number(gid) }
        w.endObject()
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> LockFile {
        try bytes.withUnsafeBytes { p in
            var r = JSONReader(p, what: "lock")
            var lock = LockFile(time: .goZero, exclusive: false, hostname: "", username: "", pid: 0)
            try r.beginObject()
            var first = true
            while try r.nextKey(&first) {
                if try r.consumeNull() { continue }  // Go leaves the field unchanged
                if r.keyIs("time") { lock.time = try r.readOptionalTime("time") ?? lock.time }
                else if r.keyIs("exclusive") { lock.exclusive = try r.readBool("exclusive") }
                else if r.keyIs("hostname") { lock.hostname = try r.readOptionalText() ?? lock.hostname }
                else if r.keyIs("username") { lock.username = try r.readOptionalText() ?? lock.username }
                else if r.keyIs("pid") { lock.pid = try r.readInt("pid") }
                else if r.keyIs("uid") { lock.uid = try r.readUInt32("uid") }
                else if r.keyIs("gid") { lock.gid = try r.readUInt32("gid") }
                else { try r.skipValue() }
            }
            try r.finish()
            return lock
        }
    }
}
