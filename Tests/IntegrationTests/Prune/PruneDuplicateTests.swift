import Foundation
import Testing
import ResticCore
import ResticBackends
import ResticRepository

/// prune on repositories whose index names a blob more than once: a blob stored in two packs
/// keeps exactly one copy, and a pack listed by two index files is counted once.
@Suite(.serialized) struct PruneDuplicateTests {
    @Test func pruneKeepsOneCopyOfBlobsStoredTwice() throws {
        let f = try MaintenanceFixture.make(files: 3, resticInit: true)
        defer { f.cleanup() }
        #expect(try f.restic(["backup", "--tag", "a", f.source]).status == 0)
        // Without an index restic stores everything again; rebuilding the index then lists
        // both copies of every blob.
        for name in f.files(in: "index") { try FileManager.default.removeItem(atPath: f.repo + "/index/" + name) }
        #expect(try f.restic(["backup", "--force", "--tag", "b", f.source]).status == 0)
        #expect(try f.restic(["rebuild-index"]).status == 0)
        let expected = try Harness.manifest(f.source, extra: ["--ignore", "mtime_dirs"])
        let bytesBefore = packBytes(f)

        let prune = try f.ours(["prune"])
        #expect(prune.status == 0, "prune failed: \(prune.stderr)")
        // The files' data (random, 4.5 MB) was stored twice; one copy goes as a whole pack.
        #expect(PruneTests.line(prune.out, "to delete:")?.contains(" 0 B") == false, "\(prune.out)")
        #expect(packBytes(f) < bytesBefore * 6 / 10, "\(prune.out)")
        try f.expectResticCheckClean("after pruning duplicates")
        try f.expectRestores("latest", equal: expected)
        let resticPrune = try f.restic(["prune", "--dry-run"])
        #expect(PruneTests.line(resticPrune.out, "to delete:")?.hasSuffix(" 0 blobs / 0 B") == true, "\(resticPrune.out)")
        #expect(PruneTests.line(resticPrune.out, "to repack:")?.hasSuffix(" 0 blobs / 0 B") == true, "\(resticPrune.out)")
    }

    @Test func pruneCountsAPackListedByTwoIndexFilesOnce() async throws {
        let f = try MaintenanceFixture.make(files: 3)
        defer { f.cleanup() }
        try f.backup(tag: "first")
        try FileManager.default.removeItem(atPath: f.source + "/file1.bin")
        try f.backup(tag: "second")
        let expected = try Harness.manifest(f.source, extra: ["--ignore", "mtime_dirs"])
        // A second index file naming the same packs again, as an interrupted prune can leave.
        let repository = try await Repository.open(LocalBackend(path: f.repo), password: "test-password")
        var packs: [IndexPack] = []
        for id in try await repository.list(.index) {
            packs += try IndexFile.decode(try await repository.loadUnpacked(.index, id)).packs
        }
        _ = try await repository.saveIndex(packs)
        try #require(f.files(in: "index").count >= 2)
        let ids = try f.snapshotIDs()
        try #require(ids.count == 2)
        #expect(try f.restic(["forget", ids[0]]).status == 0)

        let indexesBefore = Set(f.files(in: "index"))
        let prune = try f.ours(["prune"])
        #expect(prune.status == 0, "prune failed: \(prune.stderr)")
        #expect(prune.out.contains("to repack:    1 packs"), "\(prune.out)")
        #expect(Set(f.files(in: "index")).isDisjoint(with: indexesBefore))
        try f.expectResticCheckClean("after pruning a doubly indexed repository")
        try f.expectRestores("latest", equal: expected)
        let resticPrune = try f.restic(["prune", "--dry-run"])
        #expect(PruneTests.line(resticPrune.out, "to repack:")?.hasSuffix(" 0 blobs / 0 B") == true, "\(resticPrune.out)")
    }

    private func packBytes(_ f: MaintenanceFixture) -> Int {
        var total = 0
        for name in f.packs() {
            let path = f.repo + "/data/" + name.prefix(2) + "/" + name
            total += ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        }
        return total
    }
}
