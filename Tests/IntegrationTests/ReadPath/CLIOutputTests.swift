import Foundation
import Testing

/// Our read-only commands against restic 0.14's verbatim output for the same repositories
/// (Fixtures/golden for repo-v2, golden/v1 for repo-v1), and against the installed restic where
/// no golden file exists. TZ=UTC is set by the harness, so local times are UTC.
@Suite("Read-only commands match restic's output")
struct CLIOutputTests {
    private func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    // MARK: snapshots

    @Test("snapshots --json is byte-identical to restic's", arguments: Fixture.repos)
    func snapshotsJSON(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let result = try ReadPath.ours(fixture, ["snapshots", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let golden = try Fixture.goldenData(repo, "snapshots.json")
        #expect(try ReadPath.json(result.stdout) == ReadPath.json(golden))
        #expect(result.out == text(golden))
    }

    @Test("snapshots table is byte-identical to restic's", arguments: Fixture.repos)
    func snapshotsText(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let result = try ReadPath.ours(fixture, ["snapshots"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.out == text(try Fixture.goldenData(repo, "snapshots.txt")))
    }

    @Test("snapshots --group-by host --json has restic's shape and content")
    func snapshotsGroupByHost() async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let ours = try ReadPath.ours(fixture, ["snapshots", "--group-by", "host", "--json"])
        #expect(ours.status == 0, "\(ours.stderr)")
        let restic = try ReadPath.restic(fixture, ["snapshots", "--group-by", "host", "--json"])
        #expect(restic.status == 0, "\(restic.stderr)")
        // restic 0.14 emits groups in Go map order (random), so compare them sorted by host.
        func byHost(_ data: Data) throws -> [NSDictionary] {
            let groups = try #require(try ReadPath.json(data) as? [NSDictionary])
            return groups.sorted { (($0["group_key"] as? NSDictionary)?["hostname"] as? String ?? "") <
                                   (($1["group_key"] as? NSDictionary)?["hostname"] as? String ?? "") }
        }
        let groups = try byHost(ours.stdout)
        #expect(groups == (try byHost(restic.stdout)))
        #expect(groups.count == 2)
        #expect(groups.compactMap { ($0["group_key"] as? NSDictionary)?["hostname"] as? String } == ["alpha", "beta"])
        #expect(groups.map { ($0["snapshots"] as? [Any])?.count ?? 0 } == [3, 2])
    }

    @Test("--host, --tag and --path select snapshots as restic does",
          arguments: [(["--host", "beta"], ["c", "e"]), (["--tag", "daily"], ["a", "b"]),
                      (["--tag", "daily,full"], ["a"]), (["--tag", "weekly", "--tag", "postgres"], ["c", "d"]),
                      (["--path", "/tmp/cartae-fixture-src"], ["a", "b"]),
                      (["--host", "alpha", "--path", "/db/dump.sql"], ["d"])])
    func snapshotFilters(filter: [String], labels: [String]) async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let result = try ReadPath.ours(fixture, ["snapshots", "--json"] + filter)
        #expect(result.status == 0, "\(result.stderr)")
        let list = try #require(try ReadPath.json(result.stdout) as? [[String: Any]])
        #expect(list.compactMap { $0["id"] as? String } == (try labels.map { try Fixture.snapshotID($0, "repo-v2") }))
    }

    // MARK: ls

    @Test("ls --json, ls and ls -l of snapshot a are byte-identical to restic's", arguments: Fixture.repos)
    func lsSnapshotA(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let id = try Fixture.snapshotID("a", repo)
        for (arguments, golden) in [(["ls", "--json", id], "ls-a.json"), (["ls", id], "ls-a.txt"), (["ls", "-l", id], "ls-l-a.txt")] {
            let result = try ReadPath.ours(fixture, arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let want = text(try Fixture.goldenData(repo, golden))
            #expect(result.out == want, "\(arguments) differs:\n\(Self.firstDifference(result.out, want))")
        }
    }

    @Test("ls --json and ls -l of stdin snapshot d are byte-identical to restic's", arguments: Fixture.repos)
    func lsSnapshotD(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let id = try Fixture.snapshotID("d", repo)
        for (arguments, golden) in [(["ls", "--json", id], "ls-d.json"), (["ls", "-l", id], "ls-l-d.txt")] {
            let result = try ReadPath.ours(fixture, arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let want = text(try Fixture.goldenData(repo, golden))
            #expect(result.out == want, "\(arguments) differs:\n\(Self.firstDifference(result.out, want))")
        }
    }

    // MARK: stats

    @Test("stats --json in restore-size and raw-data mode gives restic's figures", arguments: Fixture.repos)
    func stats(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let id = try Fixture.snapshotID("a", repo)
        // Newer restic adds compression figures in raw-data mode; restic 0.14 (the goldens) does not.
        let allowedExtra: Set = ["total_uncompressed_size", "compression_ratio", "compression_progress", "compression_space_saving"]
        for (mode, golden) in [("restore-size", "stats-a.json"), ("raw-data", "stats-raw-data-a.json")] {
            let result = try ReadPath.ours(fixture, ["stats", "--json", "--mode", mode, id])
            #expect(result.status == 0, "\(mode): \(result.stderr)")
            let ours = try #require(try ReadPath.json(result.stdout) as? [String: Any])
            let want = try #require(try ReadPath.json(Fixture.goldenData(repo, golden)) as? [String: Any])
            for (key, value) in want {
                #expect((ours[key] as? NSNumber) == (value as? NSNumber), "\(mode) \(key): ours \(String(describing: ours[key])), restic \(value)")
            }
            let extra = Set(ours.keys).subtracting(want.keys)
            #expect(extra.isSubset(of: allowedExtra), "unexpected fields \(extra)")
        }
    }

    @Test("stats text in restore-size and raw-data mode is byte-identical to restic's", arguments: Fixture.repos)
    func statsText(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let id = try Fixture.snapshotID("a", repo)
        for (arguments, golden) in [(["stats", id], "stats-a.txt"), (["stats", "--mode", "raw-data", id], "stats-raw-data-a.txt")] {
            let result = try ReadPath.ours(fixture, arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let want = text(try Fixture.goldenData(repo, golden))
            #expect(result.out == want, "\(arguments) differs:\n\(Self.firstDifference(result.out, want))")
        }
    }

    // MARK: cat

    @Test("cat config shows the repository's version, id and chunker polynomial", arguments: Fixture.repos)
    func catConfig(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let result = try ReadPath.ours(fixture, ["cat", "config"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try ReadPath.json(result.stdout) == (try Fixture.config(repo) as NSDictionary))
    }

    @Test("cat snapshot equals restic's cat snapshot", arguments: Fixture.repos)
    func catSnapshot(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let result = try ReadPath.ours(fixture, ["cat", "snapshot", try Fixture.snapshotID("a", repo)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try ReadPath.json(result.stdout) == ReadPath.json(Fixture.goldenData(repo, "cat-snapshot-a.json")))
    }

    @Test("cat tree SNAPSHOT:path and cat blob give the stored tree", arguments: Fixture.repos)
    func catTreeAndBlob(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let id = try Fixture.snapshotID("a", repo)
        let srcTree = try Fixture.treeID(repo, path: "/tmp/cartae-fixture-src")

        let tree = try ReadPath.ours(fixture, ["cat", "tree", "\(id):/tmp/cartae-fixture-src"])
        #expect(tree.status == 0, "\(tree.stderr)")
        #expect(try ReadPath.json(tree.stdout) == ReadPath.json(Fixture.treeBytes(repo, srcTree)))

        for path in ["/", "/tmp/cartae-fixture-src", "/tmp/cartae-fixture-src/unicode"] {
            let treeID = try Fixture.treeID(repo, path: path)
            let blob = try ReadPath.ours(fixture, ["cat", "blob", treeID])
            #expect(blob.status == 0, "\(blob.stderr)")
            #expect(blob.stdout == (try Fixture.treeBytes(repo, treeID)), "cat blob \(treeID) (\(path)) is not the stored tree")
        }

        // A data blob: the plaintext hashes to its ID (README.txt, 84 bytes).
        let readme = try #require(try Fixture.contentOf(repo, tree: srcTree, name: "README.txt").first)
        let data = try ReadPath.ours(fixture, ["cat", "blob", readme])
        #expect(data.status == 0, "\(data.stderr)")
        #expect(ReadPath.sha256(data.stdout) == readme)
        #expect(data.stdout.count == 84)
    }

    @Test("cat pack gives bytes hashing to the pack ID; cat index and cat key equal restic's", arguments: Fixture.repos)
    func catPackIndexKey(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let packs = try ReadPath.paths(under: "\(fixture)/data").filter { $0.count == 67 }.map { String($0.suffix(64)) }.sorted()
        #expect(!packs.isEmpty)
        for pack in packs.prefix(2) {
            let result = try ReadPath.ours(fixture, ["cat", "pack", pack])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(ReadPath.sha256(result.stdout) == pack)
        }

        let indexes = try FileManager.default.contentsOfDirectory(atPath: "\(fixture)/index").sorted()
        let index = try #require(indexes.first)
        let ours = try ReadPath.ours(fixture, ["cat", "index", index])
        #expect(ours.status == 0, "\(ours.stderr)")
        let restic = try ReadPath.restic(fixture, ["cat", "index", index])
        #expect(restic.status == 0, "\(restic.stderr)")
        #expect(try ReadPath.json(ours.stdout) == ReadPath.json(restic.stdout))

        let key = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(fixture)/keys").first)
        let catKey = try ReadPath.ours(fixture, ["cat", "key", String(key.prefix(10))])
        #expect(catKey.status == 0, "\(catKey.stderr)")
        let stored = try Data(contentsOf: URL(fileURLWithPath: "\(fixture)/keys/\(key)"))
        #expect(try ReadPath.json(catKey.stdout) == ReadPath.json(stored))
    }

    // MARK: list

    @Test("list snapshots|index|packs|keys|locks|blobs equals restic list", arguments: Fixture.repos)
    func list(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        // keys: restic's plus the cheap test key of `Fixture.fast`.
        let expectedCounts = ["snapshots": 5, "index": 5, "keys": 2, "locks": 0]
        for kind in ["snapshots", "index", "packs", "keys", "locks", "blobs"] {
            let ours = try ReadPath.ours(fixture, ["list", kind])
            #expect(ours.status == 0, "list \(kind): \(ours.stderr)")
            let restic = try ReadPath.restic(fixture, ["list", kind])
            #expect(restic.status == 0, "restic list \(kind): \(restic.stderr)")
            let ourLines = ours.out.split(separator: "\n").sorted()
            #expect(ourLines == restic.out.split(separator: "\n").sorted(), "list \(kind) differs from restic")
            if let count = expectedCounts[kind] { #expect(ourLines.count == count, "list \(kind)") }
        }
    }

    // MARK: dump

    @Test("dump of a stdin snapshot writes the file's exact bytes", arguments: Fixture.repos, ["d", "e"])
    func dumpStdinSnapshot(repo: String, label: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let record = try Fixture.snapshot(label)
        let stdin = try #require(record["stdin"] as? [String: Any])
        let path = try #require((record["paths"] as? [String])?.first)
        let result = try ReadPath.ours(fixture, ["dump", try Fixture.snapshotID(label, repo), path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.count == stdin["size"] as? Int)
        #expect(ReadPath.sha256(result.stdout) == stdin["sha256"] as? String)
    }

    @Test("dump of a directory is a tar stream that extracts to the snapshot's files", arguments: Fixture.repos)
    func dumpDirectoryAsTar(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let out = try TempDir.make("dump").path
        defer { ReadPath.removeTemp(out) }
        let result = try ReadPath.ours(fixture, ["dump", try Fixture.snapshotID("a", repo), "/tmp/cartae-fixture-src/level1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.count % 512 == 0)
        let tar = try Harness.run("tar", ["-x", "-f", "-", "-C", out], input: result.stdout)
        #expect(tar.status == 0, "tar -x failed: \(tar.stderr)")

        let source = try Fixture.entries("a")
        let level1 = source.keys.filter { $0.hasPrefix("level1/") }
        let expected = Set(["tmp", "tmp/cartae-fixture-src", "tmp/cartae-fixture-src/level1"] + level1.map { "tmp/cartae-fixture-src/" + $0 })
        #expect(try ReadPath.paths(under: out) == expected)
        let extracted = try ReadPath.entries("\(out)/tmp/cartae-fixture-src", extra: ["--ignore", "hardlink"])
        for path in level1 {
            let want = try #require(source[path]?.mutableCopy() as? NSMutableDictionary)
            want.removeObject(forKey: "hardlink")
            #expect(extracted[path] == want, "\(path): extracted \(String(describing: extracted[path])), source \(want)")
        }
    }

    // MARK: opening: password and repository sources

    @Test("the password comes from --password-file, RESTIC_PASSWORD_FILE, --password-command or stdin")
    func passwordSources() throws {
        let fixture = try Harness.fixtureRepository("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let file = ReadPath.parent(fixture) + "/password.txt"
        try Data("fixture-password\n".utf8).write(to: URL(fileURLWithPath: file))
        let golden = try Fixture.goldenData("repo-v2", "snapshots.json")
        let cases: [(String, [String], [String: String], Data?)] = [
            ("--password-file", ["--password-file", file], [:], nil),
            ("-p", ["-p", file], [:], nil),
            ("RESTIC_PASSWORD_FILE", [], ["RESTIC_PASSWORD_FILE": file], nil),
            ("--password-command", ["--password-command", "echo fixture-password"], [:], nil),
            ("RESTIC_PASSWORD_COMMAND", [], ["RESTIC_PASSWORD_COMMAND": "echo fixture-password"], nil),
            ("stdin", [], [:], Data("fixture-password\n".utf8)),
        ]
        for (name, flags, environment, input) in cases {
            let result = try Harness.ours(flags + ["snapshots", "--json"], repo: fixture, password: nil,
                                          environment: environment, input: input)
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.stdout == golden, "\(name): wrong output")
        }
        // The file and command win over RESTIC_PASSWORD.
        let wrongEnv = try Harness.ours(["--password-file", file, "snapshots", "--json"], repo: fixture, password: "wrong")
        #expect(wrongEnv.status == 0, "\(wrongEnv.stderr)")
    }

    @Test("the repository comes from -r, --repo, local: or RESTIC_REPOSITORY")
    func repositorySources() throws {
        let fixture = try Harness.fixtureRepository("repo-v1")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let golden = try Fixture.goldenData("repo-v1", "snapshots.json")
        let cases: [(String, [String], String?)] = [
            ("-r PATH", ["-r", fixture, "snapshots", "--json"], nil),
            ("--repo local:PATH", ["--repo", "local:" + fixture, "snapshots", "--json"], nil),
            ("flag after command", ["snapshots", "--json", "-r", "local:" + fixture], nil),
            ("RESTIC_REPOSITORY=local:PATH", ["snapshots", "--json"], "local:" + fixture),
        ]
        for (name, arguments, environmentRepo) in cases {
            let result = try Harness.ours(arguments, repo: environmentRepo, password: Fixture.password)
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.stdout == golden, "\(name): wrong output")
        }
    }

    /// The first differing line of two texts, for readable failures.
    static func firstDifference(_ ours: String, _ want: String) -> String {
        let a = ours.split(separator: "\n", omittingEmptySubsequences: false)
        let b = want.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "<none>"
            let y = i < b.count ? String(b[i]) : "<none>"
            if x != y { return "line \(i + 1):\n ours:   \(x)\n restic: \(y)" }
        }
        return "(equal)"
    }
}
