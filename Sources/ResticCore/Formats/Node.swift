/// An extended attribute of a node (`{"name":…,"value":base64}`).
public struct ExtendedAttribute: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]
    /// Go distinguishes a nil value (written `null`) from an empty one (`""`); restic writes `""`.
    public var valueIsNull: Bool

    public init(name: String, value: [UInt8], valueIsNull: Bool = false) {
        self.name = name
        self.value = value
        self.valueIsNull = valueIsNull
    }
}

/// One entry of a tree: a file, directory, symlink, device, fifo or socket.
public struct Node: Sendable, Equatable {
    /// Raw name bytes (names may be invalid UTF-8); trees sort by these bytes.
    public var name: [UInt8]
    /// "file", "dir", "symlink", "dev", "chardev", "fifo", "socket"; unknown values are kept so
    /// they can be reported.
    public var type: String
    /// Go `io/fs.FileMode` bits, see `GoFileMode` (0 = omitted).
    public var mode: UInt32 = 0
    public var mtime: GoTime = .goZero
    public var atime: GoTime = .goZero
    public var ctime: GoTime = .goZero
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var user: String?
    public var group: String?
    /// 0 = omitted, like the other integer fields below (Go `omitempty`).
    public var inode: UInt64 = 0
    public var deviceID: UInt64 = 0
    public var size: UInt64 = 0
    public var links: UInt64 = 0
    /// Raw target bytes, from `linktarget` or `linktarget_raw` (raw wins).
    public var linkTarget: [UInt8]?
    /// Set when a tree from restic < 0.16 stored an invalid-UTF-8 target lossily as `\ufffd`
    /// escapes (no `linktarget_raw`): re-encoding then writes U+FFFD as that escape again so the
    /// tree bytes stay identical. Leave false for nodes made from the filesystem.
    public var linkTargetLossy: Bool = false
    public var extendedAttributes: [ExtendedAttribute]?
    /// Name → raw JSON value (restic's `map[string]json.RawMessage`), written with sorted keys.
    public var genericAttributes: [(String, [UInt8])]?
    /// st_rdev for block and character devices.
    public var device: UInt64 = 0
    /// nil → `"content":null` (non-files); `[]` → `"content":[]` (empty file).
    public var content: [ObjectID]?
    public var subtree: ObjectID?
    public var error: String?

    /// A node with the given name and type; times are Go's zero time, everything else zero/nil.
    public init(name: [UInt8], type: String) {
        self.name = name
        self.type = type
    }

    /// The name as text, invalid bytes shown as U+FFFD (for display only).
    public var nameString: String { GoUTF8.lossyString(name) }

    /// The link target as text, invalid bytes shown as U+FFFD (for display only).
    public var linkTargetString: String? { linkTarget.map(GoUTF8.lossyString) }

    public static func == (a: Node, b: Node) -> Bool {
        guard a.name == b.name, a.type == b.type, a.mode == b.mode,
              a.mtime == b.mtime, a.atime == b.atime, a.ctime == b.ctime,
              a.uid == b.uid, a.gid == b.gid, a.user == b.user, a.group == b.group,
              a.inode == b.inode, a.deviceID == b.deviceID, a.size == b.size, a.links == b.links,
              a.linkTarget == b.linkTarget, a.linkTargetLossy == b.linkTargetLossy,
              a.extendedAttributes == b.extendedAttributes,
              a.device == b.device, a.content == b.content, a.subtree == b.subtree, a.error == b.error
        else { return false }
        switch (a.genericAttributes, b.genericAttributes) {
        case (nil, nil): return true
        case (let x?, let y?):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Node types restic's `check` accepts.
    public static let validTypes: Set<String> = ["file", "dir", "symlink", "dev", "chardev", "fifo", "socket"]
}

/// Go `io/fs.FileMode` bits as restic stores them in `mode`.
public enum GoFileMode {
    public static let dir: UInt32 = 1 << 31
    public static let append: UInt32 = 1 << 30
    public static let exclusive: UInt32 = 1 << 29
    public static let temporary: UInt32 = 1 << 28
    public static let symlink: UInt32 = 1 << 27
    public static let device: UInt32 = 1 << 26
    public static let namedPipe: UInt32 = 1 << 25
    public static let socket: UInt32 = 1 << 24
    public static let setuid: UInt32 = 1 << 23
    public static let setgid: UInt32 = 1 << 22
    public static let charDevice: UInt32 = 1 << 21
    public static let sticky: UInt32 = 1 << 20
    public static let irregular: UInt32 = 1 << 19
    public static let perm: UInt32 = 0o777
    public static let typeMask: UInt32 = dir | symlink | namedPipe | socket | device | charDevice | irregular

    /// Converts a Unix `st_mode` to the bits restic stores
    /// (`mode & (perm | type | setuid | setgid | sticky)`).
    public static func fromUnix(_ st: UInt32) -> UInt32 {
        var m = st & perm
        switch st & 0o170000 {
        case 0o040000: m |= dir
        case 0o120000: m |= symlink
        case 0o060000: m |= device
        case 0o020000: m |= device | charDevice
        case 0o010000: m |= namedPipe
        case 0o140000: m |= socket
        case 0o100000: break
        default: m |= irregular
        }
        if st & 0o4000 != 0 { m |= setuid }
        if st & 0o2000 != 0 { m |= setgid }
        if st & 0o1000 != 0 { m |= sticky }
        return m
    }

    /// The permission bits plus setuid/setgid/sticky as a Unix mode (for chmod on restore).
    public static func unixPermissions(_ m: UInt32) -> UInt32 {
        var p = m & perm
        if m & setuid != 0 { p |= 0o4000 }
        if m & setgid != 0 { p |= 0o2000 }
        if m & sticky != 0 { p |= 0o1000 }
        return p
    }
}
