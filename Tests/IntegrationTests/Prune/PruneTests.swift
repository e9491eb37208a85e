import Foundation
import Testing

/// prune against the reference implementation: restic must accept every repository our prune
/// leaves, every kept snapshot must restore as before, and prune must interoperate with restic's.
@Suite(.serialized) struct PruneTests {
    @Test func pruneRepacksPartlyUsedPacksAndKeepsSnapshotsRestorable() throws {
        let f = try MaintenanceFixture.make()
        defer { f.cleanup() }
        try f.backup(tag: "first")
        try FileManager.default.removeItem(atPath: f.source + "/file1.bin")
        try FileManager.default.removeItem(atPath: f.source + "/file2.bin")
        try f.backup(tag: "second")
        let expected = try Harness.manifest(f.source, extra: ["--ignore", "mtime_dirs"])
        let ids = try f.snapshotIDs()
        try #require(ids.count == 2)
        #expect(try f.restic(["forget", ids[0]]).status == 0)
        let packsBefore = f.packs()

        let prune = try f.ours(["prune"])
        #expect(prune.status == 0, "prune failed: \(prune.stderr)")
        #expect(prune.out.contains("to repack:    1 packs"), "\(prune.out)")
        let packsAfter = f.packs()
        #expect(packsAfter != packsBefore)
        #expect(packsAfter.count <= packsBefore.count)
        try f.expectResticCheckClean("after our prune")
        try f.expectRestores("latest", equal: expected)

        // restic finds nothing left to prune: our decision removed everything unused.
        let resticPrune = try f.restic(["prune", "--dry-run"])
        #expect(Self.line(resticPrune.out, "to repack:")?.hasSuffix(" 0 blobs / 0 B") == true, "\(resticPrune.out)")
        #expect(Self.line(resticPrune.out, "to delete:")?.hasSuffix(" 0 blobs / 0 B") == true, "\(resticPrune.out)")
    }

