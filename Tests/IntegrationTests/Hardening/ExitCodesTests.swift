import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// restic's exit codes over the failure paths of every command, each with one `Fatal:` line
/// naming what went wrong: 1 error, 10 no repository, 11 locked, 12 wrong password. Cases
/// covered elsewhere (BadInputTests: snapshots/restore without a repository or with a wrong
/// password, unknown IDs for restore/ls/dump/cat; LockTests, PruneTests, CheckTests: backup,
/// prune and check against a lock; FlagsTests: exit 3 for unreadable files) are not repeated.
@Suite("exit codes")
struct ExitCodesTests {
    /// A repository with one snapshot of a small folder, and a new-password file for key commands.
    struct Setup {
        let dir: URL
        let repo: String
        let source: String
        let newPasswordFile: String

        init() async throws {
            dir = try TempDir.make("cartae-exit")
            repo = try await WriteRepo.ours(in: dir)
            source = dir.appendingPathComponent("src").path
            try TreeGenerator.makeDirectory(source)
            try TreeGenerator.write(source + "/a.txt", Array("exit codes".utf8))
            newPasswordFile = dir.appendingPathComponent("new-password").path
            try "another-password\n".write(toFile: newPasswordFile, atomically: true, encoding: .utf8)
            let backup = try Harness.ours(["backup", "-q", source], repo: repo)
            try #require(backup.status == 0, "\(backup.stderr)")
        }

        var target: String { dir.appendingPathComponent("target").path }

        func remove() { try? FileManager.default.removeItem(at: dir) }
    }

