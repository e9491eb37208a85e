import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// kill -9 during a backup, at points spread over its run: restic check must accept the
/// repository every time, and the next run must finish and reuse what was uploaded.
@Suite("crash safety of backup")
struct CrashTests {
    enum KillPoint: CustomStringConvertible {
        case lockTaken, packs(Int), indexWritten

        var description: String {
            switch self {
            case .lockTaken: return "after the lock was taken"
            case .packs(let n): return "after \(n) new pack(s)"
            case .indexWritten: return "after the index was written"
            }
        }
    }

    static let fileCount = 6
    static let fileSize = 10 << 20

    /// Starts a backup and kills it with SIGKILL once `point` is reached; returns the process
    /// (which may have finished on its own first).
    static func killedBackup(_ arguments: [String], repo: String, at point: KillPoint) async throws -> (Spawned, Bool) {
        let packsBefore = WriteRepo.packCount(repo)
        let indexBefore = WriteRepo.files(repo, "index").count
        let backup = try Spawned.ours(arguments, repo: repo)
        let reached = try waitUntil(timeout: .seconds(60)) {
            guard backup.isRunning else { return true }
            switch point {
            case .lockTaken: return !WriteRepo.files(repo, "locks").isEmpty
            case .packs(let n): return WriteRepo.packCount(repo) >= packsBefore + n
            case .indexWritten: return WriteRepo.files(repo, "index").count > indexBefore
            }
        }
        backup.killHard()
        return (backup, reached)
    }

    static func urandom(_ count: Int) throws -> [UInt8] {
        let handle = try Foundation.FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? handle.close() }
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }

    @Test("kill -9 at five points of a 60 MiB backup: restic check passes each time; the next run completes and uploads only what was not stored")
    func killAndResume() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("src").path
        try TreeGenerator.makeDirectory(source)
        for i in 0..<Self.fileCount {
            try TreeGenerator.write("\(source)/part-\(i).bin", try Self.urandom(Self.fileSize))
        }
        let total = Self.fileCount * Self.fileSize
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let arguments = ["--pack-size", "4", "backup", "--json", source]

        for point in [KillPoint.lockTaken, .packs(1), .packs(3), .packs(3)] {
            let (backup, reached) = try await Self.killedBackup(arguments, repo: repo, at: point)
            #expect(reached, "\(point): not reached in time")
            try #require(backup.process.terminationReason == .uncaughtSignal,
                         "\(point): the run ended before it was killed (\(backup.process.terminationStatus)): \(backup.stderr) \(String(decoding: backup.stdout, as: UTF8.self)) locks \(WriteRepo.files(repo, "locks")) packs \(WriteRepo.files(repo, "data").count)")
            // The killed process's lock stays behind; restic check would refuse to run next to
            // it, so check without locking (our next backup must cope with the stale lock).
            let check = try WriteRepo.restic(repo, ["--no-lock", "check"])
            #expect(check.status == 0, "\(point): restic check failed:\n\(check.out)\n\(check.stderr)")
            #expect(try WriteRepo.snapshots(repo).isEmpty, "\(point): a killed run left a snapshot")
        }

        let packBytesBefore = WriteRepo.packBytes(repo)
        #expect(WriteRepo.packCount(repo) >= 7, "the kills should have left packs behind")
        let (resumed, summary) = try WriteRepo.backup(repo, ["--pack-size", "4", source])
        try #require(resumed.status == 0, "resumed backup: \(resumed.stderr)")
        let added = try #require(WriteRepo.int(summary, "data_added"))
        // What the killed runs stored is reused; only the rest is uploaded, and the repository
        // holds the source about once.
        #expect(added < total - packBytesBefore / 2, "data_added \(added) of \(total) with \(packBytesBefore) already stored")
        #expect(added + packBytesBefore <= total + total / 20 + (1 << 20),
                "data_added \(added) + already stored \(packBytesBefore) exceeds the source size \(total)")
        #expect(WriteRepo.packBytes(repo) <= total + total / 20 + (1 << 20))

        #expect(try WriteRepo.restic(repo, ["unlock"]).status == 0)
        let check = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(check.status == 0, "\(check.out)\n\(check.stderr)")
        #expect(!check.out.contains("not referenced in any index"), "packs left unindexed: \(check.out)")
        let snapshot = try #require(try WriteRepo.snapshots(repo).last?["id"] as? String)
        let compare = try WriteRepo.restoreAndCompare(repo, snapshot: snapshot, source: source)
        #expect(compare.status == 0, "\(compare.stderr)")

        // Fifth point: between the index and the snapshot of an incremental run (a window of a
        // few milliseconds; if the run wins the race it simply completes).
        try TreeGenerator.write("\(source)/part-0.bin", try Self.urandom(Self.fileSize))
        let (last, _) = try await Self.killedBackup(arguments, repo: repo, at: .indexWritten)
        let finished = last.process.terminationReason == .exit
        #expect(!finished || last.process.terminationStatus == 0, "\(last.stderr)")
        let lastCheck = try WriteRepo.restic(repo, ["--no-lock", "check"])
        #expect(lastCheck.status == 0, "after the index point: \(lastCheck.out)\n\(lastCheck.stderr)")
        // The kill may also land after the snapshot was stored (the process still removes its
        // lock then); either way restic check passed above.
        let count = try WriteRepo.snapshots(repo).count
        #expect(finished ? count == 2 : (1...2).contains(count), "\(count) snapshots")
    }
}
