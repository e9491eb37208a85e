import Foundation
import Testing

/// Output the goldens do not cover, compared with the installed restic on the same fixture copy:
/// `ls` with directory arguments and `stats` in every mode over several snapshots.
@Suite("Read-only commands agree with the installed restic")
struct CLIOracleTests {
    @Test("ls with directory arguments, --recursive, -l and --json prints what restic prints",
          arguments: [["cb2c5bb6", "/tmp/cartae-fixture-src/level1"],
                      ["-l", "cb2c5bb6", "/tmp/cartae-fixture-src/links"],
                      ["--recursive", "cb2c5bb6", "/tmp/cartae-fixture-src/level1"],
                      ["--json", "cb2c5bb6", "/tmp/cartae-fixture-src/unicode"],
                      ["cb2c5bb6", "/tmp/cartae-fixture-src/level1", "/tmp/cartae-fixture-src/perms"],
                      ["-l", "latest", "--host", "beta", "--path", "/tmp/cartae-fixture-src/level1",
                       "/tmp/cartae-fixture-src/level1/level2"]])
    func lsWithDirectories(arguments: [String]) async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let ours = try ReadPath.ours(fixture, ["ls"] + arguments)
        #expect(ours.status == 0, "\(ours.stderr)")
        let restic = try ReadPath.restic(fixture, ["ls"] + arguments)
        #expect(restic.status == 0, "\(restic.stderr)")
        #expect(ours.out == restic.out, "\(arguments):\n\(CLIOutputTests.firstDifference(ours.out, restic.out))")
        #expect(ours.out.split(separator: "\n").count > 2)
    }

    @Test("snapshots tables (compact, grouped, --latest, filtered) print what restic prints",
          arguments: [["-c"], ["--group-by", "host"], ["--group-by", "host,tags"], ["--group-by", "paths", "-c"],
                      ["--latest", "1"], ["--tag", "daily"], ["--host", "beta", "--group-by", "tags"]])
    func snapshotTables(arguments: [String]) async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let ours = try ReadPath.ours(fixture, ["snapshots"] + arguments)
        #expect(ours.status == 0, "\(ours.stderr)")
        let restic = try ReadPath.restic(fixture, ["snapshots"] + arguments)
        #expect(restic.status == 0, "\(restic.stderr)")
        // restic 0.14 prints groups in Go map order (random): compare the groups as a multiset.
        #expect(Self.groups(ours.out) == Self.groups(restic.out), "\(arguments):\n--- ours\n\(ours.out)--- restic\n\(restic.out)")
        #expect(ours.out.count == restic.out.count)
    }

    /// Output cut into one block per table (with its "snapshots for" header, if any), sorted.
    static func groups(_ text: String) -> [String] {
        var blocks: [String] = []
        var previous = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let opensTable = line.hasPrefix("ID  ") && !previous.hasPrefix("snapshots for")
            if line.hasPrefix("snapshots for") || opensTable || blocks.isEmpty { blocks.append("") }
            blocks[blocks.count - 1] += line + "\n"
            previous = String(line)
        }
        return blocks.sorted()
    }

    @Test("stats --json in every mode, over all or some snapshots, gives restic's figures",
          arguments: [[], ["--mode", "raw-data"], ["--mode", "files-by-contents"], ["--mode", "blobs-per-file"],
                      ["--host", "alpha"], ["--mode", "blobs-per-file", "--host", "beta"], ["latest"],
                      ["--mode", "raw-data", "c03edfc7", "cb2c5bb6"]])
    func statsModes(arguments: [String]) async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let ours = try ReadPath.ours(fixture, ["stats", "--json"] + arguments)
        #expect(ours.status == 0, "\(ours.stderr)")
        let restic = try ReadPath.restic(fixture, ["stats", "--json"] + arguments)
        #expect(restic.status == 0, "\(restic.stderr)")
        let mine = try #require(try ReadPath.json(ours.stdout) as? [String: Any])
        let theirs = try #require(try ReadPath.json(restic.stdout) as? [String: Any])
        for (key, value) in theirs {
            #expect(mine[key] as? NSNumber == value as? NSNumber, "\(arguments) \(key): ours \(String(describing: mine[key])), restic \(value)")
        }
        // Newer restic's compression figures are the only fields restic 0.14 lacks.
        let extra = Set(mine.keys).subtracting(theirs.keys)
        #expect(extra.isSubset(of: ["total_uncompressed_size", "compression_ratio", "compression_progress", "compression_space_saving"]))
    }
}
