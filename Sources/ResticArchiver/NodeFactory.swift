#if canImport(Glibc)
import Glibc
#endif
import ResticCore

/// Builds tree nodes from file metadata exactly as restic fills them, so that a tree of
/// unchanged files gets the same bytes (and ID) whichever program wrote it.
struct NodeFactory: Sendable {
    let owners = OwnerNames()

    func node(name: [UInt8], path: [UInt8], status st: SourceFS.Status) throws -> Node? {
        let type: String
        switch st.mode & S_IFMT {
        case S_IFREG: type = "file"
        case S_IFDIR: type = "dir"
        case S_IFLNK: type = "symlink"
        case S_IFBLK: type = "dev"
        case S_IFCHR: type = "chardev"
        case S_IFIFO: type = "fifo"
        default: return nil  // sockets are not stored, as in restic
        }
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
        let attributes = SourceFS.extendedAttributes(path)
        if !attributes.isEmpty { node.extendedAttributes = attributes }
        switch type {
        case "file":
            node.size = UInt64(max(0, st.size))
            node.links = st.links
            node.content = []
        case "symlink":
            node.linkTarget = try SourceFS.readLink(path)
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
