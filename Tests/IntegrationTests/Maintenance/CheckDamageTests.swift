import Foundation
import Testing
import ResticCore
import ResticCrypto
import ResticRepository

/// `check` on damaged copies of the fixtures: each damage is found and named, errors exit 1,
/// and where restic 0.14 answers quickly (no backend retries) its verdict is compared.
@Suite("check finds damage")
struct CheckDamageTests {
    @Test("a deleted pack is named as missing, and the trees it held as unloadable", arguments: Fixture.repos)
    func deletedPack(repo: String) async throws {
        let fixture = try CheckRepo.fixture(repo)
        defer { fixture.remove() }
        let (pack, lostRoots) = try await fixture.deleteRootTreePack()

        let result = try fixture.check()
        CheckOutput.expectFailed(result, naming: ["pack \(pack.hex): does not exist"]
            + lostRoots.map { "error for tree \($0.shortHex):" })
        #expect(result.out.contains("check snapshots, trees and blobs"))
    }

    /// Packs are read while the trees are walked, but what reading finds is reported after the
    /// structure's findings, in restic's order.
    @Test("with --read-data a lost tree pack's tree errors come before the reading's, as in restic")
    func findingsKeepPhaseOrder() async throws {
        let fixture = try CheckRepo.fixture("repo-v2")
        defer { fixture.remove() }
        let (pack, lostRoots) = try await fixture.deleteRootTreePack()

        let result = try fixture.check(["--read-data"])
        let lostRoot = try #require(lostRoots.first)
        CheckOutput.expectFailed(result, naming: ["error for tree \(lostRoot.shortHex):", "pack \(pack.hex): download error"])
        let treeError = try #require(result.stderr.range(of: "error for tree"))
        let readError = try #require(result.stderr.range(of: "pack \(pack.hex): download error"))
        #expect(treeError.lowerBound < readError.lowerBound, "\(result.stderr)")
        #expect(result.out.contains("check snapshots, trees and blobs\nread all data\n"), "\(result.out)")
    }

    @Test("a deleted data pack is missing in both the pack listing and --read-data; trees stay fine")
    func deletedDataPack() async throws {
        let fixture = try CheckRepo.fixture("repo-v1")
        defer { fixture.remove() }
        let (_, location) = try await fixture.readmeLocation()
        try FileManager.default.removeItem(atPath: fixture.packPath(location.pack))
        let result = try fixture.check(["--read-data"])
        // The blob is still indexed, so the trees are fine; the pack is missing twice over.
        CheckOutput.expectFailed(result, naming: ["pack \(location.pack.hex): does not exist",
                                                  "pack \(location.pack.hex): download error"])
        #expect(!result.stderr.contains("error for tree"))
    }

    @Test("a flipped byte in a data blob passes the structure check but not --read-data", arguments: Fixture.repos)
    func flippedDataByte(repo: String) async throws {
        let fixture = try CheckRepo.fixture(repo)
        defer { fixture.remove() }
        let (readme, location) = try await fixture.readmeLocation()
        try ReadPath.flipByte(fixture.packPath(location.pack), at: Int(location.offset) + 20)

        CheckOutput.expectClean(try fixture.check())
        let result = try fixture.check(["--read-data"])
        CheckOutput.expectFailed(result, naming: [
            "pack \(location.pack.hex): blob \(readme): ciphertext verification failed",
            "pack \(location.pack.hex): unexpected pack id ",
        ])
        #expect(result.out.contains("read all data\n"))
        #expect(try fixture.restic(["--read-data"]).status == 1)
    }

    @Test("a flipped byte in a pack header is found by --read-data")
    func flippedHeaderByte() async throws {
        let fixture = try CheckRepo.fixture("repo-v2")
        defer { fixture.remove() }
        let (_, location) = try await fixture.readmeLocation()
        let size = try #require(try fixture.packFiles()[location.pack])
        try ReadPath.flipByte(fixture.packPath(location.pack), at: size - 10)

        CheckOutput.expectClean(try fixture.check())
        let result = try fixture.check(["--read-data"])
        CheckOutput.expectFailed(result, naming: [
            "pack \(location.pack.hex): unexpected pack id ",
            "pack \(location.pack.hex): header: ciphertext verification failed",
        ])
        #expect(!result.stderr.contains(": blob "), "blobs before the header are intact: \(result.stderr)")
        #expect(try fixture.restic(["--read-data"]).status == 1)
    }

    @Test("a truncated pack is named with restic's size message", arguments: Fixture.repos)
    func truncatedPack(repo: String) async throws {
        let fixture = try CheckRepo.fixture(repo)
        defer { fixture.remove() }
        let (_, location) = try await fixture.readmeLocation()
        let size = try #require(try fixture.packFiles()[location.pack])
        #expect(truncate(fixture.packPath(location.pack), off_t(size - 100)) == 0)

        // restic 0.14 prints this very line (its retries on the short pack make it too slow to run here).
        let line = "pack \(location.pack.hex): unexpected file size: got \(size - 100), expected \(size)"
        CheckOutput.expectFailed(try fixture.check(), naming: [line])
        CheckOutput.expectFailed(try fixture.check(["--read-data"]), naming: [line, "pack \(location.pack.hex): unexpected pack id"])
    }

