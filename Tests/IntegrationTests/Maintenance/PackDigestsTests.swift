import Foundation
import Testing
import ResticCore
import ResticBackends
import ResticRepository
import ResticMaintenance

/// Pack files hashed ahead of `check --read-data` (while the key is derived): the digests are
/// the files' own, damage still shows as a wrong pack ID, and remote backends are left alone.
@Suite("pack digests computed ahead of check")
struct PackDigestsTests {
    @Test("every pack hashes to its name; a flipped byte gives another digest, which check reports")
    func digestsMatchAndDamageShows() async throws {
        let fixture = try CheckRepo.fixture("repo-v2")
        defer { fixture.remove() }
        let (_, location) = try await fixture.readmeLocation()
        try ReadPath.flipByte(fixture.packPath(location.pack), at: Int(location.offset) + 20)
        let packs = try fixture.packFiles().keys.sorted()
        #expect(packs.count > 1)

        let backend = LocalBackend(path: fixture.path)
        let digests = try #require(await PackDigests.start(backend))
        digests.finish()
        for pack in packs where pack != location.pack {
            #expect(digests.take(pack) == pack, "pack \(pack.hex)")
        }
        let damaged = try #require(digests.take(location.pack))
        #expect(damaged != location.pack)

        // The read phase uses those digests instead of hashing again, and still names the damage.
        let ahead = try #require(await PackDigests.start(backend))
        ahead.finish()
        var checker = Checker(repository: try await fixture.open())
        checker.packDigests = ahead
        var findings: [String] = []
        let summary = try await checker.run(readData: .all) { event in
            if case .finding(let finding) = event { findings.append("\(finding)") }
        }
        #expect(summary.hasErrors)
        #expect(findings.contains { $0.contains("unexpected pack id \(damaged.hex)") }, "\(findings)")
        #expect(findings.contains { $0.contains("ciphertext verification failed") }, "\(findings)")
    }

    @Test("a pack the read phase takes first is left to it; a backend without local files gets no digests")
    func takenPacksAndRemoteBackends() async throws {
        let fixture = try CheckRepo.fixture("repo-v1")
        defer { fixture.remove() }
        let backend = LocalBackend(path: fixture.path)
        let packs = try fixture.packFiles().keys.sorted()
        let digests = try #require(await PackDigests.start(backend))
        // Taken while the thread works: each is either hashed already or left to the taker
        // for good, even though the thread is then let run to the end.
        let early = packs.map { digests.take($0) }
        digests.finish()
        for (pack, first) in zip(packs, early) {
            if let first { #expect(first == pack) }
            #expect(digests.take(pack) == first, "pack \(pack.hex) changed hands after it was taken")
        }
        #expect(await PackDigests.start(FaultyBackend(backend, rate: 0, seed: 1)) == nil)
    }
}
