import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticBackends
import ResticRepository

/// backup's flags and what the user sees, each judged through restic (snapshots, ls, dump,
/// check) or the repository's files.
@Suite("backup flags and output")
struct FlagsTests {
    /// A small source and a v2 repository in one temp folder.
    struct Setup {
        let dir: URL
        let tree: GeneratedTree
        let repo: String

        init(seed: UInt64) async throws {
            dir = try TempDir.make()
            tree = try TreeGenerator.make(in: dir, seed: seed)
            repo = try await WriteRepo.ours(version: 2, in: dir)
        }

        func remove() { try? FileManager.default.removeItem(at: dir) }

        var repositoryFiles: Set<String> {
            Set(["data", "index", "snapshots", "keys", "locks"].flatMap { folder in
                WriteRepo.files(repo, folder).map { folder + "/" + $0 }
            })
        }
    }

    /// Every path restic lists below `root` (relative), directories included.
    static func listed(_ repo: String, _ snapshot: String, under root: String) throws -> Set<String> {
        Set(try WriteRepo.paths(repo, snapshot).compactMap { path in
            path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : nil
        })
    }

    /// Every path below `root` on disk (relative), as `find` sees it.
    static func onDisk(_ root: String) throws -> Set<String> { try ReadPath.paths(under: root) }

