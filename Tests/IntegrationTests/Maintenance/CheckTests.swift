import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticBackends
import ResticRepository

/// `check` on intact repositories, its subset selection through the command line, its flags,
/// lock and JSON summary.
@Suite("check")
struct CheckTests {
    @Test("the fixtures are clean, with and without --read-data", arguments: Fixture.repos)
    func cleanFixtures(repo: String) throws {
        let fixture = try CheckRepo.fixture(repo)
        defer { fixture.remove() }
        let plain = try fixture.check()
        CheckOutput.expectClean(plain)
        #expect(plain.out == """
            create exclusive lock for repository
            load indexes
            check all packs
            check snapshots, trees and blobs
            no errors were found

            """)
        let full = try fixture.check(["--read-data"])
        CheckOutput.expectClean(full)
        #expect(full.out.contains("check snapshots, trees and blobs\nread all data\nno errors were found\n"))
        #expect(WriteRepo.files(fixture.path, "locks").isEmpty, "the lock is removed at the end")
        #expect(try fixture.check(["-q", "--read-data"]).out.isEmpty)
    }

    @Test("a repository written by our backup passes our check and restic's")
    func ourBackup() throws {
        let dir = try TempDir.make("cartae-check")
        defer { ReadPath.removeTemp(dir.path) }
        let repo = dir.appendingPathComponent("repo").path
        let made = try Harness.ours(["init"], repo: repo)
        try #require(made.status == 0, "\(made.stderr)")
        let source = dir.appendingPathComponent("src").path
        try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
        try MaintenanceFixture.randomFile(source + "/big.bin", size: 2_500_000, seed: 7)
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: source + "/sub/small.txt"))
        try Data().write(to: URL(fileURLWithPath: source + "/empty"))
        try FileManager.default.createSymbolicLink(atPath: source + "/link", withDestinationPath: "sub/small.txt")
        let backup = try Harness.ours(["backup", source], repo: repo)
        try #require(backup.status == 0, "\(backup.stderr)")

        let ours = try Harness.ours(["check", "--read-data"], repo: repo)
        CheckOutput.expectClean(ours)
        let theirs = try Harness.restic(["check", "--read-data"], repo: repo)
        #expect(theirs.status == 0, "\(theirs.stderr)")
    }

    @Test("--read-data-subset n/t reads exactly the packs of group n, and 1/t … t/t read them all")
    func bucketSubsetsThroughTheCommandLine() async throws {
        let fixture = try CheckRepo.fixture("repo-v2")
        defer { fixture.remove() }
        let packs = try fixture.packFiles()
        let (_, location) = try await fixture.readmeLocation()
        try ReadPath.flipByte(fixture.packPath(location.pack), at: Int(location.offset) + 5)
        let t = 3
        var total = 0
        for n in 1...t {
            let inGroup = packs.keys.filter { Int($0.firstByte) % t == n - 1 }.count
            total += inGroup
            let result = try fixture.check(["--read-data-subset", "\(n)/\(t)"])
            #expect(result.out.contains("read group #\(n) of \(inGroup) data packs (out of total \(packs.count) packs in \(t) groups)\n"),
                    "\(result.out)")
            if Int(location.pack.firstByte) % t == n - 1 {
                CheckOutput.expectFailed(result, naming: ["pack \(location.pack.hex): blob "])
            } else {
                CheckOutput.expectClean(result)
            }
        }
        #expect(total == packs.count)
    }

    @Test("--read-data-subset x% and SIZE print restic's line and read the right number of packs")
    func randomSubsetsThroughTheCommandLine() async throws {
        let fixture = try CheckRepo.fixture("repo-v1")
        defer { fixture.remove() }
        let packs = try fixture.packFiles()
        let totalBytes = packs.values.reduce(0, +)
        let (_, location) = try await fixture.readmeLocation()
        try ReadPath.flipByte(fixture.packPath(location.pack), at: Int(location.offset) + 5)

        // 100% and a size beyond the total read every pack, so the damage is always found.
        let all = try fixture.check(["--read-data-subset", "100%"])
        #expect(all.out.contains("read 100.0% of data packs\n"))
        CheckOutput.expectFailed(all, naming: ["pack \(location.pack.hex)"])
        let everything = try fixture.check(["--read-data-subset", "1t"])
        #expect(everything.out.contains("read \(totalBytes) bytes (100.0%) of data packs\n"), "\(everything.out)")
        CheckOutput.expectFailed(everything, naming: ["pack \(location.pack.hex)"])
        // A tiny share still reads one pack: damage is found in about 1 of `packs.count` runs.
        let one = try fixture.check(["--read-data-subset", "1b"])
        let percent = Double(1) / Double(totalBytes) * 100
        #expect(one.out.contains("read 1 bytes (\(String(format: "%.1f", percent))%) of data packs\n"), "\(one.out)")
        #expect(one.status == 0 || one.stderr.contains(location.pack.hex))
    }

    @Test("bad flag combinations exit 1 with restic's message", arguments: [
        (["--read-data", "--read-data-subset", "1/2"], "check flags --read-data and --read-data-subset cannot be used together"),
        (["--read-data-subset", "3/2"], "check flag --read-data-subset=n/t values must be positive integers, and n <= t, e.g. --read-data-subset=1/2"),
        (["--read-data-subset", "1/300"], "check flag --read-data-subset=n/t t must be at most 256"),
        (["--read-data-subset", "150%"], "check flag --read-data-subset=x% x must be above 0.0% and at most 100.0%"),
        (["--read-data-subset", "50"], "check flag --read-data-subset has invalid value, please see documentation"),
    ])
    func badFlags(arguments: [String], message: String) throws {
        let dir = try TempDir.make("cartae-check")
        defer { ReadPath.removeTemp(dir.path) }
        // Flags are refused before the repository is opened, so any path will do.
        let result = try Harness.ours(["check"] + arguments, repo: dir.path + "/none")
        #expect(result.status == 1)
        #expect(ReadPath.fatalLines(result) == ["Fatal: \(message)"], "\(result.stderr)")
    }

    @Test("check takes an exclusive lock: another lock makes it exit 11 unless --no-lock")
    func lock() async throws {
        let fixture = try CheckRepo.fixture("repo-v1")
        defer { fixture.remove() }
        let repository = try await fixture.open()
        let other = try await RepositoryLock.acquire(repository, exclusive: false)
        // Exit 11 is also SIGSEGV's number, so this run skips the crash heuristic.
        let locked = try ReadPath.ours(fixture.path, ["check"])
        #expect(locked.status == 11, "\(locked.stderr)")
        #expect(!locked.stderr.contains("Fatal error:"))
        #expect(locked.stderr.contains("repository is already locked"))
        let unlocked = try fixture.check(["--no-lock"])
        CheckOutput.expectClean(unlocked)
        #expect(!unlocked.out.contains("create exclusive lock"))
        #expect(WriteRepo.files(fixture.path, "locks") == [other.hex])
    }

    @Test("--json prints restic's summary object")
    func jsonSummary() async throws {
        let fixture = try CheckRepo.fixture("repo-v1")
        defer { fixture.remove() }
        let clean = try fixture.check(["--json"])
        #expect(clean.status == 0)
        // restic's fields first, in restic's order; then this run's backend traffic.
        #expect(clean.out.hasPrefix("{\"message_type\":\"summary\",\"num_errors\":0,\"broken_packs\":null,\"suggest_repair_index\":false,\"suggest_prune\":false,\"backend_requests\":"), "\(clean.out)")
        let cleanSummary = try #require(try JSONSerialization.jsonObject(with: clean.stdout) as? [String: Any])
        #expect((cleanSummary["backend_requests"] as? Int ?? 0) > 0 && (cleanSummary["backend_bytes_received"] as? Int ?? 0) > 0)

        let (_, location) = try await fixture.readmeLocation()
        try FileManager.default.removeItem(atPath: fixture.packPath(location.pack))
        let broken = try fixture.check(["--json"])
        #expect(broken.status == 1)
        let summary = try #require(try JSONSerialization.jsonObject(with: broken.stdout) as? [String: Any])
        #expect(summary["num_errors"] as? Int == 1)
        #expect(summary["broken_packs"] as? [String] == [location.pack.hex])
        let errors = try ReadPath.jsonLines(Data(broken.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }.joined(separator: "\n").utf8))
        #expect(errors.count == 2)  // the missing pack, and the advice listing damaged packs
        #expect((errors.first as? [String: Any])?["message"] as? String == "pack \(location.pack.hex): does not exist\n")
    }
}
