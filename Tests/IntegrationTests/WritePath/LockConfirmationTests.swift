import Foundation
import Testing
import ResticCore
import ResticBackends
import ResticRepository

/// `withLockConfirmedAlongside`: the body starts before the lock is confirmed, but none of its
/// writes lands until it is, and a conflict found by the confirmation ends the body.
@Suite("lock confirmed alongside the work")
struct LockConfirmationTests {
    /// An exclusive lock as another process on another host would write it.
    static func foreignExclusiveLock() -> [UInt8] {
        LockFile(time: GoTime.now(), exclusive: true, hostname: "elsewhere", username: "other",
                 pid: 4242, uid: 1000, gid: 1000).encode()
    }

    /// The error the lock's confirmation ended `body` with; nil (and an issue recorded) when
    /// the body's writes went through.
    static func refusal(_ repo: Repository, confirmationDelay: Duration? = nil,
                        confirmed: @escaping @Sendable () async throws -> Void = {},
                        _ body: @escaping @Sendable () async throws -> Void) async -> Error? {
        do {
            _ = try await RepositoryLock.withLockConfirmedAlongside(repo, exclusive: false, confirmationDelay: confirmationDelay,
                                                                    confirmed: confirmed) {
                try await body()
                return true
            }
        } catch {
            return error
        }
        Issue.record("the body's writes went through although the confirmation refused the lock")
        return nil
    }

    @Test("a conflicting lock that appears during the confirmation stops the body's writes: no snapshot, exit kind locked")
    func conflictStopsWrites() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try await WriteRepo.ours(in: dir)
        let repo = try await Repository.open(LocalBackend(path: path), password: WriteRepo.password)
        // Generous delay: the body writes the other lock long before the second listing.
        let refused = await Self.refusal(repo, confirmationDelay: .seconds(3)) {
            _ = try await repo.saveUnpacked(.lock, Self.foreignExclusiveLock())
            _ = try await repo.saveUnpacked(.snapshot, Array("{}".utf8))
        }
        guard let error = refused else { return }
        #expect((error as? ResticError)?.kind == .locked, "\(error)")
        #expect(WriteRepo.files(path, "snapshots").isEmpty)
        #expect(WriteRepo.files(path, "locks").count == 1, "only the other process's lock stays")
    }

    @Test("without a conflict the body's writes wait for the confirmation, then land, and the lock goes")
    func writesLandAfterConfirmation() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try await WriteRepo.ours(in: dir)
        let repo = try await Repository.open(LocalBackend(path: path), password: WriteRepo.password)
        let clock = ContinuousClock()
        let start = clock.now
        let (id, wroteAfter) = try await RepositoryLock.withLockConfirmedAlongside(
            repo, exclusive: true, confirmationDelay: .milliseconds(300)
        ) {
            // Reads run at once; the write waits until the lock is confirmed.
            #expect(try await repo.list(.lock).count == 1)
            let id = try await repo.saveUnpacked(.snapshot, Array("{}".utf8))
            return (id, clock.now - start)
        }
        #expect(wroteAfter >= .milliseconds(300), "the write went out \(wroteAfter) after the lock, before its confirmation")
        #expect(WriteRepo.files(path, "snapshots") == [id.hex])
        #expect(WriteRepo.files(path, "locks").isEmpty)
    }

    /// restic's 200 ms wait is for backends that list new files late; a repository on this
    /// machine's file system lists a renamed lock at once and skips it. A backend that does not
    /// say where its files lie (as a remote one) keeps it.
    @Test("a local repository confirms its lock without restic's 200 ms wait; a backend with no local path keeps it")
    func localRepositoriesSkipTheWait() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try await WriteRepo.ours(in: dir)
        let local = try await Repository.open(LocalBackend(path: path), password: WriteRepo.password)
        #expect(RepositoryLock.confirmationDelay(for: local) == .zero)
        let elsewhere = try await Repository.open(FaultyBackend(LocalBackend(path: path), rate: 0, seed: 1),
                                                  password: WriteRepo.password)
        #expect(RepositoryLock.confirmationDelay(for: elsewhere) == .milliseconds(200))

        // Without the wait the second listing still runs: a conflict it finds stops the writes.
        let refused = await Self.refusal(local, confirmed: { throw ResticError(.locked, "refused by the confirmation") }) {
            _ = try await local.saveUnpacked(.snapshot, Array("{}".utf8))
        }
        guard let error = refused else { return }
        #expect((error as? ResticError)?.kind == .locked, "\(error)")
        #expect(WriteRepo.files(path, "snapshots").isEmpty)
        #expect(WriteRepo.files(path, "locks").isEmpty)
    }
}
