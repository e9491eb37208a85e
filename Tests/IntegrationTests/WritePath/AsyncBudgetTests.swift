import Testing
import CartaeSync

/// The budget that bounds the bytes of chunk copies between backup's readers and sealers (and
/// a backend's connections): chunks range from 512 KiB to 8 MiB, so a count alone would let
/// memory swing by 16x.
@Suite("async budget")
struct AsyncBudgetTests {
    @Test("the budget holds waiters in order, admits an oversized chunk alone, and lets a cancelled waiter go")
    func byteBudget() async throws {
        let budget = AsyncBudget(limit: 10)
        try await budget.acquire(6)
        // 6 + 6 > 10: waits until the first is given back.
        let second = Task { try await budget.acquire(6); return "second" }
        try await Task.sleep(nanoseconds: 50_000_000)
        // A small one behind a waiting one waits too (arrival order), though 6 + 3 would fit.
        let third = Task { try await budget.acquire(3); return "third" }
        try await Task.sleep(nanoseconds: 50_000_000)
        let cancelled = Task { try await budget.acquire(1) }
        try await Task.sleep(nanoseconds: 50_000_000)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        budget.release(6)
        #expect(try await second.value == "second")
        #expect(try await third.value == "third")
        budget.release(6)
        budget.release(3)
        // Larger than the whole budget: admitted once nothing else is in flight.
        try await budget.acquire(25)
        let after = Task { try await budget.acquire(1) }
        try await Task.sleep(nanoseconds: 50_000_000)
        budget.release(25)
        try await after.value
    }
}
