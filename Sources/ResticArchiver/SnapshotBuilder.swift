#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticRepository

/// The snapshot record a backup writes once its data and index are stored.
enum SnapshotBuilder {
    static func make(tree: ObjectID, paths: [String], options: BackupOptions) -> Snapshot {
        let uid = getuid(), gid = getgid()
        let username = UserDatabase.userName(uid) ?? ""
        return Snapshot(time: options.time ?? GoTime.now(), tree: tree, paths: paths,
                        hostname: options.hostname, username: username, uid: uid, gid: gid,
                        parent: options.parent?.id, excludes: options.excludes.map(\.text),
                        tags: options.tags, programVersion: options.programVersion)
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "" }
        return String(cString: buffer)
    }
}
