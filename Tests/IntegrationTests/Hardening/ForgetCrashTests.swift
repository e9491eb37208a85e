import Foundation
import Testing

/// kill -9 during forget: a snapshot it was asked to remove may be gone or still there, but a
/// snapshot that is there restores whole, the newest one always; the next forget completes.
@Suite("crash consistency of forget")
struct ForgetCrashTests {
    @Test("forget --keep-last 1 --prune killed at 20 points spread over its writes and at 3 moments")
    func killedForgetPrune() async throws {
        let history = try await CrashHistory.make("forget-prune", generations: 7)
        defer { history.remove() }
        var scenario = CrashScenario(name: "forget --prune", dir: history.dir, template: history.repo, source: history.source,
                                     arguments: ["forget", "--keep-last", "1", "--prune"], exclusive: true,
                                     packSize: CrashHistory.packSize, snapshots: history.states)
        scenario.mayVanish = Array(history.ids.dropLast())
        // Killed during its prune, forget has nothing left to remove the next time and (as
        // restic's) does not prune then: unindexed leftovers may stay until the next prune.
        scenario.cleansUp = false
        let started = ContinuousClock.now
        let (reference, survived) = try scenario.surviveAll(check: { reference in
            let ops = reference.operations
            #expect(ops.filter { $0.hasPrefix("remove snapshots/") }.count == history.ids.count - 1, "\(ops)")
            #expect(ops.contains { $0.hasPrefix("remove data/") }, "the prune part should delete packs: \(reference.output)")
            // Snapshots go first, under forget's own lock; the prune takes a lock of its own.
            let lastSnapshot = try #require(ops.lastIndex { $0.hasPrefix("remove snapshots/") })
            let firstData = try #require(ops.firstIndex { $0.contains(" data/") || $0.contains(" index/") })
            #expect(lastSnapshot < firstData, "\(ops)")
        })
        print("forget --prune: \(survived) kill points (over \(reference.operations.count) writes, plus timed kills) checked in \(ContinuousClock.now - started)")
    }

    @Test("plain forget killed after each of its writes: removed snapshots are gone, the others restore")
    func killedForget() async throws {
        let history = try await CrashHistory.make("forget", generations: 8)
        defer { history.remove() }
        var scenario = CrashScenario(name: "forget", dir: history.dir, template: history.repo, source: history.source,
                                     arguments: ["forget", "--keep-last", "1"], exclusive: true,
                                     packSize: CrashHistory.packSize, snapshots: history.states)
        scenario.mayVanish = Array(history.ids.dropLast())
        // forget removes snapshot files only; the packs they used stay until a prune.
        let started = ContinuousClock.now
        let (reference, survived) = try scenario.surviveAll(count: 9, delays: [0.5], check: { reference in
            #expect(reference.operations.count == history.ids.count + 1, "lock, one removal per snapshot, unlock: \(reference.operations)")
        })
        print("forget: \(survived) kill points (over \(reference.operations.count) writes, plus timed kills) checked in \(ContinuousClock.now - started)")
    }
}