    /// The stored snapshot JSON, read with our library (restic 0.14 drops fields it does not know).
    static func storedSnapshot(_ repo: String, _ id: String) async throws -> [String: Any] {
        let repository = try await Repository.open(LocalBackend(path: repo), password: WriteRepo.password)
        let objectID = try #require(ObjectID(hex: id))
        let bytes = try await repository.loadUnpacked(.snapshot, objectID)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// Many readers on a two-chunk queue used to lose a wake-up and hang; each count must
    /// finish and store the same tree.
    @Test("--read-concurrency 1, 5 and 12 give the same snapshot tree; 0 is refused")
    func readConcurrency() async throws {
        let s = try await Setup(seed: 52)
        defer { s.remove() }
        let big = s.tree.path("data/many")
        try TreeGenerator.makeDirectory(big)
        for i in 0..<40 {
            try TreeGenerator.write("\(big)/file-\(i).bin", TreeGenerator.randomBytes(700_000 + i * 9_973, seed: UInt64(i)))
        }
        // The source's own tree, not the snapshot's: folders above it (/tmp) change meanwhile.
        var trees: Set<String> = []
        for readers in ["1", "5", "12"] {
            let (result, summary) = try WriteRepo.backup(s.repo, ["--force", "--read-concurrency", readers, s.tree.root])
            try #require(result.status == 0, "--read-concurrency \(readers): \(result.stderr)")
            let id = try #require(summary?["snapshot_id"] as? String)
            let tree = try Harness.ours(["cat", "tree", "\(id):\(s.tree.root)"], repo: s.repo, password: WriteRepo.password)
            try #require(tree.status == 0, "\(tree.stderr)")
            trees.insert(tree.out)
        }
        #expect(trees.count == 1, "\(trees)")
        let refused = try Harness.ours(["backup", "--read-concurrency", "0", s.tree.root], repo: s.repo, password: WriteRepo.password)
        #expect(refused.status == 1 && refused.stderr.contains("--read-concurrency"), "\(refused.stderr)")
        let check = try WriteRepo.restic(s.repo, ["check", "--read-data"])
        #expect(check.status == 0, "\(check.out)\n\(check.stderr)")
    }

    @Test("--host, --tag and --time end up in the snapshot; program_version and summary are stored")
    func hostTagTime() async throws {
        let s = try await Setup(seed: 51)
        defer { s.remove() }
        let (result, summary) = try WriteRepo.backup(s.repo, ["--host", "web-01", "--tag", "daily,db", "--tag", "x",
                                                              "--time", "2021-02-03 04:05:06", s.tree.root])
        try #require(result.status == 0, "\(result.stderr)")
        let snapshot = try #require(try WriteRepo.snapshots(s.repo).first)
        #expect(snapshot["hostname"] as? String == "web-01")
        #expect(snapshot["tags"] as? [String] == ["daily", "db", "x"])
        #expect(snapshot["time"] as? String == "2021-02-03T04:05:06Z")
        #expect(snapshot["paths"] as? [String] == [s.tree.root])
        #expect(snapshot["username"] as? String == "root")
        #expect(snapshot["id"] as? String == summary?["snapshot_id"] as? String)

        let stored = try await Self.storedSnapshot(s.repo, try #require(snapshot["id"] as? String))
        #expect((stored["program_version"] as? String)?.hasPrefix("cartae-restic ") == true)
        let storedSummary = try #require(stored["summary"] as? [String: Any])
        for key in ["backup_start", "backup_end", "files_new", "files_changed", "files_unmodified", "dirs_new",
                    "dirs_changed", "dirs_unmodified", "data_blobs", "tree_blobs", "data_added", "data_added_packed",
                    "total_files_processed", "total_bytes_processed"] {
            #expect(storedSummary[key] != nil, "summary lacks \(key)")
        }
        #expect(WriteRepo.int(storedSummary, "files_new") == s.tree.files.count)
        #expect(WriteRepo.int(storedSummary, "total_bytes_processed") == s.tree.bytes)
        #expect(WriteRepo.int(storedSummary, "data_blobs") == WriteRepo.int(summary, "data_blobs"))
    }

    @Test("--exclude, --iexclude, --exclude-file and --exclude-caches leave out exactly what they match")
    func excludes() async throws {
        let s = try await Setup(seed: 52)
        defer { s.remove() }
        let cache = s.tree.path("level1/cache")
        try TreeGenerator.makeDirectory(cache)
        try TreeGenerator.write(cache + "/CACHEDIR.TAG", Array("Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n".utf8))
        try TreeGenerator.write(cache + "/blob.bin", TreeGenerator.randomBytes(1000, seed: 1))
        let fakeCache = s.tree.path("level1/not-a-cache")
        try TreeGenerator.makeDirectory(fakeCache)
        try TreeGenerator.write(fakeCache + "/CACHEDIR.TAG", Array("no signature here\n".utf8))
        try TreeGenerator.write(fakeCache + "/kept.txt", Array("kept".utf8))
        let excludeFile = s.dir.appendingPathComponent("excludes.txt").path
        try "# comment\n\nlevel3\n*.sh\n".write(toFile: excludeFile, atomically: true, encoding: .utf8)

        let (result, _) = try WriteRepo.backup(s.repo, ["--exclude", "*.log", "--iexclude", "README.TXT",
                                                        "--exclude-file", excludeFile, "--exclude-caches", s.tree.root])
        try #require(result.status == 0, "\(result.stderr)")
        let id = try #require(try WriteRepo.snapshots(s.repo).first?["id"] as? String)
        let expected = try Self.onDisk(s.tree.root).filter { path in
            !path.hasSuffix(".log") && path != "README.txt" && !path.hasSuffix(".sh")
                && !path.contains("level3") && !path.hasPrefix("level1/cache/blob")
        }
        let listed = try Self.listed(s.repo, id, under: s.tree.root)
        #expect(listed == expected, "missing: \(expected.subtracting(listed).sorted()) extra: \(listed.subtracting(expected).sorted())")
        #expect(listed.contains("level1/cache/CACHEDIR.TAG"))
        #expect(listed.contains("level1/not-a-cache/kept.txt"))
        #expect(listed.contains("logs"))
    }

    @Test("--files-from backs up exactly the listed paths (comments and blank lines skipped), with their parent folders")
    func filesFrom() async throws {
        let s = try await Setup(seed: 53)
        defer { s.remove() }
        let list = s.dir.appendingPathComponent("files.txt").path
        try "# what to save\n\(s.tree.path("level1/level2"))\n\n\(s.tree.path("unicode/Grüße und Küsse.txt"))\n"
            .write(toFile: list, atomically: true, encoding: .utf8)
        let (result, _) = try WriteRepo.backup(s.repo, ["--files-from", list])
        try #require(result.status == 0, "\(result.stderr)")
        let snapshot = try #require(try WriteRepo.snapshots(s.repo).first)
        #expect(Set(snapshot["paths"] as? [String] ?? []) == [s.tree.path("level1/level2"), s.tree.path("unicode/Grüße und Küsse.txt")])
        let listed = try Self.listed(s.repo, try #require(snapshot["id"] as? String), under: s.tree.root)
        let expected = Set(["level1", "unicode", "unicode/Grüße und Küsse.txt", "level1/level2"])
            .union(try Self.onDisk(s.tree.path("level1/level2")).map { "level1/level2/" + $0 })
        #expect(listed == expected, "missing: \(expected.subtracting(listed).sorted()) extra: \(listed.subtracting(expected).sorted())")
    }

    @Test("--no-extra-verify (restic 0.17's flag) backs up and prunes without the read-back; restic checks and restores the result")
    func noExtraVerify() async throws {
        let s = try await Setup(seed: 57)
        defer { s.remove() }
        let (first, _) = try WriteRepo.backup(s.repo, ["--no-extra-verify", s.tree.root])
        try #require(first.status == 0, "\(first.stderr)")
        try TreeGenerator.write(s.tree.root + "/late.bin", TreeGenerator.randomBytes(3 << 20, seed: 58))
        let (second, _) = try WriteRepo.backup(s.repo, [s.tree.root, "--no-extra-verify"])
        try #require(second.status == 0, "\(second.stderr)")
        let prune = try Harness.ours(["--no-extra-verify", "forget", "--keep-last", "1", "--prune"], repo: s.repo,
                                     password: WriteRepo.password)
        #expect(prune.status == 0, "\(prune.stderr)")
        let check = try WriteRepo.restic(s.repo, ["check", "--read-data"])
        #expect(check.status == 0, "restic check: \(check.out)\n\(check.stderr)")
        let snapshot = try #require(try WriteRepo.snapshots(s.repo).first?["id"] as? String)
        let compare = try WriteRepo.restoreAndCompare(s.repo, snapshot: snapshot, source: s.tree.root)
        #expect(compare.status == 0, "restored tree differs from the source:\n\(compare.stderr)")
        let help = try Harness.ours(["backup", "--help"], repo: s.repo, password: WriteRepo.password)
        #expect(help.out.contains("--no-extra-verify"), "\(help.out)")
    }

    @Test("--dry-run writes nothing to the repository but reports what it would add")
    func dryRun() async throws {
        let s = try await Setup(seed: 54)
        defer { s.remove() }
        let before = s.repositoryFiles
        let (result, summary) = try WriteRepo.backup(s.repo, ["--dry-run", s.tree.root])
        try #require(result.status == 0, "\(result.stderr)")
        #expect(s.repositoryFiles == before)
        #expect(summary?["dry_run"] as? Bool == true)
        #expect(WriteRepo.int(summary, "files_new") == s.tree.files.count)
        #expect((WriteRepo.int(summary, "data_added") ?? 0) > TreeGenerator.randomSize)
        #expect(summary?["snapshot_id"] == nil)
        #expect(try WriteRepo.snapshots(s.repo).isEmpty)
    }

    @Test("--pack-size 4 splits 9 MiB into packs of at least 4 MiB that restic accepts; sizes outside 4…128 are refused")
    func packSize() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("big")
        try TreeGenerator.makeDirectory(source.path)
        try TreeGenerator.write(source.appendingPathComponent("random.bin").path, TreeGenerator.randomBytes(9 << 20, seed: 9))
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let result = try Harness.ours(["--pack-size", "4", "backup", "-q", source.path], repo: repo)
        try #require(result.status == 0, "\(result.stderr)")
        let sizes = WriteRepo.files(repo, "data").map { name in
            ((try? FileManager.default.attributesOfItem(atPath: "\(repo)/data/\(name.prefix(2))/\(name)")[.size]) as? Int) ?? 0
        }.sorted()
        // One small tree pack, then data packs: each is closed once it reaches 4 MiB (so it holds
        // at most 4 MiB plus one 8 MiB chunk), only the last one may be smaller.
        let data = sizes.dropFirst()
        #expect(sizes.count >= 3, "pack sizes \(sizes)")
        #expect(data.filter { $0 < 4 << 20 }.count <= 1, "pack sizes \(sizes)")
        #expect(sizes.allSatisfy { $0 <= 4 << 20 + 8 << 20 + 4096 }, "pack sizes \(sizes)")
        #expect(try WriteRepo.restic(repo, ["check", "--read-data"]).status == 0)
        for bad in ["2", "129"] {
            let invalid = try Harness.ours(["--pack-size", bad, "backup", source.path], repo: repo)
            #expect(invalid.status == 1, "--pack-size \(bad)")
        }
        #expect(try WriteRepo.snapshots(repo).count == 1)
    }

    @Test("--stdin --stdin-filename db/x.sql stores the bytes under /db/x.sql; restic dump gives them back")
    func stdin() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let input = Data(TreeGenerator.logText(300_000, seed: 4))
        let (result, summary) = try WriteRepo.backup(repo, ["--stdin", "--stdin-filename", "db/x.sql", "--time", "2024-05-06 02:00:00"],
                                                     input: input)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(WriteRepo.int(summary, "total_bytes_processed") == input.count)
        let snapshot = try #require(try WriteRepo.snapshots(repo).first)
        #expect(snapshot["paths"] as? [String] == ["/db/x.sql"])
        let dump = try WriteRepo.restic(repo, ["dump", "latest", "/db/x.sql"])
        #expect(dump.status == 0)
        #expect(dump.stdout == input)
        #expect(try WriteRepo.paths(repo, "latest") == ["/db", "/db/x.sql"])
        let listing = try WriteRepo.longListing(repo, "latest")
        #expect(listing.last?.hasPrefix("-rw-r--r--     0     0 300000 2024-05-06 02:00:00 /db/x.sql") == true, "\(listing)")
        #expect(try WriteRepo.restic(repo, ["check", "--read-data"]).status == 0)

        // Empty input is an error and saves nothing, as in restic.
        let (empty, _) = try WriteRepo.backup(repo, ["--stdin"], input: Data())
        #expect(empty.status == 1)
        // Paths next to --stdin are refused, as restic does.
        // (No input: the command exits before reading, and writing to its pipe would SIGPIPE us.)
        let (mixed, _) = try WriteRepo.backup(repo, ["--stdin", dir.path])
        #expect(mixed.status == 1)
        #expect(try WriteRepo.snapshots(repo).count == 1)
    }

    @Test("--stdin-from-command stores the command's output; a failing command or empty output exits 1 and saves no snapshot")
    func stdinFromCommand() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let (ok, _) = try WriteRepo.backup(repo, ["--stdin-from-command", "--stdin-filename", "out.txt", "--", "sh", "-c", "printf data"])
        try #require(ok.status == 0, "\(ok.stderr)")
        #expect(try WriteRepo.restic(repo, ["dump", "latest", "/out.txt"]).out == "data")
        #expect(try WriteRepo.snapshots(repo).first?["paths"] as? [String] == ["/out.txt"])

        let (failing, _) = try WriteRepo.backup(repo, ["--stdin-from-command", "--", "sh", "-c", "printf partial; exit 3"])
        #expect(failing.status == 1, "failing command: \(failing.status) \(failing.stderr)")
        let (empty, _) = try WriteRepo.backup(repo, ["--stdin-from-command", "--", "sh", "-c", "true"])
        #expect(empty.status == 1, "empty output: \(empty.status) \(empty.stderr)")
        let (killed, _) = try WriteRepo.backup(repo, ["--stdin-from-command", "--", "sh", "-c", "printf some; kill -9 $$"])
        #expect(killed.status == 1, "killed command: \(killed.status) \(killed.stderr)")
        #expect(try WriteRepo.snapshots(repo).count == 1, "only the good run may save a snapshot")
        #expect(WriteRepo.files(repo, "locks").isEmpty)
        #expect(try WriteRepo.restic(repo, ["check"]).status == 0)
    }

