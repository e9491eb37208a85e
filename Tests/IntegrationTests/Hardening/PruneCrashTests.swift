import Foundation
import Testing

/// A repository with a history: each generation of the source drops two files and adds three,
/// so old packs end up partly used once old snapshots are forgotten, and prune must repack.
struct CrashHistory {
    let dir: URL
    let repo: String
    let source: String
    /// Snapshot IDs, oldest first, and what each holds.
    let ids: [String]
    let states: [String: SourceState]

    /// Several blobs per pack (each file is one ~100 KB blob), so packs can be partly used.
    static let packSize = 256 << 10

    static func make(_ label: String, generations: Int) async throws -> CrashHistory {
        let dir = try TempDir.make("cartae-crash-\(label)")
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let source = dir.appendingPathComponent("src").path
        var state = SourceState.random("base", count: 9, size: 100_000, seed: 10)
        var ids: [String] = []
        var states: [String: SourceState] = [:]
        for generation in 0..<generations {
            if generation > 0 {
                // One file of the base and one of the previous generation go: their packs
                // (three files each) become partly used.
                let names = state.files.keys.sorted()
                let dropped = [names.first { $0.hasPrefix("base/") }, names.first { $0.hasPrefix("gen\(generation - 1)/") }]
                state = state.removing(dropped.compactMap { $0 })
                    .merging(.random("gen\(generation)", count: 3, size: 100_000, seed: 10 + UInt64(generation)))
            }
            try state.write(to: source)
            let env = CrashHook.environment(packSize: packSize).merging(["RESTIC_REPOSITORY": repo]) { $1 }
            let backup = try Harness.run(Harness.binary, ["backup", "--json", "--time", "2024-01-0\(generation + 1) 12:00:00", source],
                                         environment: env)
            try #require(backup.status == 0, "backup \(generation): \(backup.stderr)")
            let id = try #require(WriteRepo.summary(backup.stdout)?["snapshot_id"] as? String)
            ids.append(id)
            states[id] = state
        }
        return CrashHistory(dir: dir, repo: repo, source: source, ids: ids, states: states)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

/// kill -9 during prune, after each of its writes in turn (new packs, new index, deleting old
/// index files, deleting packs) and at a few moments: the repository stays valid, the kept
/// snapshots restore, and the next prune completes and removes what the killed one left.
@Suite("crash consistency of prune")
struct PruneCrashTests {
    @Test("kill -9 at 20 points spread over a prune that repacks and deletes, and at 3 moments: restic check passes, kept snapshots restore, the next prune cleans up")
    func killedPrunes() async throws {
        let history = try await CrashHistory.make("prune", generations: 6)
        defer { history.remove() }
        let forget = try Harness.ours(["forget", "--keep-last", "2"], repo: history.repo)
        try #require(forget.status == 0, "forget: \(forget.stderr)")
        let kept = Array(history.ids.suffix(2))

        let scenario = CrashScenario(name: "prune", dir: history.dir, template: history.repo, source: history.source,
                                     arguments: ["prune"], exclusive: true, packSize: CrashHistory.packSize,
                                     snapshots: history.states.filter { kept.contains($0.key) })
        let started = ContinuousClock.now
        let (reference, survived) = try scenario.surviveAll(check: { reference in
            let ops = reference.operations
            let newPacks = ops.filter { $0.hasPrefix("save data/") }.count
            let removedPacks = ops.filter { $0.hasPrefix("remove data/") }.count
            #expect(newPacks >= 1, "prune should repack: \(reference.output)")
            #expect(removedPacks >= 2, "prune should delete packs: \(reference.output)")
            // restic's order: new packs, new index, old index files deleted, packs deleted.
            let order = ["save data/", "save index/", "remove index/", "remove data/"]
            let ranks = ops.compactMap { op in order.firstIndex { op.hasPrefix($0) } }
            #expect(ranks == ranks.sorted(), "prune wrote out of order: \(ops)")
        })
        print("prune: \(survived) kill points (over \(reference.operations.count) writes, plus timed kills) checked in \(ContinuousClock.now - started)")
    }
}
