import Foundation
import Testing

/// kill -9 during an incremental backup, after each of its repository writes in turn (lock,
/// data packs, tree pack, index, snapshot, unlock) and at a few moments of its run: the
/// repository stays valid, the earlier snapshot restores, the next backup completes, takes in
/// what the killed one stored, and its snapshot restores.
@Suite("crash consistency of backup")
struct BackupCrashTests {
    /// Smaller than every new file, so each file's blob gets a pack of its own.
    static let packSize = 128 << 10

    /// A repository with one snapshot, and the backup under test: one file gone, one changed,
    /// twenty new ones in two folders.
    static func scenario(in dir: URL) async throws -> CrashScenario {
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let source = dir.appendingPathComponent("src").path
        let before = SourceState.random("old", count: 6, size: 150_000, seed: 1)
        try before.write(to: source)
        let first = try Harness.run(Harness.binary, ["backup", "--json", source],
                                    environment: CrashHook.environment(packSize: packSize).merging(["RESTIC_REPOSITORY": repo]) { $1 })
        try #require(first.status == 0, "first backup: \(first.stderr)")
        let firstID = try #require(WriteRepo.summary(first.stdout)?["snapshot_id"] as? String)

        var after = before.removing(["old/file-1-0.bin"])
            .merging(.random("new/a", count: 10, size: 150_000, seed: 2))
            .merging(.random("new/b", count: 10, size: 150_000, seed: 3))
        after.files["old/file-1-1.bin"] = TreeGenerator.randomBytes(140_000, seed: 99)
        try after.write(to: source)
        var scenario = CrashScenario(name: "backup", dir: dir, template: repo, source: source, arguments: ["backup", source],
                                     exclusive: false, packSize: packSize, snapshots: [firstID: before])
        scenario.newSnapshot = after
        return scenario
    }

    /// The rerun takes in the packs the killed run stored rather than storing their blobs
    /// again: the repository ends no bigger than after an uninterrupted run.
    static func expectNoDuplicates(_ point: CrashScenario.KillPoint, _ packBytes: Int, _ reference: CrashScenario.Reference) {
        #expect(packBytes <= reference.packBytes + packSize,
                "\(point): \(packBytes) pack bytes after the rerun, \(reference.packBytes) after a clean run")
    }

    @Test("kill -9 at 20 points spread over a backup's writes and at 3 moments: restic check passes, snapshots restore, the next backup completes")
    func killedBackups() async throws {
        let dir = try TempDir.make("cartae-crash-backup")
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = try await Self.scenario(in: dir)
        let started = ContinuousClock.now
        let (reference, survived) = try scenario.surviveAll(check: { reference in
            let packs = reference.operations.filter { $0.hasPrefix("save data/") }.count
            #expect(packs >= 21, "the backup should store a pack per new file: \(reference.operations)")
            #expect(reference.operations.first?.hasPrefix("save locks/") == true)
            #expect(reference.operations.suffix(3).map { $0.prefix(10) } == ["save index", "save snaps", "remove loc"],
                    "index, then snapshot, then unlock: \(reference.operations.suffix(3))")
        }, afterPoint: Self.expectNoDuplicates)
        print("backup: \(survived) kill points (over \(reference.operations.count) writes, plus timed kills) checked in \(ContinuousClock.now - started)")
    }

    @Test("over REST with a local cache: kill -9 at 6 points and 2 moments of a backup, the next run (same cache) completes")
    func killedBackupsOverREST() async throws {
        let dir = try TempDir.make("cartae-crash-rest")
        defer { try? FileManager.default.removeItem(at: dir) }
        var scenario = try await Self.scenario(in: dir)
        // rclone serves every copy the harness makes in `dir`, each at its own path.
        let server = try Servers.rest(root: dir.path)
        defer { server.stop() }
        let port = server.port
        scenario.location = { ["RESTIC_REPOSITORY": "rest:http://127.0.0.1:\(port)/\(($0 as NSString).lastPathComponent)/"] }
        scenario.name = "backup over REST"
        let (reference, survived) = try scenario.surviveAll(count: 6, delays: [0.4, 0.8], afterPoint: Self.expectNoDuplicates)
        #expect(reference.operations.count >= 25)
        print("backup over REST: \(survived) kill points checked")
    }
}