    @Test("--json prints restic's summary message (and only JSON lines); -q prints nothing on stdout")
    func outputModes() async throws {
        let s = try await Setup(seed: 55)
        defer { s.remove() }
        let (json, summary) = try WriteRepo.backup(s.repo, [s.tree.root])
        try #require(json.status == 0, "\(json.stderr)")
        for line in json.stdout.split(separator: 10) {
            let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            #expect(["status", "summary"].contains(object?["message_type"] as? String ?? ""), "\(String(decoding: line, as: UTF8.self))")
        }
        let summaryObject = try #require(summary)
        for key in ["files_new", "files_changed", "files_unmodified", "dirs_new", "dirs_changed", "dirs_unmodified",
                    "data_blobs", "tree_blobs", "data_added", "total_files_processed", "total_bytes_processed",
                    "total_duration", "snapshot_id"] {
            #expect(summaryObject[key] != nil, "summary lacks \(key)")
        }
        #expect(WriteRepo.int(summary, "files_new") == s.tree.files.count)
        #expect(WriteRepo.int(summary, "total_files_processed") == s.tree.files.count)
        #expect(WriteRepo.int(summary, "total_bytes_processed") == s.tree.bytes)
        #expect(summary?["snapshot_id"] as? String == (try WriteRepo.snapshots(s.repo).first?["id"] as? String))
        // restic counts the same tree the same way (--force: no parent, everything is new).
        let restic = try WriteRepo.restic(s.repo, ["backup", "--json", "--force", s.tree.root])
        try #require(restic.status == 0, "\(restic.stderr)")
        let resticSummary = WriteRepo.summary(restic.stdout)
        for key in ["files_new", "files_changed", "files_unmodified", "dirs_new", "dirs_changed", "dirs_unmodified",
                    "total_files_processed", "total_bytes_processed"] {
            #expect(WriteRepo.int(summary, key) == WriteRepo.int(resticSummary, key), "\(key): ours \(summary?[key] ?? "nil"), restic \(resticSummary?[key] ?? "nil")")
        }

        let quiet = try Harness.ours(["backup", "-q", "--force", s.tree.root], repo: s.repo)
        #expect(quiet.status == 0)
        #expect(quiet.stdout.isEmpty, "-q printed: \(quiet.out)")
        #expect(quiet.stderr.isEmpty, "-q printed on stderr: \(quiet.stderr)")
        let plain = try Harness.ours(["backup", s.tree.root], repo: s.repo)
        #expect(plain.status == 0)
        #expect(plain.out.contains("snapshot ") && plain.out.contains(" saved"), "\(plain.out)")
        #expect(try WriteRepo.snapshots(s.repo).count == 4)
    }

