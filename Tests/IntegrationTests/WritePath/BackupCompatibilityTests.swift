import Foundation
import Testing

/// Our backups judged by restic 0.14: `check --read-data`, `restore` compared entry by entry
/// with the source, tree metadata identical to restic's own, and data shared both ways.
@Suite("backup compatibility with restic")
struct BackupCompatibilityTests {
    struct Format: CustomTestStringConvertible, Sendable {
        var version: Int
        var compression: String?
        var testDescription: String { "v\(version)" + (compression.map { " --compression \($0)" } ?? "") }
        var flags: [String] { compression.map { ["--compression", $0] } ?? [] }
    }

    static let formats = [Format(version: 1, compression: nil), Format(version: 2, compression: "auto"),
                          Format(version: 2, compression: "off"), Format(version: 2, compression: "max"),
                          Format(version: 2, compression: "fastest"), Format(version: 2, compression: "better")]

    /// Every blob entry of every index file, as restic prints them.
    static func indexBlobs(_ repo: String) throws -> [(type: String, length: Int, uncompressed: Int?)] {
        var blobs: [(String, Int, Int?)] = []
        for id in WriteRepo.files(repo, "index") {
            let result = try WriteRepo.restic(repo, ["cat", "index", id])
            guard result.status == 0, let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] else {
                throw HarnessError("restic cat index \(id) failed: \(result.stderr)")
            }
            for pack in object["packs"] as? [[String: Any]] ?? [] {
                for blob in pack["blobs"] as? [[String: Any]] ?? [] {
                    blobs.append((blob["type"] as? String ?? "?", (blob["length"] as? NSNumber)?.intValue ?? 0,
                                  (blob["uncompressed_length"] as? NSNumber)?.intValue))
                }
            }
        }
        return blobs
    }

    @Test("restic check --read-data accepts our backup and restic restores it with the same bytes and metadata",
          arguments: formats)
    func checkAndRestore(_ format: Format) async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tree = try TreeGenerator.make(in: dir, seed: 11)
        let repo = try await WriteRepo.ours(version: format.version, in: dir)
        let (backup, summary) = try WriteRepo.backup(repo, format.flags + [tree.root])
        try #require(backup.status == 0, "backup failed: \(backup.stderr)")
        #expect(WriteRepo.int(summary, "files_new") == tree.files.count)

        let check = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(check.status == 0, "restic check: \(check.out)\n\(check.stderr)")
        #expect(check.out.contains("no errors were found"))

        let snapshot = try #require(try WriteRepo.snapshots(repo).first?["id"] as? String)
        let compare = try WriteRepo.restoreAndCompare(repo, snapshot: snapshot, source: tree.root)
        #expect(compare.status == 0, "restored tree differs from the source:\n\(compare.stderr)")
        // Default pack size: everything fits in one data pack and one tree pack.
        #expect(WriteRepo.files(repo, "data").count == 2)
        #expect(WriteRepo.files(repo, "index").count == 1)

        // What the index says about compression, blob by blob.
        let blobs = try Self.indexBlobs(repo)
        let data = blobs.filter { $0.type == "data" }, trees = blobs.filter { $0.type == "tree" }
        #expect(!data.isEmpty && !trees.isEmpty)
        for blob in data where blob.uncompressed != nil {
            // A compressed data blob must be smaller than its plaintext, else it should be stored plain.
            #expect(blob.length - 32 < blob.uncompressed!, "a data blob stored compressed grew: \(blob.length - 32) ≥ \(blob.uncompressed!)")
        }
        if format.version == 1 {
            #expect(blobs.allSatisfy { $0.uncompressed == nil }, "v1 has no compressed blobs")
        } else {
            // Trees are compressed in every mode, even the empty one that zstd makes larger:
            // restic's prune repacks any pack holding an uncompressed tree in v2.
            #expect(trees.allSatisfy { $0.uncompressed != nil }, "v2 compresses every tree")
            let prune = try WriteRepo.restic(repo, ["prune", "--dry-run"])
            let repack = prune.out.split(separator: "\n").first { $0.hasPrefix("to repack:") }
            #expect(prune.status == 0 && repack?.hasSuffix(" 0 blobs / 0 B") == true,
                    "restic would repack our fresh backup:\n\(prune.out)\n\(prune.stderr)")
            if format.compression == "off" {
                #expect(data.allSatisfy { $0.uncompressed == nil })
            } else {
                // The log file shrinks; the random file does not and must not grow.
                #expect(data.contains { $0.uncompressed != nil && ($0.length - 32) * 3 < $0.uncompressed! })
            }
        }
        let stored = data.reduce(0) { $0 + $1.length - 32 }
        let plain = data.reduce(0) { $0 + ($1.uncompressed ?? $1.length - 32) }
        #expect(stored <= plain, "data stored bigger than it came: \(stored) > \(plain)")
        if format.compression == nil || format.compression == "off" {
            #expect(stored == plain)
        }
    }

    @Test("compression levels differ: max stores the log file no bigger than fastest, and random data never grows")
    func compressionLevels() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("src")
        try TreeGenerator.makeDirectory(source.path)
        try TreeGenerator.write(source.appendingPathComponent("app.log").path, TreeGenerator.logText(1 << 20, seed: 5))
        try TreeGenerator.write(source.appendingPathComponent("random.bin").path, TreeGenerator.randomBytes(1 << 20, seed: 5))
        var packed: [String: Int] = [:]
        for mode in ["fastest", "auto", "better", "max"] {
            let repo = try await WriteRepo.ours(version: 2, in: dir, name: "repo-\(mode)")
            let (backup, _) = try WriteRepo.backup(repo, ["--compression", mode, source.path])
            try #require(backup.status == 0, "\(mode): \(backup.stderr)")
            let blobs = try Self.indexBlobs(repo).filter { $0.type == "data" }
            packed[mode] = blobs.filter { $0.uncompressed != nil }.reduce(0) { $0 + $1.length }
            let stored = blobs.reduce(0) { $0 + $1.length - 32 }
            #expect(stored < (1 << 20) * 2, "\(mode): \(stored)")
            #expect(blobs.contains { $0.uncompressed == nil }, "\(mode): random chunks should be stored uncompressed")
        }
        let fastest = try #require(packed["fastest"]), max = try #require(packed["max"])
        #expect(max <= fastest, "max \(max) > fastest \(fastest)")
        #expect(Set(packed.values).count > 1, "every mode gave the same size: \(packed)")
    }

    @Test("our trees carry restic's metadata: same subtree ID, same restic ls -l and no restic diff against restic's snapshot of the tree")
    func sameTreeMetadataAsRestic() async throws {
        let top = try WriteTemp.topLevel()
        defer { try? FileManager.default.removeItem(atPath: top) }
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tree = try TreeGenerator.make(in: URL(fileURLWithPath: top), seed: 3)
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        // restic first, while every atime still equals its mtime (restic 0.14 stores real atimes).
        let restic = try WriteRepo.restic(repo, ["backup", "--host", "h", tree.root])
        try #require(restic.status == 0, "\(restic.stderr)")
        let (ours, _) = try WriteRepo.backup(repo, ["--host", "h", "--force", tree.root])
        try #require(ours.status == 0, "\(ours.stderr)")
        let snapshots = try WriteRepo.snapshots(repo)
        try #require(snapshots.count == 2)
        let theirs = try #require(snapshots[0]["id"] as? String), mine = try #require(snapshots[1]["id"] as? String)

        #expect(try WriteRepo.longListing(repo, mine) == (try WriteRepo.longListing(repo, theirs)))
        #expect(try WriteRepo.subtree(repo, snapshot: mine, path: tree.root)
                == (try WriteRepo.subtree(repo, snapshot: theirs, path: tree.root)),
                "the source folder's tree must be byte-identical to restic's")
        let diff = try WriteRepo.restic(repo, ["diff", theirs, mine])
        try #require(diff.status == 0, "\(diff.stderr)")
        let changes = diff.out.split(separator: "\n").filter { line in
            ["+", "-", "M", "T", "U"].contains { line.hasPrefix($0 + " ") || line.hasPrefix($0 + "U ") }
        }
        #expect(changes.isEmpty, "restic diff: \(diff.out)")
        #expect(diff.out.contains("Files:           0 new,     0 removed,     0 changed"), "\(diff.out)")
    }

    @Test("restic backs up into a repository we initialised and we restore its snapshot", arguments: [1, 2])
    func resticWritesOurRepository(version: Int) async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tree = try TreeGenerator.make(in: dir, seed: 21)
        let repo = try await WriteRepo.ours(version: version, in: dir)
        let backup = try WriteRepo.restic(repo, ["backup", tree.root])
        try #require(backup.status == 0, "\(backup.stderr)")
        #expect(try WriteRepo.restic(repo, ["check", "--read-data"]).status == 0)
        let snapshot = try #require(try WriteRepo.snapshots(repo).first?["id"] as? String)
        let compare = try WriteRepo.restoreAndCompare(repo, snapshot: snapshot, source: tree.root, using: .ours)
        #expect(compare.status == 0, "our restore of restic's snapshot differs:\n\(compare.stderr)")
    }

    @Test("we back up into a repository restic initialised; restic checks and restores our snapshot", arguments: [1, 2])
    func oursIntoResticRepository(version: Int) async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tree = try TreeGenerator.make(in: dir, seed: 22)
        let repo = try await WriteRepo.restics(version: version, in: dir)
        let (backup, _) = try WriteRepo.backup(repo, [tree.root])
        try #require(backup.status == 0, "\(backup.stderr)")
        let check = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(check.status == 0, "\(check.out)\n\(check.stderr)")
        let snapshot = try #require(try WriteRepo.snapshots(repo).first?["id"] as? String)
        let compare = try WriteRepo.restoreAndCompare(repo, snapshot: snapshot, source: tree.root)
        #expect(compare.status == 0, "restic's restore of our snapshot differs:\n\(compare.stderr)")
    }

    /// Files from 4 MiB up are read with O_DIRECT, a thread ahead of the chunker, in 512 KiB
    /// pieces; the unaligned tail falls back to the page cache. Sizes on and off those edges.
    @Test("large files read directly come back byte for byte through restic, tails and exact multiples alike")
    func largeFilesReadDirectly() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("large")
        try TreeGenerator.makeDirectory(source.path)
        let sizes = [(4 << 20) - 1, 4 << 20, (5 << 20) + 1, (11 << 20) + 777, 3 * 4096]
        for (number, size) in sizes.enumerated() {
            try TreeGenerator.write(source.appendingPathComponent("file\(number).bin").path,
                                    TreeGenerator.randomBytes(size, seed: UInt64(70 + number)))
        }
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let (backup, summary) = try WriteRepo.backup(repo, [source.path])
        try #require(backup.status == 0, "backup failed: \(backup.stderr)")
        #expect(WriteRepo.int(summary, "files_new") == sizes.count)
        #expect(WriteRepo.int(summary, "total_bytes_processed") == sizes.reduce(0, +))
        let check = try WriteRepo.restic(repo, ["check", "--read-data"])
        #expect(check.status == 0, "restic check: \(check.out)\n\(check.stderr)")
        let snapshot = try #require(try WriteRepo.snapshots(repo).first?["id"] as? String)
        let compare = try WriteRepo.restoreAndCompare(repo, snapshot: snapshot, source: source.path)
        #expect(compare.status == 0, "restic's restore differs from the source:\n\(compare.stderr)")
    }

    @Test("the chunker cuts as restic does: an 8 MiB file restic stored adds no data blob when we back up a copy")
    func deduplicatesAgainstRestic() async throws {
        let version = 2
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.restics(version: version, in: dir)
        // Just over the 8 MiB maximum chunk, so there are at least two chunks whatever the
        // polynomial (content-defined cuts come about once per MiB).
        let bytes = TreeGenerator.randomBytes(8 << 20 + 12345, seed: UInt64(40 + version))
        for folder in ["first", "second"] {
            try TreeGenerator.makeDirectory(dir.appendingPathComponent(folder).path)
            try TreeGenerator.write(dir.appendingPathComponent(folder + "/big.bin").path, bytes)
        }
        let restic = try WriteRepo.restic(repo, ["backup", dir.appendingPathComponent("first/big.bin").path])
        try #require(restic.status == 0, "\(restic.stderr)")
        let blobsBefore = try WriteRepo.restic(repo, ["list", "blobs"]).out.split(separator: "\n").filter { $0.hasPrefix("data ") }
        #expect(blobsBefore.count >= 2, "8 MiB should give several chunks")

        // A copy at another path: a new inode and no parent, so every byte is read and chunked.
        let (ours, summary) = try WriteRepo.backup(repo, [dir.appendingPathComponent("second/big.bin").path])
        try #require(ours.status == 0, "\(ours.stderr)")
        #expect(WriteRepo.int(summary, "files_new") == 1)
        #expect(WriteRepo.int(summary, "data_blobs") == 0, "\(String(decoding: ours.stdout, as: UTF8.self))")
        #expect(WriteRepo.int(summary, "data_added").map { $0 < 4096 } == true)
        let blobsAfter = try WriteRepo.restic(repo, ["list", "blobs"]).out.split(separator: "\n").filter { $0.hasPrefix("data ") }
        #expect(Set(blobsAfter) == Set(blobsBefore))
        #expect(try WriteRepo.restic(repo, ["check"]).status == 0)
    }
}
