import ResticCore

extension RepositoryLock {
    /// As `withLock`, but `body` starts as soon as the lock file is written, while the lock is
    /// confirmed (restic's 200 ms wait and second listing) beside it. Writes `body` makes through
    /// `Repository.saveUnpacked` and `RepositoryWriter` wait for the confirmation; `body` must
    /// make no other writes. If the confirmation finds a conflict, `body` is cancelled and the
    /// conflict is thrown; `confirmed` runs after the second listing and may also refuse (a
    /// backup checks there that the index it loaded before the lock is still whole).
    public static func withLockConfirmedAlongside<T: Sendable>(
        _ repository: Repository, exclusive: Bool, retryFor: Duration? = nil,
        confirmationDelay chosen: Duration? = nil,
        confirmed: @escaping @Sendable () async throws -> Void = {},
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let delay = chosen ?? confirmationDelay(for: repository)
        let ours = try await write(repository, exclusive: exclusive, retryFor: retryFor)
        let held = HeldLock(ours)
        let confirmation = LockConfirmation()
        do {
            let result = try await withThrowingTaskGroup(of: AlongsideOutcome<T>.self) { group in
                group.addTask {
                    do {
                        try await Task.sleep(for: delay)
                        try await checkConflicts(repository, exclusive: exclusive, ignoring: ours)
                        try await confirmed()
                        confirmation.settle(.success(()))
                    } catch {
                        confirmation.settle(.failure(error))
                        throw error
                    }
                    return .confirmed
                }
                group.addTask {
                    .value(try await LockConfirmation.$current.withValue(confirmation) { try await body() })
                }
                var value: T?
                var isConfirmed = false
                while let outcome = try await group.next() {
                    switch outcome {
                    case .confirmed:
                        isConfirmed = true
                        group.addTask {
                            try await refreshLoop(repository, exclusive: exclusive, held: held)
                            return .refreshed
                        }
                    case .value(let produced):
                        value = produced
                    case .refreshed:
                        break
                    }
                    if isConfirmed, let value {
                        group.cancelAll()
                        while (try? await group.next()) != nil {}
                        return value
                    }
                }
                throw CancellationError()
            }
            await release(repository, held.id)
            return result
        } catch {
            await release(repository, held.id)
            throw error
        }
    }

    enum AlongsideOutcome<T: Sendable>: Sendable {
        case confirmed
        case value(T)
        case refreshed
    }

    /// restic's wait between writing a lock and listing the locks again.
    public static let confirmationDelay: Duration = .milliseconds(200)

    /// The wait before the second listing. restic waits 200 ms on every backend because some
    /// list new files late (S3 was eventually consistent). A repository on this machine's file
    /// system lists a renamed file at once, and then no wait is needed for two processes to
    /// see each other: if our second listing misses the other lock, that lock was written
    /// after ours was in place, so the other process's second listing, later still, finds
    /// ours, whether it waited 200 ms or not. (Shared file systems that cache listings, NFS,
    /// defeat a 200 ms wait just as well.) So a local repository skips it.
    public static func confirmationDelay(for repository: Repository) -> Duration {
        repository.backend.localPath(FileHandle(.lock, "confirm")) == nil ? confirmationDelay : .zero
    }

    /// Writes our lock once no conflicting lock is listed, waiting up to `retryFor` for one to go.
    static func write(_ repository: Repository, exclusive: Bool, retryFor: Duration?) async throws -> ObjectID {
        let clock = ContinuousClock()
        let deadline = clock.now + (retryFor ?? .zero)
        var wait: Duration = .seconds(5)
        while true {
            do {
                try await checkConflicts(repository, exclusive: exclusive, ignoring: nil)
                return try await repository.saveUnpacked(.lock, makeLock(exclusive: exclusive).encode())
            } catch let error as ResticError where error.kind == .locked && clock.now < deadline {
                try await Task.sleep(for: min(wait, deadline - clock.now))
                wait = min(wait * 2, .seconds(60))
            }
        }
    }
}