    @Test("an unreadable source file is a warning: the snapshot is written without it and the exit code is 3")
    func unreadableFile() async throws {
        // Root reads every file regardless of its mode, but sysfs refuses to open write-only
        // attributes for reading even for root (EACCES).
        let candidates = ["/sys/bus/cpu/uevent", "/sys/bus/platform/drivers_probe", "/sys/bus/pci/rescan"]
        let refusesRead = { (path: String) -> Bool in
            let fd = open(path, O_RDONLY)
            if fd >= 0 { close(fd) }
            return fd < 0 && access(path, F_OK) == 0
        }
        guard let unreadable = candidates.first(where: refusesRead) else {
            Issue.record("no unreadable file found on this machine (tried \(candidates)); cannot test exit 3")
            return
        }
        let s = try await Setup(seed: 56)
        defer { s.remove() }
        let (result, summary) = try WriteRepo.backup(s.repo, [s.tree.root, unreadable])
        #expect(result.status == 3, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains(unreadable), "the warning names the file: \(result.stderr)")
        let snapshot = try #require(try WriteRepo.snapshots(s.repo).first)
        #expect(Set(snapshot["paths"] as? [String] ?? []) == [s.tree.root, unreadable])
        #expect(summary?["snapshot_id"] as? String == snapshot["id"] as? String)
        let paths = try WriteRepo.paths(s.repo, try #require(snapshot["id"] as? String))
        #expect(!paths.contains(unreadable))
        #expect(paths.contains(s.tree.path("data/random.bin")))
        #expect(try WriteRepo.restic(s.repo, ["check"]).status == 0)
    }

    @Test("a source path that does not exist is an error: exit 1 and no snapshot")
    func missingPath() async throws {
        let s = try await Setup(seed: 57)
        defer { s.remove() }
        let missing = s.dir.appendingPathComponent("no-such-thing").path
        for arguments in [[missing], [s.tree.root, missing]] {
            let (result, _) = try WriteRepo.backup(s.repo, arguments)
            #expect(result.status == 1, "\(arguments): exit \(result.status)")
            #expect(result.stderr.contains("no-such-thing"), "\(result.stderr)")
        }
        #expect(try WriteRepo.snapshots(s.repo).isEmpty)
        #expect(WriteRepo.files(s.repo, "locks").isEmpty)
    }
}
