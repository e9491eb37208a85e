#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import CLibcExtras

/// What restore needs of a node once the walk is done: a plan keeps one per entry, so it
/// leaves out the name, content list, user and group names and the rest a `Node` carries.
struct EntryMeta: Sendable {
    enum Special: UInt8, Sendable {
        case none, symlink, fifo, charDevice, blockDevice
    }

    /// Symlink targets and extended attributes are rare: kept out of line.
    final class Extras: Sendable {
        let linkTarget: [UInt8]
        let attributes: [ExtendedAttribute]

        init(linkTarget: [UInt8], attributes: [ExtendedAttribute]) {
            self.linkTarget = linkTarget
            self.attributes = attributes
        }
    }

    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var special: Special
    var atime: GoTime
    var mtime: GoTime
    var device: UInt64
    var extras: Extras?

    init(_ node: Node) {
        mode = node.mode
        uid = node.uid
        gid = node.gid
        switch node.type {
        case "symlink": special = .symlink
        case "fifo": special = .fifo
        case "chardev": special = .charDevice
        case "dev": special = .blockDevice
        default: special = .none
        }
        atime = node.atime
        mtime = node.mtime
        device = node.device
        let attributes = node.extendedAttributes ?? []
        if node.linkTarget != nil || !attributes.isEmpty {
            extras = Extras(linkTarget: node.linkTarget ?? [], attributes: attributes)
        }
    }

    var linkTarget: [UInt8] { extras?.linkTarget ?? [] }
    var attributes: [ExtendedAttribute] { extras?.attributes ?? [] }
}

/// Owner, extended attributes, mode and times of a restored entry. The order matters: chown
/// clears setuid/setgid bits and file capabilities, so it goes first; the times go last.
enum EntryMetadata {
    /// Through an open descriptor of a regular file: no path walk per call. Owner and mode are
    /// set only where they differ: each change is an inode update in the file system's journal,
    /// and most files are created with the right ones already (see `creationMode`).
    static func apply(_ node: EntryMeta, fd: Int32, path: RawPath, ownership: Bool) throws {
        var st = stat()
        let known = fstat(fd, &st) == 0
        let permissions = permissions(node)
        // An xattr such as security.capability is dropped by chown, so with attributes the
        // order chown, xattrs, chmod is kept whatever the owner is.
        if ownership && (!known || st.st_uid != node.uid || st.st_gid != node.gid || !node.attributes.isEmpty) {
            if fchown(fd, node.uid, node.gid) != 0 { throw FS.failure("lchown", path) }
        }
        for attribute in node.attributes {
            let result = attribute.value.withUnsafeBytes { fsetxattr(fd, attribute.name, $0.baseAddress, $0.count, 0) }
            if result != 0 { throw FS.failure("set extended attribute \(attribute.name) on", path) }
        }
        if !known || st.st_mode & 0o7777 != permissions || !node.attributes.isEmpty {
            if fchmod(fd, permissions) != 0 { throw FS.failure("chmod", path) }
        }
        let result = withTimes(node) { futimens(fd, $0) }
        if result != 0 { throw FS.failure("set times of", path) }
    }

    /// By path, never following a symlink: for directories, links and devices.
    static func apply(_ node: EntryMeta, path: RawPath, ownership: Bool) throws {
        try path.withCString { cPath in
            if ownership && lchown(cPath, node.uid, node.gid) != 0 { throw FS.failure("lchown", path) }
            for attribute in node.attributes {
                let result = attribute.value.withUnsafeBytes { lsetxattr(cPath, attribute.name, $0.baseAddress, $0.count, 0) }
                if result != 0 { throw FS.failure("set extended attribute \(attribute.name) on", path) }
            }
            // A symlink's own mode cannot be set on Linux; chmod would change its target.
            if node.special != .symlink && chmod(cPath, permissions(node)) != 0 { throw FS.failure("chmod", path) }
            let result = withTimes(node) { utimensat(AT_FDCWD, cPath, $0, AT_SYMLINK_NOFOLLOW) }
            if result != 0 { throw FS.failure("set times of", path) }
        }
    }

    /// The mode a regular file is created with: its final permission bits when this process
    /// already is its owner (owner read and write added, so its pieces can be written and the
    /// file reopened), otherwise owner-only until chown and chmod make it final, so no one else
    /// reads it in between. Special bits always wait for chmod, which follows chown.
    static func creationMode(_ node: EntryMeta, ownership: Bool) -> mode_t {
        let ownedAlready = !ownership || (node.uid == Self.user && node.gid == Self.group)
        return ownedAlready ? (permissions(node) & 0o777) | 0o600 : 0o600
    }

    private static let user = geteuid()
    private static let group = getegid()

    static func permissions(_ node: EntryMeta) -> mode_t {
        mode_t(GoFileMode.unixPermissions(node.mode))
    }

    /// Access and modification time as the two-element array the calls take, on the stack.
    private static func withTimes(_ node: EntryMeta, _ body: (UnsafePointer<timespec>) -> Int32) -> Int32 {
        var times = (timespec(tv_sec: Int(node.atime.seconds), tv_nsec: Int(node.atime.nanoseconds)),
                     timespec(tv_sec: Int(node.mtime.seconds), tv_nsec: Int(node.mtime.nanoseconds)))
        return withUnsafePointer(to: &times) { pair in
            pair.withMemoryRebound(to: timespec.self, capacity: 2) { body($0) }
        }
    }
}
