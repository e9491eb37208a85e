import Foundation
import Testing

/// The installed restic (whatever version CI has) backs up a freshly generated tree into a new
/// repository of each format version; our binary restores it, and the restored tree must be
/// identical to the source in every manifest.py field: content, sizes, holes, types, modes,
/// owners, nanosecond mtimes, symlink targets and hardlink groups. Nothing is ignored: restic
/// records all of these, and a restore that preserves them leaves nothing that must differ.
@Suite("Restore of repositories made by the installed restic")
struct FreshResticRepositoryTests {
    @Test("restic backup, our restore: the tree comes back identical", arguments: [1, 2])
    func backupWithResticRestoreWithOurs(version: Int) throws {
        let work = try TempDir.make("fresh")
        defer { ReadPath.removeTemp(work.path) }
        let source = work.appendingPathComponent("src").path
        try Self.makeTree(at: source)
        let repo = work.appendingPathComponent("repo").path

        let initialized = try Harness.restic(["init", "--repository-version", String(version)], repo: repo)
        #expect(initialized.status == 0, "restic init: \(initialized.stderr)")
        let backup = try Harness.restic(["backup", "--quiet", "--host", "fresh", source], repo: repo)
        #expect(backup.status == 0, "restic backup: \(backup.stderr)")

        let target = work.appendingPathComponent("target").path
        let restore = try Harness.ours(["restore", "latest", "--host", "fresh", "--target", target], repo: repo)
        #expect(restore.status == 0, "our restore: \(restore.stderr)")
        #expect(restore.stderr.isEmpty, "our restore complained: \(restore.stderr)")

        let want = try ReadPath.entries(source)
        let got = try ReadPath.entries(target + source)
        #expect(Set(got.keys) == Set(want.keys), "missing: \(Set(want.keys).subtracting(got.keys).sorted()), extra: \(Set(got.keys).subtracting(want.keys).sorted())")
        for (path, entry) in want {
            #expect(got[path] == entry, "\(path): restored \(String(describing: got[path])), source \(entry)")
        }

        // What restic says about its own repository after our read-only visit: nothing changed.
        let check = try Harness.restic(["check", "--read-data"], repo: repo)
        #expect(check.status == 0, "restic check: \(check.stderr)")
    }

    /// Nested folders, a 3 MiB random file (several chunks), a file with a hole, a hardlink pair
    /// in two folders, symlinks (one dangling), an empty file, an empty folder, unicode names,
    /// a foreign owner and a FIFO, with nanosecond mtimes set children first.
    static func makeTree(at root: String) throws {
        let fm = FileManager.default
        for dir in ["a/b/c", "empty-dir", "ünï cødé/文件夹", "other"] {
            try fm.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        var generator = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: (3 << 20) / 8)
        for i in words.indices { words[i] = generator.next() }
        let random = words.withUnsafeBytes { Data($0) }
        try random.write(to: URL(fileURLWithPath: "\(root)/a/random.bin"))
        try Data("deep file\n".utf8).write(to: URL(fileURLWithPath: "\(root)/a/b/c/deep.txt"))
        try Data("shared by two names\n".utf8).write(to: URL(fileURLWithPath: "\(root)/a/b/linked.txt"))
        try fm.linkItem(atPath: "\(root)/a/b/linked.txt", toPath: "\(root)/other/linked-too.txt")
        try fm.createSymbolicLink(atPath: "\(root)/a/to-deep", withDestinationPath: "b/c/deep.txt")
        try fm.createSymbolicLink(atPath: "\(root)/other/dangling", withDestinationPath: "../nowhere/at/all")
        fm.createFile(atPath: "\(root)/empty.txt", contents: Data())
        try Data("grüße\n".utf8).write(to: URL(fileURLWithPath: "\(root)/ünï cødé/文件夹/ファイル.txt"))
        // 1 MiB of data between two 1 MiB holes.
        let sparse = "\(root)/other/sparse.img"
        fm.createFile(atPath: sparse, contents: Data())
        let handle = try Foundation.FileHandle(forWritingTo: URL(fileURLWithPath: sparse))
        try handle.seek(toOffset: 1 << 20)
        try handle.write(contentsOf: Data(random.prefix(1 << 20)))
        try handle.truncate(atOffset: 3 << 20)
        try handle.close()
        #expect(mkfifo("\(root)/other/pipe", 0o640) == 0)
        try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(root)/a/b/c/deep.txt")
        try fm.setAttributes([.posixPermissions: 0o751], ofItemAtPath: "\(root)/a/b")
        if getuid() == 0 {
            #expect(lchown("\(root)/other/linked-too.txt", 1234, 5678) == 0)
            #expect(lchown("\(root)/a/to-deep", 4321, 8765) == 0)
        }
        // Children before parents, so setting a file's time does not disturb its folder's.
        let paths = try ReadPath.paths(under: root).sorted { $0.split(separator: "/").count > $1.split(separator: "/").count }
        for (i, path) in (paths + [""]).enumerated() {
            var times = [timespec(tv_sec: 1_600_000_000 + i * 86_411, tv_nsec: 123_456_789 + i),
                         timespec(tv_sec: 1_600_000_000 + i * 86_411, tv_nsec: 123_456_789 + i)]
            #expect(utimensat(AT_FDCWD, path.isEmpty ? root : "\(root)/\(path)", &times, AT_SYMLINK_NOFOLLOW) == 0)
        }
    }
}
