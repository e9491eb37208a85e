import Testing
import ResticCore
@testable import ResticBackends

@Suite struct ConnectionLimitTests {
    @Test(arguments: [1, 3, 5])
    func neverMoreThanTheLimitAtOnce(limit: Int) async throws {
        let gate = Gate()
        let memory = MemoryBackend(gate: gate)
        let limited = ConnectionLimitBackend(memory, connections: limit)
        #expect(limited.connections == limit)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask {
                    try await limited.save(FileHandle(.snapshot, String(format64(index))), data: [UInt8(index)])
                }
            }
            // Every slot fills while the gate is shut, and no call gets past the limit.
            #expect(await eventually { memory.running == limit })
            try await Task.sleep(for: .milliseconds(50))
            #expect(memory.running == limit)
            gate.open()
            try await group.waitForAll()
        }
        #expect(memory.peakConcurrency == limit)
        #expect(memory.callLog.count == 16)
    }

    @Test func aFailureReleasesItsSlot() async throws {
        let memory = MemoryBackend { _, _ in ResticError.notFound("gone") }
        let limited = ConnectionLimitBackend(memory, connections: 1)
        for _ in 0..<3 {
            await #expect(throws: ResticError.self) { try await limited.stat(.config) }
        }
        #expect(memory.callLog.count == 3)
    }

    @Test func waitersCanBeCancelled() async throws {
        let gate = Gate()
        let memory = MemoryBackend(gate: gate)
        let limited = ConnectionLimitBackend(memory, connections: 1)
        let holder = Task { try await limited.stat(.config) }
        #expect(await eventually { memory.running == 1 })
        let waiter = Task { try await limited.list(.key) }
        waiter.cancel()
        gate.open()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        _ = try? await holder.value
        #expect(!memory.callLog.contains("list keys"))
    }
}

func format64(_ index: Int) -> String {
    let hex = String(index, radix: 16)
    return String(repeating: "0", count: 64 - hex.count) + hex
}
