import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Backups and restores through a proxy that fails requests: 500s, resets, stalls and cut
/// bodies are retried and the results are identical; a permanent failure stops cleanly.
@Suite("faults between us and the server", .serialized)
struct FaultInjectionTests {
    typealias Remote = BackendCompatibilityTests.Remote

    /// The location of `repo` as seen through `port` instead of the server's own port.
    static func via(_ repo: String, server: ServerProcess, port: Int) -> String {
        repo.replacingOccurrences(of: "127.0.0.1:\(server.port)/", with: "127.0.0.1:\(port)/")
    }

    /// Our restore of `snapshot`, with extra flags, compared with `source` by manifest.py.
    static func restoreAndCompare(_ repo: String, snapshot: String, source: String, flags: [String]) throws -> Harness.Result {
        let target = try TempDir.make("cartae-restore")
        defer { try? FileManager.default.removeItem(at: target) }
        let restore = try Harness.ours(flags + ["restore", snapshot, "--target", target.path], repo: repo,
                                       password: WriteRepo.password)
        guard restore.status == 0 else { throw HarnessError("restore failed (\(restore.status)): \(restore.stderr)") }
        let manifest = Harness.fixtures.appendingPathComponent("manifest.py").path
        let expected = target.appendingPathComponent("expected.json")
        try Harness.run("python3", [manifest, source]).stdout.write(to: expected)
        return try Harness.run("python3", [manifest, target.path + source, "--compare", expected.path, "--ignore", "sparse"])
    }

    @Test("backup and restore finish with identical results while a share of requests fails", arguments: Remote.allCases)
    func flakyServer(_ remote: Remote) async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = try BackendCompatibilityTests.start(remote, dir: dir)
        defer { target.server.stop() }
        let initialised = try Harness.ours(["init"], repo: target.repo, password: WriteRepo.password)
        try #require(initialised.status == 0, "init: \(initialised.stderr)")

        var options = FaultProxy.Options()
        options.rate = 0.3
        options.seed = 5
        options.stallSeconds = 2.5
        let proxy = try FaultProxy(upstreamPort: target.server.port, options: options)
        defer { proxy.stop() }
        let flaky = Self.via(target.repo, server: target.server, port: proxy.port)
        let flags = ["-o", "http.timeout=1s"]

        let tree = try TreeGenerator.make(in: dir, seed: 41)
        let (backup, summary) = try WriteRepo.backup(flaky, flags + ["--pack-size", "4", tree.root])
        try #require(backup.status == 0, "backup through faults: \(backup.stderr)\nfaults: \(proxy.faults)")
        #expect(WriteRepo.int(summary, "files_new") == tree.files.count)
        let duringBackup = proxy.faults.count
        #expect(duringBackup > 0, "the proxy injected faults")
        #expect(backup.stderr.contains("retrying in"), "retries are reported")

        let check = try WriteRepo.restic(target.repo, ["check", "--read-data"])
        #expect(check.status == 0 && check.out.contains("no errors were found"), "restic check: \(check.out)\n\(check.stderr)")
        let snapshots = try WriteRepo.snapshots(target.repo)
        #expect(snapshots.count == 1)
        let id = try #require(snapshots.first?["id"] as? String)

        let compare = try Self.restoreAndCompare(flaky, snapshot: id, source: tree.root, flags: flags)
        #expect(compare.status == 0, "restore through faults differs:\n\(compare.stderr)")
        #expect(proxy.faults.count > duringBackup, "faults during the restore too")
    }

    @Test("a server that fails for good stops the backup cleanly: no snapshot, no missing data")
    func permanentFailure() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = try BackendCompatibilityTests.start(.rest, dir: dir)
        defer { target.server.stop() }
        let initialised = try Harness.ours(["init"], repo: target.repo, password: WriteRepo.password)
        try #require(initialised.status == 0, "init: \(initialised.stderr)")

        var options = FaultProxy.Options()
        options.failAllAfterPackUploads = 1
        let proxy = try FaultProxy(upstreamPort: target.server.port, options: options)
        defer { proxy.stop() }
        let broken = Self.via(target.repo, server: target.server, port: proxy.port)

        let tree = try TreeGenerator.make(in: dir, seed: 51)
        try TreeGenerator.write(tree.root + "/data/big.bin", TreeGenerator.randomBytes(10 << 20, seed: 52))
        let clock = ContinuousClock()
        let start = clock.now
        let (backup, _) = try WriteRepo.backup(broken, ["-o", "retry.max-time=2s", "--pack-size", "4", tree.root])
        #expect(backup.status == 1, "backup against a dead server: \(backup.status) \(backup.stderr)")
        #expect(backup.stderr.contains("Fatal:") && backup.stderr.contains("HTTP 500"), "\(backup.stderr)")
        #expect(backup.stderr.contains("gave up after"))
        #expect(clock.now - start < .seconds(60))

        // Straight to the server: no snapshot, and everything the index names is there. The
        // lock could not be removed during the outage; it is stale (its process is gone).
        #expect(try WriteRepo.snapshots(target.repo).isEmpty)
        let unlock = try WriteRepo.restic(target.repo, ["unlock"])
        #expect(unlock.status == 0, "restic unlock: \(unlock.stderr)")
        let check = try WriteRepo.restic(target.repo, ["check", "--read-data"])
        #expect(check.status == 0 && check.out.contains("no errors were found"), "restic check: \(check.out)\n\(check.stderr)")

        // The next run (server healthy again) completes.
        let (retry, _) = try WriteRepo.backup(target.repo, [tree.root])
        #expect(retry.status == 0, "backup after the outage: \(retry.stderr)")
        #expect(try WriteRepo.snapshots(target.repo).count == 1)
    }

    @Test("403 fails at once with a clear message")
    func accessDenied() async throws {
        var options = FaultProxy.Options()
        options.fixedStatus = 403
        let proxy = try FaultProxy(upstreamPort: 9, options: options)
        defer { proxy.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let result = try Harness.ours(["snapshots"], repo: "rest:http://bob:pa55word@127.0.0.1:\(proxy.port)/repo",
                                      password: WriteRepo.password)
        #expect(result.status == 1)
        #expect(result.stderr.contains("access denied (HTTP 403)"), "\(result.stderr)")
        #expect(!result.stderr.contains("retrying"))
        #expect(!result.stderr.contains("pa55word") && !result.stderr.contains("bob"))
        #expect(clock.now - start < .seconds(15), "no retries (they would take a minute)")
        #expect(proxy.faults.count == 1)
    }
}