    @Test("10: no repository at the location, for every command that opens one")
    func noRepository() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let missing = s.dir.appendingPathComponent("no-repo-here").path
        let table: [[String]] = [
            ["backup", s.source], ["backup", "--stdin"], ["ls", "latest"], ["cat", "config"], ["cat", "masterkey"],
            ["dump", "latest", "/a"], ["list", "snapshots"], ["stats"], ["check"], ["forget", "--keep-last", "1"],
            ["prune"], ["key", "list"], ["key", "add", "--new-password-file", s.newPasswordFile],
            ["key", "passwd", "--new-password-file", s.newPasswordFile], ["key", "remove", "deadbeef"],
            ["repair", "index"], ["repair", "snapshots"], ["unlock"],
        ]
        for arguments in table {
            for location in [missing, "local:" + missing] {
                let result = try Harness.ours(arguments, repo: location, input: Data("x".utf8))
                Hardening.expectOneError(result, status: 10, naming: [missing], "\(arguments) at \(location)")
            }
        }
        // The other repository of init --copy-chunker-params.
        let copy = try Harness.ours(["init", "--copy-chunker-params", "--from-repo", missing], repo: s.dir.path + "/new",
                                    environment: ["RESTIC_FROM_PASSWORD": WriteRepo.password])
        Hardening.expectOneError(copy, status: 10, naming: [missing], "init --from-repo")
        #expect(!FileManager.default.fileExists(atPath: missing), "nothing may be created at a missing location")
        #expect(!FileManager.default.fileExists(atPath: s.dir.path + "/new/config"))
    }

    @Test("12: wrong password, for every command that opens the repository")
    func wrongPassword() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let keys = WriteRepo.files(s.repo, "keys")
        let table: [[String]] = [
            ["backup", s.source], ["restore", "latest", "--target", s.target], ["ls", "latest"], ["cat", "config"],
            ["cat", "masterkey"], ["dump", "latest", s.source + "/a.txt"], ["list", "blobs"], ["stats"], ["check"],
            ["forget", "--keep-last", "1"], ["prune"], ["key", "list"], ["key", "add", "--new-password-file", s.newPasswordFile],
            ["key", "passwd", "--new-password-file", s.newPasswordFile], ["key", "remove", keys[0]],
            ["repair", "index"], ["repair", "snapshots"], ["unlock", "--remove-all"],
        ]
        for arguments in table {
            let result = try Harness.ours(arguments, repo: s.repo, password: "not-the-password")
            Hardening.expectOneError(result, status: 12, naming: ["wrong password"], "\(arguments)")
            #expect(!result.stderr.contains("not-the-password"))
        }
        let copy = try Harness.ours(["init", "--copy-chunker-params", "--from-repo", s.repo], repo: s.dir.path + "/new",
                                    environment: ["RESTIC_FROM_PASSWORD": "not-the-password"])
        Hardening.expectOneError(copy, status: 12, naming: ["wrong password"], "init --from-repo")
        // Nothing changed: same keys, one snapshot, no lock, no restore target.
        #expect(WriteRepo.files(s.repo, "keys") == keys)
        #expect(WriteRepo.files(s.repo, "snapshots").count == 1)
        #expect(WriteRepo.files(s.repo, "locks").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: s.target))
    }

    @Test("11: restic's exclusive lock stops every command that locks, and ours is not left behind")
    func locked() async throws {
        let l = try await LockTests.Locked()
        defer { l.remove() }
        let passwordFile = l.dir.appendingPathComponent("new-password").path
        try "another-password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let keys = WriteRepo.files(l.repo, "keys")
        let table: [[String]] = [
            ["forget", "--keep-last", "1"], ["forget", "--keep-last", "1", "--prune"], ["repair", "index"],
            ["repair", "snapshots"], ["key", "add", "--new-password-file", passwordFile],
            ["key", "passwd", "--new-password-file", passwordFile], ["backup", "--stdin", "--stdin-filename", "x"],
        ]
        for arguments in table {
            let result = try Harness.ours(arguments, repo: l.repo, input: Data("x".utf8))
            Hardening.expectOneError(result, status: 11, naming: ["locked", "PID \(l.holder.process.processIdentifier)"], "\(arguments)")
            #expect(WriteRepo.files(l.repo, "locks") == [l.lockID], "\(arguments) left a lock behind")
        }
        #expect(WriteRepo.files(l.repo, "keys") == keys)
        // Reading commands take no lock, so they still work; unlock leaves a live lock alone.
        for arguments in [["snapshots"], ["cat", "config"], ["unlock"]] {
            let result = try Harness.ours(arguments, repo: l.repo)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        #expect(WriteRepo.files(l.repo, "locks") == [l.lockID])
        try l.release()
    }

    @Test("1: bad flags and values, one line naming the flag, before anything is touched")
    func badFlags() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let table: [([String], String)] = [
            (["backup", "--bogus", s.source], "--bogus"), (["restore", "latest", "--target", s.target, "--bogus"], "--bogus"),
            (["ls", "latest", "--bogus"], "--bogus"), (["key", "list", "--bogus"], "--bogus"), (["prune", "--bogus"], "--bogus"),
            (["frobnicate"], "frobnicate"), (["key", "frobnicate"], "frobnicate"), (["repair", "frobnicate"], "frobnicate"),
            (["restore", "latest"], "--target"), (["dump", "latest"], "<"), (["backup"], "nothing to backup"),
            (["backup", "--stdin", s.source], "--stdin"), (["backup", "--pack-size", "2", s.source], "--pack-size"),
            (["backup", "--compression", "sometimes", s.source], "sometimes"), (["backup", "--time", "yesterday", s.source], "yesterday"),
            (["backup", "--exclude-file", s.dir.path + "/none", s.source], s.dir.path + "/none"),
            (["forget", "--keep-last", "many"], "many"), (["forget", "--keep-within", "forever"], "forever"),
            (["prune", "--max-unused", "lots"], "lots"), (["prune", "--max-repack-size", "huge"], "huge"),
            (["init", "--repository-version", "9"], "9"), (["cat", "nonsense"], "nonsense"), (["list", "nonsense"], "nonsense"),
            (["stats", "--mode", "nonsense"], "nonsense"), (["--retry-lock", "soon", "snapshots"], "soon"),
            (["--password-file", s.dir.path + "/no-file", "snapshots"], s.dir.path + "/no-file"),
            (["--password-command", "exit 3", "snapshots"], "password-command"),
        ]
        for (arguments, needle) in table {
            let result = try Harness.ours(arguments, repo: arguments.first == "init" ? s.dir.path + "/new" : s.repo)
            Hardening.expectOneError(result, status: 1, naming: [needle], "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): one line, no usage text: \(result.stderr)")
        }
        #expect(WriteRepo.files(s.repo, "snapshots").count == 1, "a refused command wrote a snapshot")
        #expect(WriteRepo.files(s.repo, "locks").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: s.target) && !FileManager.default.fileExists(atPath: s.dir.path + "/new"))
    }

    @Test("1: snapshot IDs that match nothing, for the commands BadInputTests does not cover")
    func badSnapshotIDs() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let table: [([String], String)] = [
            (["forget", "deadbeef"], "deadbeef"), (["backup", "--parent", "deadbeef", s.source], "deadbeef"),
            (["stats", "deadbeef"], "deadbeef"), (["repair", "snapshots", "deadbeef"], "deadbeef"),
            (["cat", "tree", "deadbeef"], "deadbeef"), (["cat", "index", "deadbeef"], "deadbeef"),
            (["cat", "key", "deadbeef"], "deadbeef"), (["cat", "blob", "deadbeef"], "deadbeef"),
            (["key", "remove", "deadbeef"], "deadbeef"), (["ls", "latest", "--host", "no-such-host"], "snapshot"),
            (["restore", "latest", "--tag", "no-such-tag", "--target", s.target], "snapshot"),
        ]
        for (arguments, needle) in table {
            let result = try Harness.ours(arguments, repo: s.repo)
            Hardening.expectOneError(result, status: 1, naming: [needle], "\(arguments)")
        }
        #expect(WriteRepo.files(s.repo, "snapshots").count == 1)
        #expect(WriteRepo.files(s.repo, "locks").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: s.target))
    }
}
