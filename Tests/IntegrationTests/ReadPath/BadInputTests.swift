import Foundation
import Testing
import ResticCore
import ResticRepository
import ResticBackends

/// Damaged repositories and wrong input. Each test works on a fresh copy of a fixture and checks
/// the exit code restic uses, exactly one `Fatal:` line naming the file or ID concerned, and that
/// the process ended by itself rather than by a trap or signal.
@Suite("Damaged repositories and bad input")
struct BadInputTests {
    static let ownerIgnore: [String] = getuid() == 0 ? [] : ["--ignore", "owner"]

    private func expectOneFatal(_ result: Harness.Result, naming needles: [String], status: Int32,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        ReadPath.expectNoCrash(result, sourceLocation: sourceLocation)
        #expect(result.status == status, "exit \(result.status), stderr: \(result.stderr)", sourceLocation: sourceLocation)
        let fatal = ReadPath.fatalLines(result)
        #expect(fatal.count == 1, "want one Fatal line, got: \(result.stderr)", sourceLocation: sourceLocation)
        for needle in needles {
            #expect(result.stderr.contains(needle), "stderr does not name \(needle): \(result.stderr)", sourceLocation: sourceLocation)
        }
    }

    /// Restored entries of snapshot a, except `skipped` paths, must equal the source manifest.
    private func expectRestoredExcept(_ skipped: (String) -> Bool, target: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let source = try Fixture.entries("a")
        let restored = try ReadPath.entries("\(target)/tmp/cartae-fixture-src", extra: Self.ownerIgnore)
        var checked = 0
        for (path, want) in source where !skipped(path) {
            let expected = want.mutableCopy() as! NSMutableDictionary
            if !Self.ownerIgnore.isEmpty { expected.removeObjects(forKeys: ["uid", "gid"]) }
            #expect(restored[path] == expected, "\(path): restored \(String(describing: restored[path])), source \(expected)",
                    sourceLocation: sourceLocation)
            checked += 1
        }
        #expect(checked > 30, sourceLocation: sourceLocation)
    }

    // MARK: damaged packs

    @Test("a flipped byte in a data blob spoils only its file: exit 3, the rest restored exactly", arguments: Fixture.repos)
    func flippedByteInDataPack(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let readme = try #require(try Fixture.contentOf(repo, tree: Fixture.treeID(repo, path: "/tmp/cartae-fixture-src"), name: "README.txt").first)
        let location = try ReadPath.location(of: readme, .data, in: try await ReadPath.index(fixture))
        try ReadPath.flipByte(ReadPath.packPath(fixture, location.pack), at: Int(location.offset) + 20)

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID("a", repo), "--target", target])
        expectOneFatal(result, naming: [readme], status: 3)
        try expectRestoredExcept({ $0 == "README.txt" }, target: target)

        let blob = try ReadPath.ours(fixture, ["cat", "blob", readme])
        expectOneFatal(blob, naming: [readme], status: 1)
        #expect(blob.stdout.isEmpty)
    }

    /// A blob whose MAC is valid but whose plaintext is not what its ID promises: only the
    /// SHA-256 check can catch it. v1 stores blobs uncompressed, so a re-sealed plaintext of the
    /// same length fits exactly in place.
    @Test("a validly encrypted blob with the wrong content fails its SHA-256 check, exit 3")
    func blobFailsHashCheck() async throws {
        let fixture = try await Fixture.fast("repo-v1")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let readme = try #require(try Fixture.contentOf("repo-v1", tree: Fixture.treeID("repo-v1", path: "/tmp/cartae-fixture-src"), name: "README.txt").first)
        let indexed = try await ReadPath.index(fixture)
        let location = try ReadPath.location(of: readme, .data, in: indexed)
        #expect(!location.isCompressed)
        let forged = indexed.repository.key.seal(Array("cartae fixture file: FORGED\n".utf8) + [UInt8](repeating: 0x2e, count: 56))
        #expect(forged.count == Int(location.length))
        let handle = try Foundation.FileHandle(forUpdating: URL(fileURLWithPath: { let p = ReadPath.packPath(fixture, location.pack); ReadPath.chmodWritable(p); return p }()))
        try handle.seek(toOffset: UInt64(location.offset))
        try handle.write(contentsOf: Data(forged))
        try handle.close()

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID("a", "repo-v1"), "--target", target, "--verify"])
        expectOneFatal(result, naming: [readme, "does not match"], status: 3)
        try expectRestoredExcept({ $0 == "README.txt" }, target: target)
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(target)/tmp/cartae-fixture-src/README.txt"))
        #expect(!data.starts(with: Array("cartae fixture file: FORGED".utf8)), "forged content was written")

        let dump = try ReadPath.ours(fixture, ["dump", try Fixture.snapshotID("a", "repo-v1"), "/tmp/cartae-fixture-src/README.txt"])
        expectOneFatal(dump, naming: [readme], status: 1)
    }

    @Test("a truncated pack fails the files using its lost blobs, names the pack, exits 3", arguments: Fixture.repos)
    func truncatedPack(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let srcTree = try Fixture.treeID(repo, path: "/tmp/cartae-fixture-src")
        let readme = try #require(try Fixture.contentOf(repo, tree: srcTree, name: "README.txt").first)
        let indexed = try await ReadPath.index(fixture)
        let location = try ReadPath.location(of: readme, .data, in: indexed)
        let packPath = ReadPath.packPath(fixture, location.pack)
        ReadPath.chmodWritable(packPath)
        #expect(truncate(packPath, off_t(location.offset) + off_t(location.length / 2)) == 0)

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID("a", repo), "--target", target])
        expectOneFatal(result, naming: [location.pack.hex.prefix(8).description], status: 3)
        // big.bin lives in other packs when none of its blobs are in the truncated one.
        let big = try Fixture.contentOf(repo, tree: srcTree, name: "big.bin")
        let bigPacks = try Set(big.map { try ReadPath.location(of: $0, .data, in: indexed).pack })
        if !bigPacks.contains(location.pack) {
            #expect(try ReadPath.sha256(file: "\(target)/tmp/cartae-fixture-src/big.bin") == Fixture.entries("a")["big.bin"]?["sha256"] as? String)
        }
    }

    @Test("a missing pack is named, the other files are restored, exit 3", arguments: Fixture.repos)
    func missingPack(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let srcTree = try Fixture.treeID(repo, path: "/tmp/cartae-fixture-src")
        let indexed = try await ReadPath.index(fixture)
        let readme = try #require(try Fixture.contentOf(repo, tree: srcTree, name: "README.txt").first)
        let pack = try ReadPath.location(of: readme, .data, in: indexed).pack
        try FileManager.default.removeItem(atPath: ReadPath.packPath(fixture, pack))

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID("a", repo), "--target", target])
        expectOneFatal(result, naming: [pack.hex.prefix(8).description], status: 3)
        // Every file whose blobs are all in other packs is intact.
        let source = try Fixture.entries("a")
        for name in ["README.txt", "big.bin", "sparse.img"] {
            let blobs = try Fixture.contentOf(repo, tree: srcTree, name: name)
            let packs = try Set(blobs.map { try ReadPath.location(of: $0, .data, in: indexed).pack })
            guard !packs.contains(pack) else { continue }
            #expect(try ReadPath.sha256(file: "\(target)/tmp/cartae-fixture-src/\(name)") == source[name]?["sha256"] as? String)
        }
        // Trees are elsewhere, so listing still works.
        let ls = try ReadPath.ours(fixture, ["ls", try Fixture.snapshotID("a", repo)])
        #expect(ls.status == 0, "\(ls.stderr)")
    }

    @Test("a damaged tree blob skips only that directory's contents, exit 3", arguments: Fixture.repos)
    func flippedByteInTreeBlob(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let unicodeTree = try Fixture.treeID(repo, path: "/tmp/cartae-fixture-src/unicode")
        let location = try ReadPath.location(of: unicodeTree, .tree, in: try await ReadPath.index(fixture))
        try ReadPath.flipByte(ReadPath.packPath(fixture, location.pack), at: Int(location.offset) + 20)

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID("a", repo), "--target", target])
        expectOneFatal(result, naming: [unicodeTree], status: 3)
        try expectRestoredExcept({ $0.hasPrefix("unicode/") }, target: target)
    }

    // MARK: damaged metadata files

    @Test("a corrupt index file is named and the command fails with exit 1", arguments: Fixture.repos)
    func corruptIndexFile(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let index = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(fixture)/index").sorted().first)
        try ReadPath.flipByte("\(fixture)/index/\(index)", at: 40)

        for arguments in [["ls", try Fixture.snapshotID("e", repo)], ["restore", "latest", "--target", ReadPath.parent(fixture) + "/t"],
                          ["list", "blobs"]] {
            let result = try ReadPath.ours(fixture, arguments)
            expectOneFatal(result, naming: [String(index.prefix(8))], status: 1)
        }
        // snapshots needs no index.
        let snapshots = try ReadPath.ours(fixture, ["snapshots", "--json"])
        #expect(snapshots.status == 0, "\(snapshots.stderr)")
    }

    @Test("an index file that decrypts to garbage is named, exit 1")
    func indexWithGarbageJSON() async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let repository = try await Repository.open(LocalBackend(path: fixture), password: Fixture.password,
                                                        keyHint: ReadPath.keyHint(fixture)["RESTIC_KEY_HINT"])
        let bad = try await repository.saveUnpacked(.index, Array("{\"packs\":[{\"id\":12}]}".utf8))

        let result = try ReadPath.ours(fixture, ["ls", try Fixture.snapshotID("e", "repo-v2")])
        expectOneFatal(result, naming: [bad.shortHex], status: 1)
    }

    @Test("a corrupt snapshot file is reported by snapshots, the others are listed")
    func corruptSnapshotFile() async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let e = try Fixture.snapshotID("e", "repo-v2")
        try ReadPath.flipByte("\(fixture)/snapshots/\(e)", at: 30)

        let result = try ReadPath.ours(fixture, ["snapshots", "--json"])
        ReadPath.expectNoCrash(result)
        #expect(result.stderr.contains(String(e.prefix(8))), "\(result.stderr)")
        let list = try #require(try ReadPath.json(result.stdout) as? [[String: Any]])
        #expect(list.count == 4)
        let cat = try ReadPath.ours(fixture, ["cat", "snapshot", e])
        expectOneFatal(cat, naming: [String(e.prefix(8))], status: 1)
    }

    @Test("a key file that is not JSON, as the only key, is named; exit 1", arguments: Fixture.repos)
    func garbageOnlyKey(repo: String) throws {
        let fixture = try Harness.fixtureRepository(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let key = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(fixture)/keys").first)
        try ReadPath.overwrite("\(fixture)/keys/\(key)", with: Data("this is not a key file\n".utf8))

        let result = try ReadPath.ours(fixture, ["snapshots"])
        expectOneFatal(result, naming: [String(key.prefix(8))], status: 1)
    }

    @Test("a key file whose sealed master key is damaged cannot open: exit 12")
    func damagedKeyData() throws {
        let fixture = try Harness.fixtureRepository("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let key = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(fixture)/keys").first)
        let path = "\(fixture)/keys/\(key)"
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let base64 = try #require(object["data"] as? String)
        var sealed = try #require(Data(base64Encoded: base64))
        sealed[sealed.count / 2] ^= 1
        object["data"] = sealed.base64EncodedString()
        try ReadPath.overwrite(path, with: try JSONSerialization.data(withJSONObject: object))

        let result = try ReadPath.ours(fixture, ["snapshots"])
        expectOneFatal(result, naming: ["wrong password"], status: 12)
    }

    @Test("with two key files, a corrupt one does not hide the good one", arguments: Fixture.repos)
    func corruptKeyBesideGoodKey(repo: String) throws {
        let fixture = try Harness.fixtureRepository(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let garbage = Data("{\"kdf\":\"scrypt\",\"N\":\"not a number\"".utf8)
        // Named 000… so it sorts before the real key and is tried first.
        try garbage.write(to: URL(fileURLWithPath: "\(fixture)/keys/" + String(repeating: "0", count: 64)))
        try Data(repeating: 0xff, count: 10).write(to: URL(fileURLWithPath: "\(fixture)/keys/" + String(repeating: "f", count: 64)))

        let result = try ReadPath.ours(fixture, ["snapshots", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == (try Fixture.goldenData(repo, "snapshots.json")))
    }

    @Test("a garbage, empty or truncated config is named, exit 1",
          arguments: [Data((0..<155).map { UInt8(($0 * 37 + 11) & 0xff) }), Data(), Data("{}".utf8)])
    func garbageConfig(content: Data) async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        try ReadPath.overwrite("\(fixture)/config", with: content)

        let result = try ReadPath.ours(fixture, ["snapshots"])
        expectOneFatal(result, naming: ["config"], status: 1)
    }

    // MARK: wrong input

    @Test("a wrong password exits 12", arguments: Fixture.repos)
    func wrongPassword(repo: String) throws {
        let fixture = try Harness.fixtureRepository(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let result = try Harness.ours(["snapshots"], repo: fixture, password: "not-the-password")
        expectOneFatal(result, naming: ["wrong password"], status: 12)
        #expect(!result.stderr.contains("not-the-password"))
    }

    @Test("no password at all (stdin empty, no terminal) fails cleanly")
    func noPassword() throws {
        let fixture = try Harness.fixtureRepository("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let result = try Harness.ours(["snapshots"], repo: fixture, password: nil)
        expectOneFatal(result, naming: [], status: 1)
    }

    @Test("no repository at the location exits 10 and names it")
    func noRepository() throws {
        let empty = try TempDir.make("norepo").path
        defer { ReadPath.removeTemp(empty) }
        for location in [empty, empty + "/does-not-exist", "local:" + empty] {
            let result = try Harness.ours(["snapshots"], repo: location, password: Fixture.password)
            expectOneFatal(result, naming: [empty], status: 10)
        }
        let restore = try Harness.ours(["restore", "latest", "--target", empty + "/t"], repo: empty + "/nothing", password: Fixture.password)
        expectOneFatal(restore, naming: [empty + "/nothing"], status: 10)
    }

    @Test("an unknown snapshot ID exits 1 naming it", arguments: [["restore", "deadbeef", "--target", "/tmp/cartae-never-made"],
                                                                ["ls", "deadbeef"], ["dump", "deadbeef", "/redis.rdb"],
                                                                ["cat", "snapshot", "deadbeef"], ["snapshots", "deadbeef"]])
    func unknownSnapshot(arguments: [String]) async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let result = try ReadPath.ours(fixture, arguments)
        expectOneFatal(result, naming: ["deadbeef"], status: 1)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/cartae-never-made"))
    }

    // Only repo-v2 has two snapshot IDs with the same first digit (cb2c…, c03e…).
    @Test("an ambiguous ID prefix exits 1 naming the prefix", arguments: ["repo-v2"])
    func ambiguousPrefix(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let ids = try ["a", "b", "c", "d", "e"].map { try Fixture.snapshotID($0, repo) }
        let prefix = try #require(Dictionary(grouping: ids, by: { String($0.prefix(1)) }).first { $0.value.count > 1 }?.key,
                                  "no shared first digit among \(ids)")
        for arguments in [["ls", prefix], ["restore", prefix, "--target", ReadPath.parent(fixture) + "/t"]] {
            let result = try ReadPath.ours(fixture, arguments)
            expectOneFatal(result, naming: ["\"\(prefix)\""], status: 1)
        }
        #expect(!FileManager.default.fileExists(atPath: ReadPath.parent(fixture) + "/t"))
    }

    @Test("a path that is not in the snapshot is named, exit 1")
    func missingPathInSnapshot() async throws {
        let fixture = try await Fixture.fast("repo-v2")
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let id = try Fixture.snapshotID("a", "repo-v2")
        let dump = try ReadPath.ours(fixture, ["dump", id, "/tmp/cartae-fixture-src/nope.txt"])
        expectOneFatal(dump, naming: ["nope.txt"], status: 1)
        let restore = try ReadPath.ours(fixture, ["restore", id + ":/tmp/nope", "--target", ReadPath.parent(fixture) + "/t"])
        expectOneFatal(restore, naming: ["/tmp/nope"], status: 1)
    }
}
