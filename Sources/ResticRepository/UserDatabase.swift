#if canImport(Glibc)
import Glibc
#endif

/// User and group names by ID, through the reentrant lookups: `getpwuid` and `getgrgid` share
/// one static record per process, so a walker looking up owners and a snapshot or key being
/// stamped with the current user could overwrite each other's answer.
public enum UserDatabase {
    /// The user's name, or nil when the ID has none.
    public static func userName(_ uid: UInt32) -> String? {
        lookup { record, buffer, size, result in getpwuid_r(uid, record, buffer, size, result) } name: { $0.pw_name }
    }

    /// The group's name, or nil when the ID has none.
    public static func groupName(_ gid: UInt32) -> String? {
        lookup { record, buffer, size, result in getgrgid_r(gid, record, buffer, size, result) } name: { $0.gr_name }
    }

    /// Calls a `get…_r` function with a buffer that grows while it answers ERANGE (a group
    /// with many members needs more than the usual kilobyte).
    private static func lookup<Record>(
        _ call: (UnsafeMutablePointer<Record>, UnsafeMutablePointer<CChar>, Int,
                 UnsafeMutablePointer<UnsafeMutablePointer<Record>?>) -> Int32,
        name: (Record) -> UnsafeMutablePointer<CChar>?
    ) -> String? {
        var size = 1024
        while size <= 1 << 20 {
            let found: String?? = withUnsafeTemporaryAllocation(of: Record.self, capacity: 1) { record in
                withUnsafeTemporaryAllocation(of: CChar.self, capacity: size) { buffer in
                    var result: UnsafeMutablePointer<Record>?
                    let code = call(record.baseAddress!, buffer.baseAddress!, size, &result)
                    if code == ERANGE { return .none }
                    guard code == 0, let entry = result, let text = name(entry.pointee) else { return .some(nil) }
                    return .some(String(cString: text))
                }
            }
            if let found { return found }
            size *= 2
        }
        return nil
    }
}
