import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Processes sharing one repository. Overlaps are made certain, not hoped for: a process stops
/// itself (SIGSTOP, by the engine's testing hook) right after a known write (its lock, a few
/// packs) while the other one runs, and is resumed with SIGCONT.
@Suite("concurrent commands on one repository")
struct ConcurrencyTests {
    static let packSize = 128 << 10

    static func environment(_ repo: String) -> [String: String] {
        CrashHook.environment(packSize: packSize).merging(["RESTIC_REPOSITORY": repo]) { $1 }
    }

    static func spawn(_ arguments: [String], repo: String) throws -> Spawned {
        try Spawned(Harness.binary, arguments, environment: environment(repo))
    }

    static func snapshotID(_ process: Spawned) -> String? {
        WriteRepo.summary(process.stdout)?["snapshot_id"] as? String
    }

    /// Starts our command so that it stops itself (SIGSTOP, by the engine's testing hook) right
    /// after its `operation`-th repository write, and returns once it is stopped there.
    static func spawnPaused(_ arguments: [String], repo: String, after operation: Int) throws -> Spawned {
        let env = CrashHook.environment(packSize: packSize, after: operation, signal: "STOP")
        let process = try Spawned(Harness.binary, arguments, environment: env.merging(["RESTIC_REPOSITORY": repo]) { $1 })
        let stopped = try waitUntil(timeout: .seconds(120)) { !process.isRunning || state(process) == "T" }
        try #require(stopped && process.isRunning, "\(arguments) did not stop after write \(operation): \(process.stderr)")
        return process
    }

    /// The state letter of /proc/PID/stat ("T" when stopped).
    static func state(_ process: Spawned) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    static func resume(_ process: Spawned) {
        kill(process.process.processIdentifier, SIGCONT)
    }

    @Test("two backups of different sources at once, started together and one paused mid-run: both snapshots restore, restic check --read-data is clean")
    func twoBackupsAtOnce() async throws {
        let dir = try TempDir.make("cartae-concurrent")
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let (a, b) = (dir.appendingPathComponent("a").path, dir.appendingPathComponent("b").path)
        // A file both sources hold: both runs may store its blob, each in its own pack.
        let shared = SourceState(files: ["shared/common.bin": TreeGenerator.randomBytes(300_000, seed: 7)])
        var stateA = SourceState.random("a", count: 10, size: 150_000, seed: 21).merging(shared)
        var stateB = SourceState.random("b", count: 10, size: 150_000, seed: 22).merging(shared)
        try stateA.write(to: a)
        try stateB.write(to: b)

        let first = try Self.spawn(["backup", "--json", a], repo: repo)
        let second = try Self.spawn(["backup", "--json", b], repo: repo)
        #expect(first.wait() == 0, "\(first.stderr)")
        #expect(second.wait() == 0, "\(second.stderr)")
        var expected: [(String, String, SourceState)] = []
        for (process, source, state) in [(first, a, stateA), (second, b, stateB)] {
            if let id = Self.snapshotID(process) { expected.append((id, source, state)) }
        }

        // Second round: A stops with its lock held and packs written but not indexed; B runs
        // whole meanwhile and must neither index nor disturb A's packs; then A finishes.
        stateA = stateA.merging(.random("a2", count: 8, size: 150_000, seed: 23))
        stateB = stateB.merging(.random("b2", count: 8, size: 150_000, seed: 24))
        try stateA.write(to: a)
        try stateB.write(to: b)
        // Stopped after its lock and three packs.
        let paused = try Self.spawnPaused(["backup", "--json", a], repo: repo, after: 4)
        let whole = try Harness.run(Harness.binary, ["backup", "--json", b], environment: Self.environment(repo))
        #expect(whole.status == 0, "\(whole.stderr)")
        Self.resume(paused)
        #expect(paused.wait() == 0, "\(paused.stderr)")
        if let id = WriteRepo.summary(whole.stdout)?["snapshot_id"] as? String { expected.append((id, b, stateB)) }
        if let id = Self.snapshotID(paused) { expected.append((id, a, stateA)) }

        #expect(expected.count == 4, "every backup reports its snapshot")
        #expect(WriteRepo.files(repo, "locks").isEmpty)
        let check = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(check.status == 0, "\(check.out)\n\(check.stderr)")
        #expect(!check.out.contains("not referenced in any index"), "\(check.out)")
        for (id, source, state) in expected {
            try SourceState.expectRestore(repo, id, source: source, equals: state, at: "concurrent backup of \(source)")
        }
    }

