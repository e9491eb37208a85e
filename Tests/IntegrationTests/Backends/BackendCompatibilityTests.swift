import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// restic and cartae-restic on one repository behind a real REST server and a real S3 server:
/// we write and restic checks every byte and restores; restic writes and we restore.
@Suite("remote repositories shared with restic", .serialized)
struct BackendCompatibilityTests {
    enum Remote: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case rest, s3
        var testDescription: String { rawValue }
    }

    /// A running server and the repository location on it.
    struct Target {
        let server: ServerProcess
        let repo: String
    }

    static func start(_ remote: Remote, dir: URL) throws -> Target {
        switch remote {
        case .rest:
            let server = try Servers.rest(root: dir.appendingPathComponent("served").path)
            return Target(server: server, repo: "rest:http://127.0.0.1:\(server.port)/repo")
        case .s3:
            // restic and our subprocesses inherit these; moto accepts any key.
            for (name, value) in Servers.awsEnvironment { setenv(name, value, 1) }
            let server = try Servers.s3()
            return Target(server: server, repo: "s3:http://127.0.0.1:\(server.port)/cartae-bucket/repo")
        }
    }

    @Test("we write, restic checks and restores; restic writes, we restore", arguments: Remote.allCases)
    func bothDirections(_ remote: Remote) async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = try Self.start(remote, dir: dir)
        defer { target.server.stop() }
        let repo = target.repo

        let initialised = try Harness.ours(["init"], repo: repo, password: WriteRepo.password)
        try #require(initialised.status == 0, "init: \(initialised.stderr)")
        #expect(!initialised.out.contains("cartae-test-secret"))

        let tree = try TreeGenerator.make(in: dir, seed: 31)
        let (backup, summary) = try WriteRepo.backup(repo, [tree.root])
        try #require(backup.status == 0, "backup: \(backup.stderr)")
        #expect(WriteRepo.int(summary, "files_new") == tree.files.count)

        let check = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(check.status == 0 && check.out.contains("no errors were found"), "restic check: \(check.out)\n\(check.stderr)")
        let ours = try #require(try WriteRepo.snapshots(repo).first?["id"] as? String)
        let restored = try WriteRepo.restoreAndCompare(repo, snapshot: ours, source: tree.root, using: .restic)
        #expect(restored.status == 0, "restic's restore differs:\n\(restored.stderr)")

        // restic adds a snapshot of other data; we restore it and check the repository.
        let second = try TreeGenerator.make(in: dir, name: "second", seed: 32)
        let resticBackup = try WriteRepo.restic(repo, ["backup", second.root])
        try #require(resticBackup.status == 0, "restic backup: \(resticBackup.stderr)")
        let theirs = try #require(try WriteRepo.snapshots(repo).first { ($0["paths"] as? [String]) == [second.root] }?["id"] as? String)
        let ourRestore = try WriteRepo.restoreAndCompare(repo, snapshot: theirs, source: second.root, using: .ours)
        #expect(ourRestore.status == 0, "our restore differs:\n\(ourRestore.stderr)")
        let ourCheck = try Harness.ours(["check", "--read-data"], repo: repo, password: WriteRepo.password)
        #expect(ourCheck.status == 0, "our check: \(ourCheck.out)\n\(ourCheck.stderr)")

        // An unchanged second backup by us deduplicates against restic's and our data.
        let (again, againSummary) = try WriteRepo.backup(repo, [tree.root, second.root])
        #expect(again.status == 0, "backup: \(again.stderr)")
        #expect(WriteRepo.int(againSummary, "data_blobs") == 0)
    }
}
