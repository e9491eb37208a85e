import Testing
import ResticCore
@testable import ResticBackends

@Suite struct RetryBackendTests {
    let fast = RetryPolicy(maxAttempts: 5, initialDelay: .milliseconds(1), multiplier: 2, maxDelay: .milliseconds(10),
                           maxElapsed: .seconds(600), jitter: 0.5)
    let handle = FileHandle(.pack, String(repeating: "ab", count: 32))

    @Test func temporaryFailuresAreRetried() async throws {
        let memory = MemoryBackend { call, count in
            call.hasPrefix("load") && count <= 2 ? ResticError(.temporary, "HTTP 503") : nil
        }
        try await memory.save(handle, data: [1, 2, 3, 4])
        let statistics = BackendStatistics()
        let retried = RetryBackend(memory, policy: fast, statistics: statistics)
        #expect(try await retried.load(handle, offset: 1, length: 2) == [2, 3])
        #expect(memory.callLog.filter { $0.hasPrefix("load") }.count == 3)
        #expect(statistics.retries == 2)
    }

    @Test func permanentFailuresAreNotRetried() async throws {
        let memory = MemoryBackend { call, _ in
            call.hasPrefix("stat") ? ResticError(.other, "access denied (HTTP 403)") : nil
        }
        let retried = RetryBackend(memory, policy: fast)
        await #expect(throws: ResticError.self) { try await retried.stat(handle) }
        await #expect(throws: ResticError.self) { try await retried.load(handle) }  // not found
        #expect(memory.callLog == ["stat \(handle)", "load \(handle)"])
    }

    @Test func givesUpAfterTheAttemptBudget() async throws {
        let memory = MemoryBackend { _, _ in ResticError(.temporary, "connection reset") }
        let collected = Collector()
        let retried = RetryBackend(memory, policy: fast, report: { collected.add($0) })
        do {
            _ = try await retried.list(.snapshot)
            Issue.record("a permanently failing list succeeded")
        } catch let error as ResticError {
            #expect(error.kind == .temporary)
            #expect(error.message.contains("gave up after 5 attempts"))
        }
        let reports = collected.items
        #expect(memory.callLog.count == 5)
        #expect(reports.count == 4)
        #expect(reports.allSatisfy { $0.contains("list snapshots failed, retrying in") })
    }

    @Test func boundedInTime() async throws {
        let memory = MemoryBackend { _, _ in ResticError(.temporary, "timeout") }
        // The attempt budget allows 1000 tries; 200 ms at 40 ms a pause allow at most 6. (A busy
        // test process only stretches the pauses, which means fewer tries, never more.)
        let slow = RetryPolicy(maxAttempts: 1000, initialDelay: .milliseconds(40), multiplier: 1, maxDelay: .milliseconds(40),
                               maxElapsed: .milliseconds(200), jitter: 0)
        await #expect(throws: ResticError.self) { try await RetryBackend(memory, policy: slow).stat(handle) }
        #expect(memory.callLog.count >= 1 && memory.callLog.count <= 6)
    }

    @Test func backoffGrowsWithJitterInBounds() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelay: .milliseconds(500), multiplier: 1.5,
                                 maxDelay: .seconds(30), maxElapsed: .seconds(300), jitter: 0.5)
        #expect(policy.delay(after: 1, random: 0) == .milliseconds(500))
        #expect(policy.delay(after: 2, random: 0) == .milliseconds(750))
        #expect(policy.delay(after: 3, random: 0) == .milliseconds(1125))
        #expect(policy.delay(after: 1, random: -1) == .milliseconds(250))
        #expect(policy.delay(after: 1, random: 1) == .milliseconds(750))
        #expect(policy.delay(after: 40, random: 0) == .seconds(30))
        #expect(policy.delay(after: 40, random: 1) == .seconds(45))
    }

    @Test func aTornUploadIsReplacedAndVerified() async throws {
        let memory = MemoryBackend(tornSaveBytes: 2) { call, count in
            call.hasPrefix("save") && count == 1 ? ResticError(.temporary, "connection reset during upload") : nil
        }
        let data: [UInt8] = Array(0..<100)
        try await RetryBackend(memory, policy: fast).save(handle, data: data)
        #expect(memory.contents(handle) == data)
        #expect(memory.callLog == ["save \(handle)", "save \(handle)", "stat \(handle)"])
    }

    @Test func cancellationStopsRetrying() async throws {
        let memory = MemoryBackend { _, _ in ResticError(.temporary, "HTTP 500") }
        let patient = RetryPolicy(maxAttempts: 100, initialDelay: .seconds(2), multiplier: 1, maxDelay: .seconds(2),
                                  maxElapsed: .seconds(600), jitter: 0)
        let task = Task { try await RetryBackend(memory, policy: patient).stat(handle) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // Ignoring cancellation would mean 100 attempts, 2 s apart.
        #expect(memory.callLog.count <= 1)
    }
}

/// Collects strings from concurrent callbacks.
final class Collector: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ item: String) { storage.withLock { $0.append(item) } }
    var items: [String] { storage.withLock { $0 } }
}

import Synchronization
