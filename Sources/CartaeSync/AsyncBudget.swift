/// A budget tasks take units of and give back, waiting while it is spent: connections to a
/// backend (one unit each), bytes of chunk copies between backup's readers and sealers (a
/// chunk's size each). Waiters are served in arrival order; a request larger than the whole
/// budget still goes through once nothing else is taken, so no single request waits forever.
public final class AsyncBudget: Sendable {
    private struct Waiter {
        let ticket: Int
        let units: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State: ~Copyable {
        var used = 0
        /// Waiters from `head` on; a cancelled one leaves a nil behind.
        var waiters: [Waiter?] = []
        var head = 0
        var nextTicket = 0

        var nobodyWaiting: Bool { head == waiters.count }

        func admits(_ units: Int, limit: Int) -> Bool { used == 0 || used + units <= limit }

        mutating func compact() {
            while head < waiters.count && waiters[head] == nil { head += 1 }
            if head > 64 && head * 2 > waiters.count {
                waiters.removeFirst(head)
                head = 0
            }
        }
    }

    public let limit: Int
    private let state = Locked(State())

    public init(limit: Int) {
        self.limit = limit
    }

    /// Waits until `units` fit in the budget and takes them; throws `CancellationError` when
    /// the task is cancelled while it waits.
    public func acquire(_ units: Int) async throws {
        let limit = limit
        let ticket: Int? = state.withLock { state in
            if state.nobodyWaiting && state.admits(units, limit: limit) {
                state.used += units
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
                    if state.nobodyWaiting && state.admits(units, limit: limit) {
                        state.used += units
                        return true
                    }
                    state.waiters.append(Waiter(ticket: ticket, units: units, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters[state.head...].firstIndex(where: { $0?.ticket == ticket }) else { return nil }
                let waiter = state.waiters[index]
                state.waiters[index] = nil
                state.compact()
                return waiter
            }
            waiter?.continuation.resume(returning: false)
            // Whoever queued behind it may fit now.
            release(0)
        }
        if !granted { throw CancellationError() }
    }

    /// Gives back units taken with `acquire`.
    public func release(_ units: Int) {
        let limit = limit
        let ready: [Waiter] = state.withLock { state in
            state.used -= units
            var ready: [Waiter] = []
            while state.head < state.waiters.count, let first = state.waiters[state.head],
                  state.admits(first.units, limit: limit) {
                state.used += first.units
                ready.append(first)
                state.waiters[state.head] = nil
                state.compact()
            }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }
}
