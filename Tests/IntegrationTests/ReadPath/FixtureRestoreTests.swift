import Foundation
import Testing

/// Restores the committed restic 0.14 fixtures with our binary and compares every restored byte
/// and every piece of metadata with the manifests of the source trees. Unlike restic 0.14 our
/// restore keeps holes, so `sparse` is compared too; as root, owners are compared.
@Suite("Restore of restic-made fixture repositories")
struct FixtureRestoreTests {
    static let ownerIgnore: [String] = getuid() == 0 ? [] : ["--ignore", "owner"]

    @Test("restore of snapshots a, b, c equals the source tree", arguments: Fixture.repos, ["a", "b", "c"])
    func restoreEqualsSource(repo: String, label: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let id = try Fixture.snapshotID(label, repo)

        let result = try ReadPath.ours(fixture, ["restore", id, "--target", target])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        #expect(result.stderr.isEmpty, "restore complained: \(result.stderr)")
        let restored = try #require(Fixture.snapshot(label)["restored_path"] as? String)
        let compare = try ReadPath.compare("\(target)/\(restored)", label: label, extra: Self.ownerIgnore)
        #expect(compare.status == 0, "restored tree differs from manifest \(label):\n\(compare.stderr)")
    }

    @Test("restore --verify checks every file node and reports them like restic", arguments: Fixture.repos)
    func restoreWithVerify(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID("a", repo), "--target", target, "--verify"])
        #expect(result.status == 0, "restore --verify failed: \(result.stderr)")
        // restic 0.14 counts every file node, hardlinked names included: 22 in snapshot a.
        #expect(result.out.contains("finished verifying 22 files in \(target)"), "output: \(result.out)")
        let compare = try ReadPath.compare("\(target)/tmp/cartae-fixture-src", label: "a", extra: Self.ownerIgnore)
        #expect(compare.status == 0, "restored tree differs:\n\(compare.stderr)")
    }

    @Test("SNAPSHOT:subfolder restores that folder's contents directly into the target", arguments: Fixture.repos)
    func restoreSubfolder(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let id = try Fixture.snapshotID("b", repo)

        let result = try ReadPath.ours(fixture, ["restore", "\(id):/tmp/cartae-fixture-src/level1", "--target", target])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        // Manifest c is state B's level1; the target folder itself is not part of the snapshot.
        let compare = try ReadPath.compare(target, label: "c", extra: ["--ignore", "root"] + Self.ownerIgnore)
        #expect(compare.status == 0, "subfolder restore differs from manifest c:\n\(compare.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(target)/tmp"))
    }

    @Test("--include of a directory restores exactly it, its contents and the folders leading to it",
          arguments: Fixture.repos)
    func includeDirectory(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let id = try Fixture.snapshotID("a", repo)

        let result = try ReadPath.ours(fixture, ["restore", id, "--target", target, "--include", "/tmp/cartae-fixture-src/level1"])
        #expect(result.status == 0, "restore failed: \(result.stderr)")

        let source = try Fixture.entries("a")
        let level1 = source.keys.filter { $0 == "level1" || $0.hasPrefix("level1/") }
        let expected = Set(["tmp", "tmp/cartae-fixture-src"] + level1.map { "tmp/cartae-fixture-src/" + $0 })
        let restored = try ReadPath.paths(under: target)
        #expect(restored == expected, "extra: \(restored.subtracting(expected).sorted()), missing: \(expected.subtracting(restored).sorted())")

        // The hardlink group of snapshot a has a third name outside level1, so group numbers
        // differ; the two names inside must still share one inode.
        let entries = try ReadPath.entries("\(target)/tmp/cartae-fixture-src", extra: ["--ignore", "hardlink"] + Self.ownerIgnore)
        for path in level1 {
            let want = try #require(source[path]?.mutableCopy() as? NSMutableDictionary)
            want.removeObject(forKey: "hardlink")
            if !Self.ownerIgnore.isEmpty { want.removeObjects(forKeys: ["uid", "gid"]) }
            #expect(entries[path] == want, "\(path): restored \(String(describing: entries[path])), source \(want)")
        }
        let copy = try FileManager.default.attributesOfItem(atPath: "\(target)/tmp/cartae-fixture-src/level1/hl-copy.txt")
        let deep = try FileManager.default.attributesOfItem(atPath: "\(target)/tmp/cartae-fixture-src/level1/level2/level3/hl-deep.txt")
        #expect(copy[.systemFileNumber] as? Int == deep[.systemFileNumber] as? Int)
        #expect(copy[.referenceCount] as? Int == 2)
    }

    @Test("--include of a file name restores that file and only the folders above it", arguments: Fixture.repos)
    func includeFileName(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID("a", repo), "--target", target, "--include", "notes.txt"])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        let expected: Set = ["tmp", "tmp/cartae-fixture-src", "tmp/cartae-fixture-src/level1",
                             "tmp/cartae-fixture-src/level1/notes.txt"]
        #expect(try ReadPath.paths(under: target) == expected)
        let notes = try #require(Fixture.entries("a")["level1/notes.txt"]?["sha256"] as? String)
        #expect(try ReadPath.sha256(file: "\(target)/tmp/cartae-fixture-src/level1/notes.txt") == notes)
    }

    @Test("--exclude leaves out matching paths and everything below them; the rest is exact",
          arguments: Fixture.repos)
    func exclude(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID("a", repo), "--target", target,
                                                 "--exclude", "big.bin", "--exclude", "/tmp/cartae-fixture-src/unicode"])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        let source = try Fixture.entries("a")
        let kept = source.filter { $0.key != "big.bin" && $0.key != "unicode" && !$0.key.hasPrefix("unicode/") }
        let expected = Set(["tmp"] + kept.keys.map { $0 == "." ? "tmp/cartae-fixture-src" : "tmp/cartae-fixture-src/" + $0 })
        let restored = try ReadPath.paths(under: target)
        #expect(restored == expected, "extra: \(restored.subtracting(expected).sorted()), missing: \(expected.subtracting(restored).sorted())")

        let entries = try ReadPath.entries("\(target)/tmp/cartae-fixture-src", extra: Self.ownerIgnore)
        for (path, want) in kept {
            let expectedEntry = want.mutableCopy() as! NSMutableDictionary
            if !Self.ownerIgnore.isEmpty { expectedEntry.removeObjects(forKeys: ["uid", "gid"]) }
            #expect(entries[path] == expectedEntry, "\(path): restored \(String(describing: entries[path])), source \(expectedEntry)")
        }
    }

    @Test("stdin snapshots d and e restore their one file with the recorded digest", arguments: Fixture.repos, ["d", "e"])
    func stdinSnapshot(repo: String, label: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let record = try Fixture.snapshot(label)
        let stdin = try #require(record["stdin"] as? [String: Any])
        let restoredPath = try #require(record["restored_path"] as? String)

        let result = try ReadPath.ours(fixture, ["restore", try Fixture.snapshotID(label, repo), "--target", target])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        let file = "\(target)/\(restoredPath)"
        #expect(try ReadPath.sha256(file: file) == stdin["sha256"] as? String)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect(attributes[.size] as? Int == stdin["size"] as? Int)
        #expect(attributes[.posixPermissions] as? Int == 0o644)
        let mtime = try #require(attributes[.modificationDate] as? Date)
        let timeText = try #require(record["time"] as? String)
        let snapshotTime = try #require(ISO8601DateFormatter().date(from: timeText))
        #expect(mtime == snapshotTime)
        let expected: Set<String> = label == "d" ? ["db", "db/dump.sql"] : ["redis.rdb"]
        #expect(try ReadPath.paths(under: target) == expected)
    }

    @Test("latest honours --host, --path and --tag", arguments: Fixture.repos)
    func latestWithFilters(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }

        // Newest of host beta is e (redis.rdb).
        let beta = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(beta) }
        var result = try ReadPath.ours(fixture, ["restore", "latest", "--host", "beta", "--target", beta])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        #expect(try ReadPath.paths(under: beta) == ["redis.rdb"])
        #expect(try ReadPath.sha256(file: "\(beta)/redis.rdb") == (Fixture.snapshot("e")["stdin"] as? [String: Any])?["sha256"] as? String)

        // host beta and path level1: only c.
        let level1 = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(level1) }
        result = try ReadPath.ours(fixture, ["restore", "latest", "--host", "beta", "--path", "/tmp/cartae-fixture-src/level1",
                                             "--target", level1])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        let compare = try ReadPath.compare("\(level1)/tmp/cartae-fixture-src/level1", label: "c", extra: Self.ownerIgnore)
        #expect(compare.status == 0, "latest --host beta --path … is not snapshot c:\n\(compare.stderr)")

        // tag postgres: only d.
        let postgres = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(postgres) }
        result = try ReadPath.ours(fixture, ["restore", "latest", "--tag", "postgres", "--target", postgres])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        #expect(try ReadPath.paths(under: postgres) == ["db", "db/dump.sql"])
    }

    @Test("a unique ID prefix names the snapshot", arguments: Fixture.repos)
    func idPrefix(repo: String) async throws {
        let fixture = try await Fixture.fast(repo)
        defer { ReadPath.removeTemp(ReadPath.parent(fixture)) }
        let target = try TempDir.make("restore").path
        defer { ReadPath.removeTemp(target) }
        let id = try Fixture.snapshotID("d", repo)

        let result = try ReadPath.ours(fixture, ["restore", String(id.prefix(8)), "--target", target])
        #expect(result.status == 0, "restore failed: \(result.stderr)")
        let digest = (try Fixture.snapshot("d")["stdin"] as? [String: Any])?["sha256"] as? String
        #expect(try ReadPath.sha256(file: "\(target)/db/dump.sql") == digest)
        #expect(result.out.contains("restoring <Snapshot \(id.prefix(8)) of [/db/dump.sql] at 2024-05-06 02:00:00 +0000 UTC by root@alpha> to \(target)"),
                "restic's first line expected, got: \(result.out)")
    }
}