    @Test func dryRunChangesNothing() throws {
        let f = try MaintenanceFixture.make(files: 2)
        defer { f.cleanup() }
        try f.backup(tag: "a")
        try FileManager.default.removeItem(atPath: f.source + "/file0.bin")
        try f.backup(tag: "b")
        let ids = try f.snapshotIDs()
        #expect(try f.restic(["forget", ids[0]]).status == 0)
        let packs = f.packs(), indexes = f.files(in: "index")
        let dry = try f.ours(["prune", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.out.contains("to delete:") && dry.out.contains("dry run"))
        #expect(f.packs() == packs)
        #expect(f.files(in: "index") == indexes)
    }

    @Test func pruneInteroperatesWithResticPrune() throws {
        // restic writes and prunes a history; we add to it and prune; restic prunes again.
        let f = try MaintenanceFixture.make(files: 3, resticInit: true)
        defer { f.cleanup() }
        #expect(try f.restic(["backup", "--tag", "r1", f.source]).status == 0)
        try MaintenanceFixture.randomFile(f.source + "/extra.bin", size: 900_000, seed: 99)
        #expect(try f.restic(["backup", "--tag", "r2", f.source]).status == 0)
        #expect(try f.restic(["forget", "--keep-last", "1", "--prune"]).status == 0)
        try FileManager.default.removeItem(atPath: f.source + "/file0.bin")
        try f.backup(tag: "ours")
        let expected = try Harness.manifest(f.source, extra: ["--ignore", "mtime_dirs"])
        #expect(try f.restic(["forget", "--keep-last", "1"]).status == 0)
        let prune = try f.ours(["prune", "--max-unused", "0%"])
        #expect(prune.status == 0, "\(prune.stderr)")
        try f.expectResticCheckClean("after our prune of a restic-pruned repository")
        try f.expectRestores("latest", equal: expected)
        #expect(try f.restic(["prune"]).status == 0)
        let check = try f.ours(["restore", "latest", "--target", f.dir.appendingPathComponent("ours").path, "--verify"])
        #expect(check.status == 0, "\(check.stderr)")
    }

    @Test func pruneRemovesUnreferencedPacksFromInterruptedBackups() throws {
        let f = try MaintenanceFixture.make(files: 1)
        defer { f.cleanup() }
        try f.backup(tag: "kept")
        // A pack nobody indexes, as a killed backup leaves behind: a valid pack whose index file
        // is gone and whose snapshot never got written.
        try MaintenanceFixture.randomFile(f.source + "/orphan.bin", size: 700_000, seed: 7)
        let indexesBefore = Set(f.files(in: "index"))
        let snapshotsBefore = Set(f.files(in: "snapshots"))
        try f.backup(tag: "orphan")
        for name in Set(f.files(in: "index")).subtracting(indexesBefore) {
            try FileManager.default.removeItem(atPath: f.repo + "/index/" + name)
        }
        for name in Set(f.files(in: "snapshots")).subtracting(snapshotsBefore) {
            try FileManager.default.removeItem(atPath: f.repo + "/snapshots/" + name)
        }
        let packs = f.packs()
        let prune = try f.ours(["prune"])
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(prune.out.contains("unreferenced packs"), "\(prune.out)")
        #expect(f.packs().count < packs.count)
        let check = try f.restic(["check"])
        #expect(check.status == 0)
        #expect(!check.out.contains("not referenced in any index"), "\(check.out)")
    }

    /// A process killed while it saved leaves its temporary file (a partial pack can be 16 MiB);
    /// under its exclusive lock prune removes those older than a few minutes, and nothing else.
    @Test("prune removes the temporary files killed saves left behind, old ones only")
    func pruneRemovesLeftoverTemporaryFiles() throws {
        let f = try MaintenanceFixture.make(files: 1)
        defer { f.cleanup() }
        try f.backup(tag: "kept")
        let old = [f.repo + "/data/3e/.tmp-pack-5eed", f.repo + "/index/.tmp-" + String(repeating: "ab", count: 32) + "-1f"]
        let fresh = f.repo + "/data/7a/.tmp-pack-beef"
        for path in old + [fresh] {
            try TreeGenerator.write(path, TreeGenerator.randomBytes(300_000, seed: 11))
        }
        for path in old {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: path)
        }
        let prune = try f.ours(["prune"])
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(prune.out.contains("removed 2 temporary files left by interrupted runs"), "\(prune.out)")
        for path in old { #expect(!FileManager.default.fileExists(atPath: path), "\(path) is still there") }
        #expect(FileManager.default.fileExists(atPath: fresh), "a recent temporary file may belong to a save under way")
        let check = try f.restic(["check"])
        #expect(check.status == 0, "\(check.out)")
    }

    @Test func pruneWaitsForOrRefusesALockedRepository() throws {
        let f = try MaintenanceFixture.make(files: 1)
        defer { f.cleanup() }
        try f.backup(tag: "a")
        // A running backup holds a shared lock; prune needs an exclusive one.
        let holder = try LockHolder.start(repo: f.repo)
        defer { holder.stop() }
        let prune = try f.ours(["prune"])
        #expect(prune.status == 11, "prune must refuse a locked repository: \(prune.status) \(prune.stderr)")
        #expect(prune.stderr.contains("locked"))
    }

    static func line(_ text: String, _ prefix: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }
}

/// Holds a shared lock by running a long `backup --stdin` of our own that waits on its input.
final class LockHolder {
    let process: Process
    let input: Pipe

    static func start(repo: String) throws -> LockHolder {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = ["--repo", repo, "backup", "--stdin", "--stdin-filename", "held", "-q"]
        var env = ProcessInfo.processInfo.environment
        env["RESTIC_PASSWORD"] = "test-password"
        process.environment = env
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The lock is written before the first byte is read; wait until it is on disk.
        let locks = URL(fileURLWithPath: repo).appendingPathComponent("locks").path
        // Under a loaded machine opening the repository can take seconds; wait for a finished
        // lock file (64 hex digits, not a temporary name).
        for _ in 0..<600 {
            if let names = try? FileManager.default.contentsOfDirectory(atPath: locks),
               names.contains(where: { $0.count == 64 }) { break }
            usleep(50_000)
        }
        return LockHolder(process: process, input: input)
    }

    init(process: Process, input: Pipe) {
        self.process = process
        self.input = input
    }

    func stop() {
        try? input.fileHandleForWriting.write(contentsOf: Data("done".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