    @Test("a pack with bytes appended has the wrong size and a bad header")
    func paddedPack() async throws {
        let fixture = try CheckRepo.fixture("repo-v2")
        defer { fixture.remove() }
        let (_, location) = try await fixture.readmeLocation()
        let size = try #require(try fixture.packFiles()[location.pack])
        let handle = try Foundation.FileHandle(forWritingTo: URL(fileURLWithPath: fixture.packPath(location.pack)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([1, 2, 3, 4, 5, 6, 7]))
        try handle.close()
        CheckOutput.expectFailed(try fixture.check(), naming: [
            "pack \(location.pack.hex): unexpected file size: got \(size + 7), expected \(size)",
        ])
    }

    @Test("a deleted index file: its packs become notes, the trees in them errors; restic agrees", arguments: Fixture.repos)
    func deletedIndexFile(repo: String) async throws {
        let fixture = try CheckRepo.fixture(repo)
        defer { fixture.remove() }
        let treePacks = try await fixture.treePacks()
        let files = try await fixture.indexFiles()
        let (indexID, packs) = try #require(files.first { file in file.packs.contains { treePacks[$0.id] != nil } })
        try FileManager.default.removeItem(atPath: "\(fixture.path)/index/\(indexID.hex)")

        let ours = try fixture.check()
        let orphans = Set(packs.map(\.id.hex))
        #expect(CheckOutput.unreferenced(ours.out) == orphans)
        let lostTrees = packs.flatMap { treePacks[$0.id] ?? [] }
        CheckOutput.expectFailed(ours, naming: ["tree blob", "not found in index"])
        #expect(lostTrees.contains { ours.stderr.contains("error for tree \($0.shortHex):") })

        let theirs = try fixture.restic()
        #expect(theirs.status == ours.status)
        #expect(CheckOutput.unreferenced(theirs.out) == orphans)
    }

    @Test("a pack file no index lists is a note, not an error; restic agrees")
    func unreferencedPack() async throws {
        let fixture = try CheckRepo.fixture("repo-v2")
        defer { fixture.remove() }
        // What an interrupted backup leaves: a pack file named by its hash, in no index.
        let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        let id = ObjectID(bytes: SHA256.digest(bytes))
        try Data(bytes).write(to: URL(fileURLWithPath: fixture.packPath(id)))

        let ours = try fixture.check()
        CheckOutput.expectClean(ours)
        #expect(CheckOutput.unreferenced(ours.out) == [id.hex])
        #expect(ours.out.contains("1 additional files were found in the repo"))
        CheckOutput.expectClean(try fixture.check(["--read-data"]))

        let theirs = try fixture.restic()
        #expect(theirs.status == 0)
        #expect(CheckOutput.unreferenced(theirs.out) == [id.hex])
    }

    @Test("a snapshot naming a tree that does not exist; restic agrees")
    func snapshotWithMissingTree() async throws {
        let fixture = try CheckRepo.fixture("repo-v1")
        defer { fixture.remove() }
        let repository = try await fixture.open()
        var snapshot = try #require(try await repository.loadSnapshots().first).snapshot
        let missing = ObjectID(bytes: SHA256.digest(Array("no such tree".utf8)))
        snapshot.tree = missing
        try await repository.saveUnpacked(.snapshot, snapshot.encode())

        let ours = try fixture.check()
        CheckOutput.expectFailed(ours, naming: ["error for tree \(missing.shortHex):", "tree blob \(missing.hex) not found in index"])
        #expect(ours.stderr.components(separatedBy: "error for tree").count == 2, "only the missing tree: \(ours.stderr)")
        let theirs = try fixture.restic()
        #expect(theirs.status == 1)
        #expect(theirs.stderr.contains(missing.shortHex))
    }

    @Test("an index file listing part of a pack another one lists in full is an error")
    func splitPack() async throws {
        let fixture = try CheckRepo.fixture("repo-v2")
        defer { fixture.remove() }
        let repository = try await fixture.open()
        let files = try await fixture.indexFiles()
        let pack = try #require(files.flatMap(\.packs).first { $0.blobs.count >= 2 })
        let partial = IndexPack(id: pack.id, blobs: Array(pack.blobs.dropFirst()))
        let extra = try await repository.saveUnpacked(.index, IndexFile(packs: [partial]).encode())

        let result = try fixture.check()
        CheckOutput.expectFailed(result, naming: ["error: pack \(pack.id.hex) has different data in indexes", extra.shortHex])
    }

    @Test("the same pack in two index files is a hint; restic agrees")
    func duplicateIndex() async throws {
        let fixture = try CheckRepo.fixture("repo-v2")
        defer { fixture.remove() }
        let repository = try await fixture.open()
        let (first, packs) = try #require(try await fixture.indexFiles().first)
        let copy = try await repository.saveUnpacked(.index, try await repository.loadUnpacked(.index, first))

        let ours = try fixture.check(["--read-data"])
        CheckOutput.expectClean(ours)
        for pack in packs {
            #expect(ours.out.contains("pack \(pack.id.hex) contained in several indexes"))
        }
        #expect(ours.out.contains(copy.shortHex) && ours.out.contains(first.shortHex))
        #expect(ours.out.contains("Duplicate packs are non-critical"))
        let theirs = try fixture.restic(["--read-data"])
        #expect(theirs.status == 0)
        #expect(theirs.out.contains("pack \(packs[0].id.hex) contained in several indexes"))
    }

    @Test("an index file that does not decrypt stops the check after the index phase")
    func damagedIndexFile() async throws {
        let fixture = try CheckRepo.fixture("repo-v1")
        defer { fixture.remove() }
        let (first, _) = try #require(try await fixture.indexFiles().first)
        try ReadPath.flipByte("\(fixture.path)/index/\(first.hex)", at: 40)
        let result = try fixture.check()
        CheckOutput.expectFailed(result, naming: ["error: error loading index \(first.hex):",
                                                  "The repository index is damaged"])
        #expect(!result.out.contains("check all packs"))
    }
}
