import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Running out of space, on the repository's disk and on a restore target. Both must end in one
/// clear error (exit 1, as restic), leave the repository exactly as consistent as before, and
/// work again once there is room.
@Suite("full disk")
struct DiskFullTests {
    /// 40 MiB of incompressible data: more than the 24 MiB disk holds, and more than one 16 MiB
    /// pack, so the first pack is stored and a later one fails half-written.
    static let bigSize = 40 << 20

    @Test("backup onto a full disk: one error naming the file, exit 1, no snapshot, no leftovers; check passes; a later backup works")
    func repositoryDiskFull() async throws {
        let disk = try SmallDisk(megabytes: 24)
        defer { disk.remove() }
        let repo = try await WriteRepo.ours(in: disk.dir.appendingPathComponent("mnt"))
        let source = disk.dir.appendingPathComponent("src").path
        try TreeGenerator.makeDirectory(source)
        try TreeGenerator.write(source + "/big.bin", TreeGenerator.randomBytes(Self.bigSize, seed: 40))

        let failed = try Harness.ours(["backup", source], repo: repo, password: WriteRepo.password)
        Hardening.expectOneError(failed, status: 1, naming: ["no space left on device", repo + "/data/"], "backup onto a full disk")
        #expect(!failed.stderr.contains(".tmp-"), "the error should name the file being saved, not its temporary name: \(failed.stderr)")
        #expect(!failed.stderr.contains("Warning"), "a repository that cannot store data is not an unreadable source file: \(failed.stderr)")
        #expect(WriteRepo.files(repo, "snapshots").isEmpty, "no snapshot may be written")
        #expect(WriteRepo.files(repo, "locks").isEmpty, "removing a lock needs no space: ours must be gone")
        #expect(Hardening.temporaryFiles(repo).isEmpty, "temporary files left: \(Hardening.temporaryFiles(repo))")

        // What is left is a stored pack nobody indexed: restic calls that "additional files".
        let restic = try WriteRepo.restic(repo, ["check"])
        #expect(restic.status == 0, "restic check: \(restic.out) \(restic.stderr)")
        let ours = try Harness.ours(["check"], repo: repo, password: WriteRepo.password)
        #expect(ours.status == 0, "our check: \(ours.out) \(ours.stderr)")

        // With the disk still full to the brim, even the lock cannot be written: same kind of error.
        let fillerPath = disk.path + "/filler"
        FileManager.default.createFile(atPath: fillerPath, contents: nil)
        let filler = try Foundation.FileHandle(forWritingTo: URL(fileURLWithPath: fillerPath))
        let block = Data(count: 1 << 20)
        while (try? filler.write(contentsOf: block)) != nil {}
        try? filler.close()
        let small = source + "/small.bin"
        try TreeGenerator.write(small, TreeGenerator.randomBytes(1 << 20, seed: 41))
        let noLock = try Harness.ours(["backup", small], repo: repo, password: WriteRepo.password)
        Hardening.expectOneError(noLock, status: 1, naming: ["no space left on device", repo + "/locks/"], "backup with no room for a lock")
        #expect(WriteRepo.files(repo, "locks").isEmpty && Hardening.temporaryFiles(repo).isEmpty)

        // Room again: a smaller backup succeeds and restic reads every byte of it back.
        try FileManager.default.removeItem(atPath: fillerPath)
        try FileManager.default.removeItem(atPath: source + "/big.bin")
        let retry = try Harness.ours(["backup", "-q", source], repo: repo, password: WriteRepo.password)
        #expect(retry.status == 0, "backup after freeing space: \(retry.stderr)")
        #expect(WriteRepo.files(repo, "snapshots").count == 1)
        let checkData = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(checkData.status == 0, "\(checkData.out) \(checkData.stderr)")
        let dump = try WriteRepo.restic(repo, ["dump", "latest", small])
        #expect(dump.status == 0 && dump.stdout == Data(TreeGenerator.randomBytes(1 << 20, seed: 41)))
    }

    @Test("restore onto a full disk: one error naming the file, exit 1 like restic, no crash")
    func restoreTargetFull() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(in: dir)
        let source = dir.appendingPathComponent("src").path
        try TreeGenerator.makeDirectory(source)
        try TreeGenerator.write(source + "/a-small.txt", Array("fits".utf8))
        try TreeGenerator.write(source + "/big.bin", TreeGenerator.randomBytes(12 << 20, seed: 12))
        let backup = try Harness.ours(["backup", "-q", source], repo: repo, password: WriteRepo.password)
        try #require(backup.status == 0, "\(backup.stderr)")

        let disk = try SmallDisk(megabytes: 8)
        defer { disk.remove() }
        for json in [false, true] {
            let target = disk.path + "/ours-\(json)"
            let restore = try Harness.ours(["restore", "latest", "--target", target] + (json ? ["--json"] : []),
                                           repo: repo, password: WriteRepo.password)
            Hardening.expectOneError(restore, status: 1, naming: ["no space left on device"], "restore --json=\(json)")
            // Which write meets the full disk first depends on the order the packs' reads finish
            // in: under load the small file's write has come after the large one's first blocks.
            #expect(["big.bin", "a-small.txt"].contains { restore.stderr.contains(source + "/" + $0) },
                    "the error names neither file: \(restore.stderr)")
            #expect(restore.stderr.split(separator: "\n").count == 1, "one line, not one per blob: \(restore.stderr)")
            try? FileManager.default.removeItem(atPath: target)
        }
        // restic gives up on the same disk with exit 1 too.
        let restic = try WriteRepo.restic(repo, ["restore", "latest", "--target", disk.path + "/restic"])
        #expect(restic.status == 1, "restic: \(restic.status) \(restic.stderr)")
    }
}
