import Testing
#if canImport(Glibc)
import Glibc
#endif
import ResticRepository

/// Owner names as restic records them, looked up with the reentrant calls.
@Suite("User and group names")
struct UserDatabaseTests {
    @Test("root's user and group are named, an ID nobody has is not, and lookups may run at once")
    func names() async {
        #expect(UserDatabase.userName(0) == "root")
        #expect(UserDatabase.groupName(0) == "root")
        #expect(UserDatabase.userName(3_999_999_999) == nil)
        #expect(UserDatabase.groupName(3_999_999_999) == nil)
        // Many lookups of different IDs at once each get their own answer.
        let expected = (0..<8).map { UInt32($0) }.map { ($0, UserDatabase.userName($0)) }
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    (0..<200).allSatisfy { round in
                        let (uid, name) = expected[round % expected.count]
                        return UserDatabase.userName(uid) == name
                    }
                }
            }
            for await same in group { #expect(same) }
        }
    }
}
