#if canImport(Glibc)
import Glibc
#endif
import ResticCore

/// Builds tree nodes from file metadata exactly as restic fills them, so that a tree of
/// unchanged files gets the same bytes (and ID) whichever program wrote it.
struct NodeFactory: Sendable {
    let owners: OwnerNames

    /// Reads what the node needs beyond `status` (extended attributes, a symlink's target) from
    /// the file system: relative to `directory` when it is open, else by path.
    func node(name: [UInt8], path: [UInt8], status st: SourceFS.Status,
              directory: SourceFS.OpenDirectory? = nil) throws -> Node? {
        guard let type = Self.type(st.mode) else { return nil }
        let attributes: [ExtendedAttribute]
        var linkTarget: [UInt8]?
        if let directory {
            attributes = SourceFS.extendedAttributes(in: directory.fd, name: name, path: path)
            if type == "symlink" { linkTarget = try SourceFS.readLink(in: directory.fd, name: name, path: path) }
        } else {
            attributes = SourceFS.extendedAttributes(path)
            if type == "symlink" { linkTarget = try SourceFS.readLink(path) }
        }
        return node(name: name, type: type, status: st, attributes: attributes, linkTarget: linkTarget)
    }

    /// restic's node type for a file mode; nil for sockets, which restic does not store.
    static func type(_ mode: UInt32) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: "file"
        case S_IFDIR: "dir"
        case S_IFLNK: "symlink"
        case S_IFBLK: "dev"
        case S_IFCHR: "chardev"
        case S_IFIFO: "fifo"
        default: nil
        }
    }

    /// The node from metadata already read (by the walker just now, or by the prefetch).
    func node(name: [UInt8], type: String, status st: SourceFS.Status, attributes: [ExtendedAttribute],
              linkTarget: [UInt8]?) -> Node {
        var node = Node(name: name, type: type)
        node.mode = GoFileMode.fromUnix(st.mode)
        node.mtime = st.mtime
        // Newer restic stores atime = mtime unless asked otherwise, which keeps unchanged
        // directories' trees identical across runs.
        node.atime = st.mtime
        node.ctime = st.ctime
        node.uid = st.uid
        node.gid = st.gid
        let user = owners.user(st.uid), group = owners.group(st.gid)
        node.user = user.isEmpty ? nil : user
        node.group = group.isEmpty ? nil : group
        node.inode = st.inode
        node.deviceID = st.device
        if !attributes.isEmpty { node.extendedAttributes = attributes }
        switch type {
        case "file":
            node.size = UInt64(max(0, st.size))
            node.links = st.links
            node.content = []
        case "symlink":
            node.linkTarget = linkTarget
            node.links = st.links
        case "dev", "chardev":
            node.device = st.rdev
            node.links = st.links
        default:
            break
        }
        return node
    }
}
