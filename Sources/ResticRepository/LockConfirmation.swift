import ResticCore
import CartaeSync

/// The second half of taking a lock, run alongside the work it protects.
///
/// restic writes its lock, waits 200 ms and lists the locks again, since another process may
/// have written a conflicting one in between. Only writes need that answer: reading the index,
/// the parent snapshot's trees or the packs to check may start at once. Writes made inside
/// `RepositoryLock.withLockConfirmedAlongside` wait here first (`Repository.saveUnpacked` and
/// `RepositoryWriter.upload` ask), so nothing reaches the repository before the lock is sure.
public final class LockConfirmation: Sendable {
    private enum State {
        case pending([CheckedContinuation<Void, Error>])
        case confirmed
        case failed(Error)

        /// The outcome, once there is one.
        var settled: Result<Void, Error>? {
            switch self {
            case .pending: nil
            case .confirmed: .success(())
            case .failed(let error): .failure(error)
            }
        }
    }

    private let state = Locked<State>(.pending([]))

    /// The confirmation the current task's writes must wait for, if any.
    @TaskLocal public static var current: LockConfirmation?

    init() {}

    /// Returns once the lock is confirmed; throws the conflict (or cancellation) that ended it.
    public func wait() async throws {
        if let settled = state.withLock({ $0.settled }) { return try settled.get() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let settled: Result<Void, Error>? = state.withLock { state in
                guard case .pending(var waiting) = state else { return state.settled }
                waiting.append(continuation)
                state = .pending(waiting)
                return nil
            }
            if let settled { continuation.resume(with: settled) }
        }
    }

    func settle(_ outcome: Result<Void, Error>) {
        let waiting: [CheckedContinuation<Void, Error>] = state.withLock { state in
            guard case .pending(let waiting) = state else { return [] }
            switch outcome {
            case .success: state = .confirmed
            case .failure(let error): state = .failed(error)
            }
            return waiting
        }
        for continuation in waiting { continuation.resume(with: outcome) }
    }

    /// Waits for the confirmation the current task runs under, if there is one.
    static func waitIfPending() async throws {
        try await current?.wait()
    }
}
