import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticBackends
import ResticRepository

/// backup's lock, seen from both sides: restic's exclusive lock stops us (exit 11) unless we
/// wait for it, and restic sees and honours the shared lock we hold while backing up.
@Suite("repository locks during backup")
struct LockTests {
    /// A repository, a small source, and restic holding an exclusive lock: `restic key passwd`
    /// takes it before it reads the new password from its (open, silent) standard input.
    struct Locked {
        let dir: URL
        let repo: String
        let source: String
        let holder: Spawned
        let lockID: String

        init() async throws {
            dir = try TempDir.make()
            repo = try await WriteRepo.ours(version: 2, in: dir)
            source = dir.appendingPathComponent("src").path
            try TreeGenerator.makeDirectory(source)
            try TreeGenerator.write(source + "/a.txt", Array("locked out".utf8))
            holder = try Spawned.restic(["key", "passwd"], repo: repo, pipeInput: true)
            let repo = repo
            guard try waitUntil(timeout: .seconds(20), { !WriteRepo.files(repo, "locks").isEmpty }),
                  let id = WriteRepo.files(repo, "locks").first else {
                holder.killHard()
                try? FileManager.default.removeItem(at: dir)
                throw HarnessError("restic key passwd did not take a lock: \(holder.stderr)")
            }
            lockID = id
        }

        /// Ends `restic key passwd` without a password: it fails and removes its lock.
        func release() throws {
            try holder.finishInput()
            _ = holder.wait()
        }

        func remove() {
            holder.killHard()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    @Test("restic's exclusive lock stops our backup with exit 11 and no snapshot; a short --retry-lock gives up too")
    func exclusiveLockStopsBackup() async throws {
        let l = try await Locked()
        defer { l.remove() }
        let (result, _) = try WriteRepo.backup(l.repo, [l.source])
        #expect(result.status == 11, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("locked"), "\(result.stderr)")
        #expect(result.stderr.contains("PID \(l.holder.process.processIdentifier)"), "\(result.stderr)")
        #expect(WriteRepo.files(l.repo, "locks") == [l.lockID], "our lock must not stay behind")

        let started = ContinuousClock.now
        let (retried, _) = try WriteRepo.backup(l.repo, ["--retry-lock", "1s", l.source])
        #expect(retried.status == 11)
        #expect(ContinuousClock.now - started >= .seconds(1), "--retry-lock 1s must wait before giving up")
        #expect(WriteRepo.files(l.repo, "snapshots").isEmpty)
        #expect(WriteRepo.files(l.repo, "data").isEmpty)
        try l.release()
        #expect(WriteRepo.files(l.repo, "locks").isEmpty)
    }

    @Test("with --retry-lock 20s the backup waits for restic's exclusive lock to go away, then succeeds")
    func retryLockWaits() async throws {
        let l = try await Locked()
        defer { l.remove() }
        let started = ContinuousClock.now
        let backup = try Spawned.ours(["backup", "--retry-lock", "20s", "--json", l.source], repo: l.repo)
        usleep(2_000_000)  // blocking on purpose, see waitUntil
        #expect(backup.isRunning, "the backup should still be waiting: \(backup.stderr)")
        try l.release()
        let status = backup.wait()
        #expect(status == 0, "\(backup.stderr)")
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(WriteRepo.summary(backup.stdout)?["snapshot_id"] != nil)
        #expect(try WriteRepo.snapshots(l.repo).count == 1)
        #expect(WriteRepo.files(l.repo, "locks").isEmpty)
    }

    @Test("a running backup holds a shared lock restic reads and honours; it is gone when the backup ends")
    func sharedLockDuringBackup() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        // --stdin from a pipe the test keeps open: the backup waits for data, holding its lock.
        let backup = try Spawned.ours(["backup", "--stdin", "--stdin-filename", "slow.txt"], repo: repo, pipeInput: true)
        defer { backup.killHard() }
        try #require(try waitUntil(timeout: .seconds(20)) { !WriteRepo.files(repo, "locks").isEmpty },
                     "no lock file appeared: \(backup.stderr)")
        let locks = WriteRepo.files(repo, "locks")
        try #require(locks.count == 1)

        let repository = try await Repository.open(LocalBackend(path: repo), password: WriteRepo.password)
        let lock = try LockFile.decode(try await repository.loadUnpacked(.lock, try #require(ObjectID(hex: locks[0]))))
        #expect(lock.exclusive == false)
        #expect(lock.pid == Int(backup.process.processIdentifier))
        #expect(lock.hostname == KeyRing.currentHostName())
        #expect(abs(lock.time.seconds - GoTime.now().seconds) < 60)

        // restic's check wants an exclusive lock and must be refused because of ours.
        let check = try WriteRepo.restic(repo, ["check"])
        #expect(check.status != 0)
        #expect(check.stderr.contains("locked") && check.stderr.contains("PID \(backup.process.processIdentifier)"), "\(check.stderr)")
        // A second backup (shared lock) runs alongside.
        let (second, _) = try WriteRepo.backup(repo, [dir.appendingPathComponent("repo/keys").path])
        #expect(second.status == 0, "\(second.stderr)")

        try backup.finishInput(Data("finally some data\n".utf8))
        #expect(backup.wait() == 0, "\(backup.stderr)")
        #expect(WriteRepo.files(repo, "locks").isEmpty)
        #expect(try WriteRepo.snapshots(repo).count == 2)
        #expect(try WriteRepo.restic(repo, ["check"]).status == 0)
    }
}
