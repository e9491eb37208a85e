import Foundation
import Testing

/// repair index, repair snapshots, unlock and prune's repack flags, judged by restic.
@Suite(.serialized) struct RepairAndUnlockTests {
    @Test func repairIndexRebuildsALostIndexFromPackHeaders() throws {
        let f = try MaintenanceFixture.make(files: 3)
        defer { f.cleanup() }
        try f.backup(tag: "a")
        let expected = try Harness.manifest(f.source, extra: ["--ignore", "mtime_dirs"])
        for name in f.files(in: "index") { try FileManager.default.removeItem(atPath: f.repo + "/index/" + name) }
        #expect(try f.restic(["check"]).status != 0, "without an index restic must see missing blobs")
        let repair = try f.ours(["repair", "index"])
        #expect(repair.status == 0, "\(repair.stderr)")
        #expect(repair.out.contains("read \(f.packs().count) pack headers"), "\(repair.out)")
        try f.expectResticCheckClean("after repair index")
        try f.expectRestores("latest", equal: expected)
    }

    @Test func repairIndexReplacesADamagedIndexFile() throws {
        let f = try MaintenanceFixture.make(files: 2)
        defer { f.cleanup() }
        try f.backup(tag: "a")
        let index = try #require(f.files(in: "index").first)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: f.repo + "/index/" + index))
        let repair = try f.ours(["repair", "index"])
        #expect(repair.status == 0, "\(repair.stderr)")
        #expect(!f.files(in: "index").contains(index))
        try f.expectResticCheckClean("after replacing a damaged index")
    }

    @Test func repairSnapshotsDropsMissingContentAndKeepsTheRest() throws {
        let f = try MaintenanceFixture.make(files: 1, size: 600_000)
        defer { f.cleanup() }
        try f.backup(tag: "base")
        let firstPacks = f.packs()
        try MaintenanceFixture.randomFile(f.source + "/lost.bin", size: 700_000, seed: 42)
        try f.backup(tag: "broken")
        // Lose the data pack that holds only lost.bin, then rebuild the index without it.
        let lostPacks = f.packs().subtracting(firstPacks)
        let sizes = lostPacks.map { name -> (String, Int) in
            let path = f.repo + "/data/" + name.prefix(2) + "/" + name
            return (path, (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }
        let dataPack = try #require(sizes.max { $0.1 < $1.1 })
        try FileManager.default.removeItem(atPath: dataPack.0)
        #expect(try f.ours(["repair", "index"]).status == 0)
        #expect(try f.restic(["check"]).status != 0, "the broken snapshot references a missing blob")

        let repair = try f.ours(["repair", "snapshots", "--forget"])
        #expect(repair.status == 0, "\(repair.stderr)")
        #expect(repair.out.contains("lost.bin"), "\(repair.out)")
        #expect(repair.out.contains("removed missing content"), "\(repair.out)")
        let check = try f.restic(["check", "--read-data"])
        #expect(check.status == 0, "\(check.out)\(check.stderr)")
        // The repaired snapshot records its original and still restores the intact file.
        let snapshots = try JSONSerialization.jsonObject(with: try f.restic(["snapshots", "--json"]).stdout) as? [[String: Any]] ?? []
        #expect(snapshots.count == 2)
        #expect(snapshots.contains { $0["original"] != nil })
        let target = f.dir.appendingPathComponent("out").path
        #expect(try f.restic(["restore", "latest", "--target", target]).status == 0)
        let restored = try Data(contentsOf: URL(fileURLWithPath: target + f.source + "/file0.bin"))
        let original = try Data(contentsOf: URL(fileURLWithPath: f.source + "/file0.bin"))
        #expect(restored == original)
        let lost = try FileManager.default.attributesOfItem(atPath: target + f.source + "/lost.bin")[.size] as? Int
        #expect(lost == 0, "a file whose only blob is gone keeps its name with no content")
    }

    @Test func unlockRemovesStaleLocksAndRemoveAllRemovesEveryLock() throws {
        let f = try MaintenanceFixture.make(files: 1)
        defer { f.cleanup() }
        try f.backup(tag: "a")
        // A live lock held by a running backup, and a stale one left by a dead process.
        let holder = try LockHolder.start(repo: f.repo)
        defer { holder.stop() }
        func locks() -> [String] { f.files(in: "locks").filter { $0.count == 64 } }
        let liveLocks = locks()
        #expect(liveLocks.count == 1, "only the holder's lock is present: \(liveLocks)")
        // A stale lock: restic holding a shared lock, killed hard, leaves it behind.
        let resticLock = Process()
        resticLock.executableURL = URL(fileURLWithPath: try Harness.which("restic"))
        resticLock.arguments = ["--no-cache", "-r", f.repo, "backup", "--stdin"]
        resticLock.environment = ["RESTIC_PASSWORD": "test-password", "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        resticLock.standardInput = pipe
        resticLock.standardOutput = FileHandle.nullDevice
        resticLock.standardError = FileHandle.nullDevice
        try resticLock.run()
        for _ in 0..<200 where locks().count < 2 { usleep(50_000) }
        kill(resticLock.processIdentifier, SIGKILL)
        resticLock.waitUntilExit()
        #expect(locks().count == 2)

        let unlock = try f.ours(["unlock"])
        #expect(unlock.status == 0, "\(unlock.stderr)")
        #expect(unlock.out.contains("removed 1 locks"), "\(unlock.out)")
        #expect(locks() == liveLocks, "the live lock stays")

        let all = try f.ours(["unlock", "--remove-all"])
        #expect(all.status == 0)
        #expect(locks().isEmpty)
    }

    @Test func pruneRepackFlagsAreHonoured() throws {
        let f = try MaintenanceFixture.make(files: 4, size: 1_000_000)
        defer { f.cleanup() }
        // v2 data stored uncompressed (--compression off) is repacked only with --repack-uncompressed.
        let off = try Harness.ours(["--compression", "off", "backup", "-q", f.source], repo: f.repo)
        #expect(off.status == 0)
        let plain = try f.ours(["prune", "--dry-run"])
        #expect(plain.out.contains("to repack:    0 packs"), "\(plain.out)")
        let uncompressed = try f.ours(["prune", "--dry-run", "--repack-uncompressed"])
        #expect(!uncompressed.out.contains("to repack:    0 packs"), "\(uncompressed.out)")

        // Half the data unused: --max-unused unlimited repacks nothing, --max-repack-size 1 too.
        try FileManager.default.removeItem(atPath: f.source + "/file0.bin")
        try FileManager.default.removeItem(atPath: f.source + "/file1.bin")
        try f.backup(tag: "b")
        let ids = try f.snapshotIDs()
        #expect(try f.restic(["forget", ids[0]]).status == 0)
        let unlimited = try f.ours(["prune", "--dry-run", "--max-unused", "unlimited"])
        #expect(unlimited.out.contains("to repack:    0 packs"), "\(unlimited.out)")
        let capped = try f.ours(["prune", "--dry-run", "--max-repack-size", "1"])
        #expect(capped.out.contains("to repack:    0 packs"), "\(capped.out)")
        let normal = try f.ours(["prune", "--max-unused", "0%", "--repack-uncompressed"])
        #expect(normal.status == 0)
        #expect(normal.out.contains("to repack:    1 packs"), "\(normal.out)")
        try f.expectResticCheckClean("after repacking")
        #expect(try f.ours(["prune", "--dry-run", "--max-unused", "0%"]).out.contains("to repack:    0 packs"))
        let bad = try f.ours(["prune", "--max-unused", "lots"])
        #expect(bad.status == 1 && bad.stderr.contains("--max-unused"))
    }
}
