import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT (Ctrl-C) during backup and prune, delivered by the engine's testing hook right after
/// a chosen repository write (so the point is known, not a race), and once from outside:
/// exit 130, the lock removed, no snapshot written, restic check passes, the next run works.
@Suite("interrupting backup and prune with SIGINT")
struct InterruptTests {
    struct Interrupted {
        var result: Harness.Result
        /// Every write of the run, in order (from the hook's log).
        var operations: [String]
    }

    static func interrupt(_ arguments: [String], repo: String, after operation: Int, packSize: Int) throws -> Interrupted {
        let log = try TempDir.make("cartae-interrupt")
        defer { try? FileManager.default.removeItem(at: log) }
        let env = CrashHook.environment(packSize: packSize, after: operation, signal: "INT", log: log.appendingPathComponent("ops").path)
        let result = try Harness.run(Harness.binary, arguments, environment: env.merging(["RESTIC_REPOSITORY": repo]) { $1 })
        let text = (try? String(contentsOfFile: log.appendingPathComponent("ops").path, encoding: .utf8)) ?? ""
        return Interrupted(result: result, operations: text.split(separator: "\n").map(String.init))
    }

    static func operations(_ arguments: [String], template: String, packSize: Int) throws -> [String] {
        let copy = template + "-reference"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: template, toPath: copy)
        let log = copy + ".log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let env = CrashHook.environment(packSize: packSize, log: log).merging(["RESTIC_REPOSITORY": copy]) { $1 }
        let result = try Harness.run(Harness.binary, arguments, environment: env)
        guard result.status == 0 else { throw HarnessError("reference run failed: \(result.stderr)") }
        return try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// What every interrupted run must leave: exit 130, no lock, the snapshots as before, and a
    /// repository restic checks (with a lock of its own, so ours must be gone).
    static func expectCleanStop(_ run: Interrupted, repo: String, snapshots: [String], at: String) throws {
        #expect(run.result.status == 130, "\(at): exit \(run.result.status): \(run.result.stderr)")
        #expect(WriteRepo.files(repo, "locks").isEmpty, "\(at): lock left behind")
        #expect(run.operations.last?.hasPrefix("remove locks/") == true, "\(at): the last write was \(run.operations.last ?? "none")")
        #expect(WriteRepo.files(repo, "snapshots") == snapshots, "\(at): snapshots changed")
        let check = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(check.status == 0, "\(at): restic check failed:\n\(check.out)\n\(check.stderr)")
    }

    @Test("backup interrupted after its lock, a data pack, the index: exit 130, lock gone, no snapshot; the next backup completes")
    func interruptedBackup() async throws {
        let dir = try TempDir.make("cartae-interrupt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let template = try await WriteRepo.ours(version: 2, in: dir)
        let source = dir.appendingPathComponent("src").path
        let state = SourceState.random("data", count: 12, size: 150_000, seed: 51)
        try state.write(to: source)
        let packSize = 128 << 10
        let arguments = ["backup", "--json", source]
        let reference = try Self.operations(arguments, template: template, packSize: packSize)
        let index = try #require(reference.firstIndex { $0.hasPrefix("save index/") })
        try #require(reference[index + 1].hasPrefix("save snapshots/"), "\(reference)")
        let points = [1, 4, index + 1]  // the lock, a data pack, the index (just before the snapshot)

        for point in points {
            let at = "SIGINT after \(reference[point - 1])"
            let repo = dir.appendingPathComponent("repo-\(point)").path
            try FileManager.default.copyItem(atPath: template, toPath: repo)
            let run = try Self.interrupt(arguments, repo: repo, after: point, packSize: packSize)
            try Self.expectCleanStop(run, repo: repo, snapshots: [], at: at)
            #expect(!run.operations.contains { $0.hasPrefix("save snapshots/") }, "\(at): \(run.operations)")
            let next = try Harness.run(Harness.binary, arguments,
                                       environment: CrashHook.environment(packSize: packSize).merging(["RESTIC_REPOSITORY": repo]) { $1 })
            #expect(next.status == 0, "\(at): the next backup failed: \(next.stderr)")
            if let id = WriteRepo.summary(next.stdout)?["snapshot_id"] as? String {
                try SourceState.expectRestore(repo, id, source: source, equals: state, at: at)
            }
        }

        // From outside, at a moment of the run: stopped cleanly, or (if it won the race) done.
        let repo = dir.appendingPathComponent("repo-external").path
        try FileManager.default.copyItem(atPath: template, toPath: repo)
        let backup = try Spawned(Harness.binary, arguments,
                                 environment: CrashHook.environment(packSize: packSize).merging(["RESTIC_REPOSITORY": repo]) { $1 })
        _ = try waitUntil(timeout: .seconds(60)) { !backup.isRunning || WriteRepo.packCount(repo) >= 3 }
        kill(backup.process.processIdentifier, SIGINT)
        let status = backup.wait()
        #expect(status == 130 || status == 0, "\(backup.stderr)")
        #expect(WriteRepo.files(repo, "locks").isEmpty)
        #expect(WriteRepo.files(repo, "snapshots").count == (status == 0 ? 1 : 0))
        #expect(try WriteRepo.restic(repo, ["check"]).status == 0)
    }

    @Test("prune interrupted while repacking, after its index, while deleting index files and packs: exit 130, it stops there, the next prune cleans up")
    func interruptedPrune() async throws {
        let history = try await CrashHistory.make("interrupt-prune", generations: 5)
        defer { history.remove() }
        #expect(try Harness.ours(["forget", "--keep-last", "1"], repo: history.repo).status == 0)
        let kept = try #require(history.ids.last)
        let reference = try Self.operations(["prune"], template: history.repo, packSize: CrashHistory.packSize)
        let phases = ["save data/", "save index/", "remove index/", "remove data/"]
        for (rank, phase) in phases.enumerated() {
            let point = try #require(reference.firstIndex { $0.hasPrefix(phase) }, "no \(phase) in \(reference)") + 1
            let at = "SIGINT after \(reference[point - 1])"
            let repo = history.dir.appendingPathComponent("repo-\(point)").path
            try FileManager.default.copyItem(atPath: history.repo, toPath: repo)
            let run = try Self.interrupt(["prune"], repo: repo, after: point, packSize: CrashHistory.packSize)
            try Self.expectCleanStop(run, repo: repo, snapshots: [kept], at: at)
            // It stops in the phase it was in: nothing of a later phase is written (while
            // repacking, the pack being copied may still be finished).
            let later = run.operations.dropFirst(point).dropLast().filter { op in
                phases.firstIndex { op.hasPrefix($0) }.map { $0 > rank || rank >= 1 } ?? true
            }
            #expect(later.isEmpty, "\(at): prune went on: \(later)")

            let next = try Harness.run(Harness.binary, ["prune"], environment: CrashHook.environment(packSize: CrashHistory.packSize)
                .merging(["RESTIC_REPOSITORY": repo]) { $1 })
            #expect(next.status == 0, "\(at): the next prune failed: \(next.stderr)")
            let check = try WriteRepo.restic(repo, ["check", "--read-data"])
            #expect(check.status == 0 && !check.out.contains("not referenced in any index"), "\(at): \(check.out)")
            try SourceState.expectRestore(repo, kept, source: history.source, equals: history.states[kept] ?? SourceState(), at: at)
        }
    }
}