    @Test("check holds an exclusive lock as restic 0.14's does: a backup meanwhile exits 11 (restic's refuses too) or waits with --retry-lock")
    func backupDuringCheck() async throws {
        let dir = try TempDir.make("cartae-concurrent")
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let source = dir.appendingPathComponent("src").path
        let state = SourceState.random("data", count: 8, size: 150_000, seed: 31)
        try state.write(to: source)
        #expect(try Harness.run(Harness.binary, ["backup", "-q", source], environment: Self.environment(repo)).status == 0)

        // Stopped right after writing its lock.
        let check = try Self.spawnPaused(["check", "--read-data"], repo: repo, after: 1)
        let lockID = try #require(WriteRepo.files(repo, "locks").first)
        let lock = try WriteRepo.restic(repo, ["--no-lock", "cat", "lock", lockID])
        #expect(lock.out.contains("\"exclusive\": true"), "\(lock.out)")

        let refused = try Harness.run(Harness.binary, ["backup", source], environment: Self.environment(repo))
        #expect(refused.status == 11, "\(refused.status): \(refused.stderr)")
        #expect(refused.stderr.contains("locked exclusively by PID \(check.process.processIdentifier)"), "\(refused.stderr)")
        let resticRefused = try WriteRepo.restic(repo, ["backup", source])
        #expect(resticRefused.status != 0 && resticRefused.stderr.contains("locked exclusively"), "\(resticRefused.stderr)")

        let waiting = try Self.spawn(["backup", "--json", "--retry-lock", "60s", source], repo: repo)
        Self.resume(check)
        #expect(check.wait() == 0, "\(check.stderr)")
        #expect(waiting.wait() == 0, "\(waiting.stderr)")
        #expect(try WriteRepo.snapshots(repo).count == 2)
        #expect(WriteRepo.files(repo, "locks").isEmpty)
        #expect(try WriteRepo.restic(repo, ["check"]).status == 0)
    }

    @Test("prune while a backup runs: it exits 11 (restic's refuses too), with --retry-lock it waits; it never deletes the backup's new packs")
    func pruneDuringBackup() async throws {
        let history = try await CrashHistory.make("concurrent-prune", generations: 4)
        defer { history.remove() }
        let repo = history.repo
        #expect(try Harness.ours(["forget", "--keep-last", "1"], repo: repo).status == 0)
        let latest = try #require(history.ids.last.flatMap { history.states[$0] })
        let next = latest.merging(.random("late", count: 12, size: 150_000, seed: 41))
        try next.write(to: history.source)

        let packsBefore = Set(WriteRepo.files(repo, "data"))
        let backup = try Self.spawnPaused(["backup", "--json", history.source], repo: repo, after: 4)
        // Packs the paused backup stored and has not indexed yet: prune must not touch them.
        let fresh = Set(WriteRepo.files(repo, "data")).subtracting(packsBefore)
        // Three counted; the other reader may have finished one more while the third was counted.
        #expect(fresh.count >= 3, "packs written before the pause: \(fresh.count)")

        let refused = try Harness.ours(["prune"], repo: repo)
        #expect(refused.status == 11, "\(refused.status): \(refused.stderr)")
        let resticRefused = try WriteRepo.restic(repo, ["prune"])
        #expect(resticRefused.status != 0 && resticRefused.stderr.contains("locked"), "\(resticRefused.stderr)")
        #expect(fresh.isSubset(of: Set(WriteRepo.files(repo, "data"))))

        let prune = try Self.spawn(["prune", "--retry-lock", "60s"], repo: repo)
        Self.resume(backup)
        #expect(backup.wait() == 0, "\(backup.stderr)")
        #expect(prune.wait() == 0, "\(prune.stderr)")
        #expect(String(decoding: prune.stdout, as: UTF8.self).contains("to delete:"), "prune ran after the backup")
        #expect(fresh.isSubset(of: Set(WriteRepo.files(repo, "data"))), "prune deleted packs of the backup")
        let check = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(check.status == 0, "\(check.out)\n\(check.stderr)")
        #expect(!check.out.contains("not referenced in any index"), "\(check.out)")
        let id = try #require(Self.snapshotID(backup))
        try SourceState.expectRestore(repo, id, source: history.source, equals: next, at: "backup during prune")
        try SourceState.expectRestore(repo, try #require(history.ids.last), source: history.source, equals: latest,
                                      at: "kept snapshot after prune")
    }
}
