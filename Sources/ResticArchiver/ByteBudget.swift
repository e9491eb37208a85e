import CartaeSync

/// Bounds the bytes of chunk copies between the readers and the sealers: queued, being sealed,
/// or made and waiting for room in the queue. A count of chunks alone does not bound memory, as
/// a chunk may be anything from 512 KiB to 8 MiB: six maximal chunks in flight at once were
/// 48 MiB. Waiters are served in arrival order; one chunk larger than the whole budget still
/// goes through once nothing else is in flight.
final class ByteBudget: Sendable {
    private struct Waiter {
        let ticket: Int
        let bytes: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State: ~Copyable {
        var used = 0
        var waiters: [Waiter] = []
        var nextTicket = 0

        func admits(_ bytes: Int, limit: Int) -> Bool { used == 0 || used + bytes <= limit }
    }

    let limit: Int
    private let state = Locked(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// Waits until `bytes` fit in the budget and takes them; throws when the task is cancelled.
    func acquire(_ bytes: Int) async throws {
        let limit = limit
        let ticket: Int? = state.withLock { state in
            if state.waiters.isEmpty && state.admits(bytes, limit: limit) {
                state.used += bytes
                return nil
            }
            state.nextTicket += 1
            return state.nextTicket
        }
        guard let ticket else { return }
        let granted = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now: Bool? = state.withLock { state in
                    // Checked under the lock the cancellation handler takes: either it has run
                    // (the flag is set) or it will find this waiter queued.
                    if Task.isCancelled { return false }
                    if state.waiters.isEmpty && state.admits(bytes, limit: limit) {
                        state.used += bytes
                        return true
                    }
                    state.waiters.append(Waiter(ticket: ticket, bytes: bytes, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: false)
            // Whoever queued behind it may fit now.
            release(0)
        }
        if !granted { throw CancellationError() }
    }

    /// Gives back bytes taken with `acquire`.
    func release(_ bytes: Int) {
        let limit = limit
        let ready: [Waiter] = state.withLock { state in
            state.used -= bytes
            var ready: [Waiter] = []
            while let first = state.waiters.first, state.admits(first.bytes, limit: limit) {
                state.used += first.bytes
                ready.append(state.waiters.removeFirst())
            }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }
}
