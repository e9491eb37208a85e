import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Backups with a parent snapshot: unchanged files are neither read (checked with strace) nor
/// stored again; changed files add only their new blobs.
@Suite("incremental backups")
struct IncrementalTests {
    /// A source tree under a top-level folder (see `WriteTemp.topLevel`) and a v2 repository.
    struct Setup {
        let top: String
        let dir: URL
        let tree: GeneratedTree
        let repo: String

        init(seed: UInt64) async throws {
            top = try WriteTemp.topLevel()
            dir = try TempDir.make()
            tree = try TreeGenerator.make(in: URL(fileURLWithPath: top), seed: seed)
            repo = try await WriteRepo.ours(version: 2, in: dir)
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: top)
            try? FileManager.default.removeItem(at: dir)
        }

        /// Every file of the repository with its folder, to see what a run added.
        var repositoryFiles: Set<String> {
            Set(["data", "index", "snapshots", "keys"].flatMap { folder in WriteRepo.files(repo, folder).map { folder + "/" + $0 } })
        }
    }

    @Test("a second backup of unchanged data reads no file, writes no pack and no index, and names the first as parent")
    func unchangedSecondBackup() async throws {
        let s = try await Setup(seed: 31)
        defer { s.remove() }
        let (first, firstSummary) = try WriteRepo.backup(s.repo, [s.tree.root])
        try #require(first.status == 0, "\(first.stderr)")
        #expect(WriteRepo.int(firstSummary, "files_new") == s.tree.files.count)
        let before = s.repositoryFiles

        let (second, summary, opened) = try WriteTemp.tracedBackup(s.repo, [s.tree.root], root: s.tree.root)
        try #require(second.status == 0, "\(second.stderr)")
        #expect(opened.isEmpty, "unchanged files were opened: \(opened.sorted())")
        #expect(WriteRepo.int(summary, "files_unmodified") == s.tree.files.count)
        #expect(WriteRepo.int(summary, "files_new") == 0)
        #expect(WriteRepo.int(summary, "files_changed") == 0)
        #expect(WriteRepo.int(summary, "dirs_new") == 0)
        #expect(WriteRepo.int(summary, "dirs_changed") == 0)
        #expect(WriteRepo.int(summary, "data_blobs") == 0)
        #expect(WriteRepo.int(summary, "tree_blobs") == 0)
        #expect(WriteRepo.int(summary, "data_added") == 0)
        #expect(WriteRepo.int(summary, "total_bytes_processed") == s.tree.bytes)
        let added = s.repositoryFiles.subtracting(before)
        #expect(added.count == 1 && added.first?.hasPrefix("snapshots/") == true, "new files: \(added.sorted())")

        let snapshots = try WriteRepo.snapshots(s.repo)
        try #require(snapshots.count == 2)
        #expect(snapshots[1]["parent"] as? String == snapshots[0]["id"] as? String)
        #expect(snapshots[1]["tree"] as? String == snapshots[0]["tree"] as? String)
        #expect(snapshots[0]["parent"] == nil)
    }

    @Test("a modified file and a touched file are the only ones read; only the modified content adds a blob")
    func changedFilesOnly() async throws {
        let s = try await Setup(seed: 32)
        defer { s.remove() }
        try #require(try WriteRepo.backup(s.repo, [s.tree.root]).0.status == 0)

        let notes = s.tree.path("level1/notes.txt")
        let newContent = Array("rewritten after the first backup\n".utf8)
        try TreeGenerator.write(notes, newContent)
        let (second, summary, opened) = try WriteTemp.tracedBackup(s.repo, [s.tree.root], root: s.tree.root)
        try #require(second.status == 0, "\(second.stderr)")
        #expect(opened == ["level1/notes.txt"])
        #expect(WriteRepo.int(summary, "files_changed") == 1)
        #expect(WriteRepo.int(summary, "files_new") == 0)
        #expect(WriteRepo.int(summary, "files_unmodified") == s.tree.files.count - 1)
        #expect(WriteRepo.int(summary, "data_blobs") == 1)
        #expect(WriteRepo.int(summary, "data_added").map { $0 >= newContent.count && $0 < newContent.count + 8192 } == true,
                "data_added \(String(describing: summary?["data_added"]))")

        // A new mtime with the same bytes: read again, but nothing new to store.
        try TreeGenerator.setTime(s.tree.path("README.txt"), seconds: 1_700_000_000, nanoseconds: 5)
        let (third, summary3, opened3) = try WriteTemp.tracedBackup(s.repo, [s.tree.root], root: s.tree.root)
        try #require(third.status == 0, "\(third.stderr)")
        #expect(opened3 == ["README.txt"])
        #expect(WriteRepo.int(summary3, "files_changed") == 1)
        #expect(WriteRepo.int(summary3, "data_blobs") == 0)

        let snapshots = try WriteRepo.snapshots(s.repo)
        try #require(snapshots.count == 3)
        #expect(snapshots[2]["parent"] as? String == snapshots[1]["id"] as? String)
        #expect(try WriteRepo.restic(s.repo, ["check", "--read-data"]).status == 0)
        let dump = try WriteRepo.restic(s.repo, ["dump", "latest", notes])
        #expect(Array(dump.stdout) == newContent)
        let diff = try WriteRepo.restic(s.repo, ["diff", snapshots[0]["id"] as? String ?? "", snapshots[2]["id"] as? String ?? ""])
        #expect(diff.out.contains("M    \(notes)"), "\(diff.out)")
    }

    @Test("an unchanged folder keeps its parent's tree; a changed mode alone gives its folder and the folders above new trees")
    func unchangedFoldersKeepTheirTrees() async throws {
        let s = try await Setup(seed: 33)
        defer { s.remove() }
        try #require(try WriteRepo.backup(s.repo, [s.tree.root]).0.status == 0)
        let deep = s.tree.path("level1/level2/level3/deep.txt")
        try TreeGenerator.posix(chmod(deep, 0o600), "chmod", deep)
        let (second, summary) = try WriteRepo.backup(s.repo, [s.tree.root])
        try #require(second.status == 0, "\(second.stderr)")
        // level3, level2, level1, the tree's root and the folders above it up to "/".
        let above = s.tree.root.split(separator: "/").count
        #expect(WriteRepo.int(summary, "dirs_changed") == 3 + above, "\(String(describing: summary))")

        let snapshots = try WriteRepo.snapshots(s.repo)
        try #require(snapshots.count == 2)
        let (first, latest) = (snapshots[0]["id"] as? String ?? "", snapshots[1]["id"] as? String ?? "")
        for folder in ["data", "logs", "perms", "unicode", "level1/level2/level3", "level1"] {
            let path = s.tree.path(folder)
            let before = try WriteRepo.subtree(s.repo, snapshot: first, path: path)
            let after = try WriteRepo.subtree(s.repo, snapshot: latest, path: path)
            #expect((before == after) == !folder.hasPrefix("level1"), "\(folder): \(before) → \(after)")
        }
        let level3 = try WriteRepo.tree(s.repo, try WriteRepo.subtree(s.repo, snapshot: latest, path: s.tree.path("level1/level2/level3")))
        let mode = level3.first { $0["name"] as? String == "deep.txt" }?["mode"] as? Int
        #expect(mode == 0o600, "\(level3)")
        #expect(try WriteRepo.restic(s.repo, ["check"]).status == 0)
    }

    @Test("--force reads every file again but stores nothing new; the snapshot has no parent")
    func forceRereads() async throws {
        let s = try await Setup(seed: 33)
        defer { s.remove() }
        try #require(try WriteRepo.backup(s.repo, [s.tree.root]).0.status == 0)
        let packs = WriteRepo.files(s.repo, "data")
        let (forced, summary, opened) = try WriteTemp.tracedBackup(s.repo, ["--force", s.tree.root], root: s.tree.root)
        try #require(forced.status == 0, "\(forced.stderr)")
        #expect(opened == Set(s.tree.files), "not re-read: \(Set(s.tree.files).subtracting(opened).sorted())")
        #expect(WriteRepo.int(summary, "files_unmodified") == 0)
        #expect(WriteRepo.int(summary, "data_blobs") == 0)
        #expect(WriteRepo.files(s.repo, "data") == packs)
        let snapshots = try WriteRepo.snapshots(s.repo)
        #expect(snapshots.count == 2)
        #expect(snapshots.last?["parent"] == nil)
    }

    @Test("the parent is the latest snapshot of the same host and paths, or the one --parent names")
    func parentChoice() async throws {
        let s = try await Setup(seed: 34)
        defer { s.remove() }
        try #require(try WriteRepo.backup(s.repo, ["--host", "alpha", "--time", "2024-01-01 10:00:00", s.tree.root]).0.status == 0)
        // Written later but older: the parent is chosen by snapshot time, not by write order.
        try #require(try WriteRepo.backup(s.repo, ["--host", "alpha", "--time", "2023-06-01 10:00:00", s.tree.root]).0.status == 0)
        try #require(try WriteRepo.backup(s.repo, ["--host", "alpha", "--time", "2024-01-02 10:00:00", s.tree.root + "/level1"]).0.status == 0)
        let (otherHost, otherSummary) = try WriteRepo.backup(s.repo, ["--host", "beta", s.tree.root])
        try #require(otherHost.status == 0)
        #expect(WriteRepo.int(otherSummary, "files_new") == s.tree.files.count, "another host's snapshot is no parent")
        var snapshots = try WriteRepo.snapshots(s.repo)
        let alphaFull = try #require(snapshots.first { ($0["time"] as? String)?.hasPrefix("2024-01-01") == true }?["id"] as? String)
        let beta = try #require(snapshots.first { $0["hostname"] as? String == "beta" }?["id"] as? String)

        let (automatic, autoSummary) = try WriteRepo.backup(s.repo, ["--host", "alpha", s.tree.root])
        try #require(automatic.status == 0)
        #expect(WriteRepo.int(autoSummary, "files_unmodified") == s.tree.files.count)
        let (explicit, explicitSummary) = try WriteRepo.backup(s.repo, ["--host", "gamma", "--parent", String(beta.prefix(8)), s.tree.root])
        try #require(explicit.status == 0, "\(explicit.stderr)")
        #expect(WriteRepo.int(explicitSummary, "files_unmodified") == s.tree.files.count)

        snapshots = try WriteRepo.snapshots(s.repo)
        try #require(snapshots.count == 6)
        let byID = { (id: String?) in snapshots.first { $0["id"] as? String == id } }
        let automaticSnapshot = try #require(byID(WriteRepo.summary(automatic.stdout)?["snapshot_id"] as? String))
        #expect(automaticSnapshot["parent"] as? String == alphaFull)
        let explicitSnapshot = try #require(byID(WriteRepo.summary(explicit.stdout)?["snapshot_id"] as? String))
        #expect(explicitSnapshot["parent"] as? String == beta)
        #expect(explicitSnapshot["hostname"] as? String == "gamma")
    }
}
