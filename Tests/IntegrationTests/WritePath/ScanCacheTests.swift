import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import CLibcExtras
import ResticCore
@testable import ResticArchiver

/// The scan cache: what backup's metadata prefetch read is used by the walker instead of
/// reading it again. Trees must come out byte-identical to a backup without it, and a change
/// made after the prefetch read a directory must still be seen.
@Suite("scan cache")
struct ScanCacheTests {
    /// The incremental tests' set-up (a generated tree under a top-level folder, a v2
    /// repository) plus extended attributes on a file and a folder.
    struct Setup {
        let base: IncrementalTests.Setup
        var tree: GeneratedTree { base.tree }
        var repo: String { base.repo }
        /// Folders of the tree, the tree's own included: each one a cache look-up.
        let folders: Int
        /// False when this file system refuses user extended attributes.
        let hasAttributes: Bool

        init(seed: UInt64) async throws {
            base = try await IncrementalTests.Setup(seed: seed)
            let tree = base.tree
            let readme = setAttribute(tree.path("README.txt"), "user.cartae.scan", Array("cached".utf8))
            let folder = setAttribute(tree.path("level1/level2"), "user.cartae.dir", [0, 1, 2, 255])
            hasAttributes = readme && folder
            if !hasAttributes { print("scan cache tests: no user xattrs on \(base.top): extended attributes not covered") }
            let root = tree.root
            let all = try FileManager.default.subpathsOfDirectory(atPath: root)
            folders = 1 + all.filter { isFolder(root + "/" + $0) }.count
        }

        func remove() { base.remove() }

        /// Our backup with `CARTAE_TEST_SCAN_CACHE` set to `hooks`; the root tree's ID.
        func backup(_ hooks: String) throws -> (tree: String, stderr: String) {
            let (result, summary) = try WriteRepo.backup(repo, [tree.root], environment: ["CARTAE_TEST_SCAN_CACHE": hooks])
            try #require(result.status == 0, "\(result.stderr)")
            let id = try #require(summary?["snapshot_id"] as? String)
            return (try rootTree(id), result.stderr)
        }

        func rootTree(_ snapshot: String) throws -> String {
            let found = try WriteRepo.snapshots(repo).first { ($0["id"] as? String)?.hasPrefix(snapshot) == true }
            return try #require(found?["tree"] as? String)
        }
    }

    @Test("backups with the cache write the same trees as without it, new and unchanged, and use it for every folder")
    func sameTrees() async throws {
        let s = try await Setup(seed: 71)
        defer { s.remove() }
        let first = try s.backup("wait,report")  // no parent: every file new
        let uncached = try s.backup("off")
        let cached = try s.backup("wait,report")  // unchanged
        #expect(first.tree == uncached.tree)
        #expect(cached.tree == uncached.tree)
        let counts = Self.report(cached.stderr)
        #expect(counts["hits"] == s.folders, "\(cached.stderr)")
        #expect(counts["misses"] == 0 && counts["dropped"] == 0 && counts["invalidated"] == 0, "\(cached.stderr)")

        let snapshots = try WriteRepo.snapshots(s.repo).compactMap { $0["id"] as? String }
        try #require(snapshots.count == 3)
        let diff = try WriteRepo.restic(s.repo, ["diff", snapshots[1], snapshots[2]])
        #expect(diff.status == 0 && diff.out.contains("0 new,     0 removed,     0 changed"), "\(diff.out)")
        #expect(try WriteRepo.restic(s.repo, ["check"]).status == 0)
        if s.hasAttributes {
            let restored = try TempDir.make()
            defer { try? FileManager.default.removeItem(at: restored) }
            let restore = try WriteRepo.restic(s.repo, ["restore", snapshots[2], "--target", restored.path])
            try #require(restore.status == 0, "\(restore.stderr)")
            #expect(Self.attribute(restored.path + s.tree.path("README.txt"), "user.cartae.scan") == Array("cached".utf8))
            #expect(Self.attribute(restored.path + s.tree.path("level1/level2"), "user.cartae.dir") == [0, 1, 2, 255])
        }
    }

    @Test("a change made after the prefetch read a folder, before the walk, is stored")
    func changeAfterPrefetch() async throws {
        let s = try await Setup(seed: 73)
        defer { s.remove() }
        _ = try s.backup("off")
        let backup = try Spawned(Harness.binary, ["backup", "--json", s.tree.root],
                                 environment: ["RESTIC_REPOSITORY": s.repo, "RESTIC_PASSWORD": WriteRepo.password,
                                               "CARTAE_TEST_SCAN_CACHE": "stop,report"])
        let pid = backup.process.processIdentifier
        let stopped = try waitUntil(timeout: .seconds(120)) {
            ExitCodesInterruptTests.state(pid) == "T" || !backup.isRunning
        }
        try #require(stopped && backup.isRunning, "the backup did not stop after its prefetch: \(backup.stderr)")

        // Each a different kind of event on a different folder: content, new entry, metadata.
        let notes = s.tree.path("level1/notes.txt")
        let newContent = Array("changed after the prefetch\n".utf8)
        try TreeGenerator.write(notes, newContent)
        try TreeGenerator.write(s.tree.path("logs/new.log"), Array("new\n".utf8))
        try TreeGenerator.posix(chmod(s.tree.path("level1/level2/level3/deep.txt"), 0o600), "chmod", "deep.txt")
        if s.hasAttributes {
            #expect(setAttribute(s.tree.path("unicode/name with  spaces"), "user.cartae.later", [7]))
        }
        kill(pid, SIGCONT)
        #expect(backup.wait() == 0, "\(backup.stderr)")
        let counts = Self.report(backup.stderr)
        #expect((counts["invalidated"] ?? 0) >= 3, "\(backup.stderr)")
        #expect((counts["hits"] ?? 0) > 0, "\(backup.stderr)")

        let summary = WriteRepo.summary(backup.stdout)
        let changed = try s.rootTree(try #require(summary?["snapshot_id"] as? String))
        #expect(WriteRepo.int(summary, "files_new") == 1)
        let dump = try WriteRepo.restic(s.repo, ["dump", "latest", notes])
        #expect(Array(dump.stdout) == newContent)
        // A backup without the cache, of the same state, writes the same trees.
        #expect(try s.backup("off").tree == changed)
    }

    @Test("the cache holds no more than its limits, hands each folder out once, and frees it")
    func bounded() throws {
        let root = try TempDir.make("cartae-scan")
        defer { try? FileManager.default.removeItem(at: root) }
        let folders = try Self.makeFolders(root.path, count: 20, files: 9)

        let byEntries = ScanCache(limits: .init(entries: 45))
        MetadataPrefetch(paths: [root.path], cache: byEntries).waitUntilFinished()
        var s = byEntries.statistics
        #expect(s.peakEntries <= 45 && s.entries <= 45)
        #expect(s.stored >= 2 && s.skipped >= 1, "\(s)")

        let byBytes = ScanCache(limits: .init(bytes: 2048))
        MetadataPrefetch(paths: [root.path], cache: byBytes).waitUntilFinished()
        s = byBytes.statistics
        #expect(s.peakBytes <= 2048 && s.stored >= 1 && s.skipped >= 1, "\(s)")

        let cache = ScanCache()
        MetadataPrefetch(paths: [root.path], cache: cache).waitUntilFinished()
        s = cache.statistics
        #expect(s.stored == folders.count + 1 && s.skipped == 0, "\(s)")
        #expect(s.bytes > 0 && s.bytes == s.storedBytes)
        for folder in [root.path] + folders {
            let (device, inode) = try Self.identity(folder)
            let listing = cache.take(Array(folder.utf8), device: device, inode: inode)
            #expect(listing != nil)
            #expect(cache.take(Array(folder.utf8), device: device, inode: inode) == nil)
        }
        s = cache.statistics
        #expect(s.entries == 0 && s.bytes == 0 && s.directories == 0 && s.hits == folders.count + 1, "\(s)")
    }

    @Test("an event on a cached folder drops its listing, and a folder replaced at the same path is read again")
    func invalidation() throws {
        let root = try TempDir.make("cartae-scan")
        defer { try? FileManager.default.removeItem(at: root) }
        let folders = try Self.makeFolders(root.path, count: 5, files: 3)
        let cache = ScanCache()
        MetadataPrefetch(paths: [root.path], cache: cache).waitUntilFinished()

        try TreeGenerator.write(folders[0] + "/file-0", [1, 2, 3])
        try TreeGenerator.posix(chmod(folders[1] + "/file-1", 0o600), "chmod", "file-1")
        try TreeGenerator.posix(rename(folders[2] + "/file-0", folders[2] + "/moved"), "rename", "file-0")
        // Replaced: the old folder moves away, a new one takes its path.
        try TreeGenerator.posix(rename(folders[3], root.path + "/gone"), "rename", folders[3])
        try TreeGenerator.makeDirectory(folders[3])
        for (i, folder) in folders.enumerated() {
            let (device, inode) = try Self.identity(folder)
            let listing = cache.take(Array(folder.utf8), device: device, inode: inode)
            #expect((listing != nil) == (i == 4), "\(folder)")
        }
        #expect(cache.statistics.invalidated >= 4, "\(cache.statistics)")
    }

    @Test("a folder too large for one thread is read in parts and listed whole, in order, as lstat sees it")
    func largeFolder() throws {
        let root = try TempDir.make("cartae-scan")
        defer { try? FileManager.default.removeItem(at: root) }
        let big = root.path + "/big"
        try TreeGenerator.makeDirectory(big)
        let count = DirectoryScan.partSize * 2 + 123
        for i in 0..<count {
            let name = big + "/f\(String(i * 7919 % count, radix: 16))"
            if i % 500 == 7 {
                try TreeGenerator.posix(symlink("target-\(i)", name), "symlink", name)
            } else {
                try TreeGenerator.write(name, i % 3 == 0 ? [UInt8(i & 0xFF)] : [])
                if i % 4 == 1 { try TreeGenerator.posix(chown(name, UInt32(1000 + i % 3), 100), "chown", name) }
            }
        }
        let cache = ScanCache()
        MetadataPrefetch(paths: [root.path], cache: cache).waitUntilFinished()
        let (device, inode) = try Self.identity(big)
        let listing = try #require(cache.take(Array(big.utf8), device: device, inode: inode))
        #expect(listing.count == count)
        let expected = try FileManager.default.contentsOfDirectory(atPath: big).map { Array($0.utf8) }
            .sorted { $0.lexicographicallyPrecedes($1) }
        var cursor = ScannedDirectory.Cursor()
        var index = 0
        while let entry = listing.entry(at: &cursor) {
            guard index < expected.count, entry.name == expected[index] else {
                Issue.record("entry \(index) is \(String(decoding: entry.name, as: UTF8.self))")
                return
            }
            var st = stat()
            let path = big + "/" + String(decoding: entry.name, as: UTF8.self)
            try TreeGenerator.posix(lstat(path, &st), "lstat", path)
            #expect(entry.status.st_ino == st.st_ino && entry.status.st_mode == st.st_mode && entry.status.st_uid == st.st_uid
                    && entry.status.st_size == st.st_size && entry.status.st_mtim.tv_nsec == st.st_mtim.tv_nsec, "\(path)")
            if st.st_mode & S_IFMT == S_IFLNK {
                #expect(entry.linkTarget.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix("target-") == true)
            }
            index += 1
        }
        #expect(index == count)
    }

    @Test("the packed entry format gives back every stat field, link target and attribute")
    func roundTrip() {
        var builder = ScannedDirectoryBuilder()
        let modes: [UInt32] = [S_IFREG | 0o644, S_IFLNK | 0o777, S_IFCHR | 0o600, S_IFDIR | 0o755, S_IFREG | 0o4755, S_IFIFO | 0o640]
        let links: [UInt] = [1, 2, 70_000, 3, 1, 1]
        let sizes: [Int] = [0, 11, 0, 4096, Int.max / 2, 0]
        let inodes: [UInt] = [1, 12_345_678, UInt.max >> 1, 2, 3, 4]
        let mtimes: [Int] = [0, -86_400 * 365, 1_700_000_000, Int(Int32.max) * 4, 5, 6]
        let mtimeNanos: [Int] = [0, 999_999_999, 1, 500, 0, 7]
        let ctimes: [Int] = [0, 1_700_000_001, -5, 1, 5, 6]
        let ctimeNanos: [Int] = [3, 0, 999_999_999, 0, 0, 8]
        var entries: [(name: [UInt8], st: stat, attributes: [ExtendedAttribute], link: [UInt8]?)] = []
        for i in 0..<modes.count {
            var st = stat()
            st.st_mode = modes[i]
            st.st_uid = i < 3 ? 1000 : UInt32.max
            st.st_gid = i < 2 ? 100 : 0
            st.st_nlink = links[i]
            st.st_size = sizes[i]
            st.st_ino = inodes[i]
            st.st_mtim = timespec(tv_sec: mtimes[i], tv_nsec: mtimeNanos[i])
            st.st_ctim = timespec(tv_sec: ctimes[i], tv_nsec: ctimeNanos[i])
            st.st_dev = i == 3 ? 99 : 42
            st.st_rdev = i == 2 ? 0x0501 : 0
            let name: [UInt8] = Array("entry-\(i)".utf8) + (i == 5 ? [0xFF, 0xFE] : [])
            var attributes: [ExtendedAttribute] = []
            if i == 0 {
                attributes = [ExtendedAttribute(name: "user.a", value: []),
                              ExtendedAttribute(name: "user.b", value: [UInt8](repeating: 9, count: 300))]
            }
            let link: [UInt8]? = i == 1 ? Array("../target with spaces".utf8) : nil
            let appended = name.withUnsafeBytes {
                builder.append(name: $0, status: st, directoryDevice: 42, attributes: attributes, linkTarget: link)
            }
            #expect(appended)
            entries.append((name, st, attributes, link))
        }
        var own = stat()
        own.st_dev = 42
        own.st_ino = 7
        let directory = builder.finish(own: own, listedAt: 0)
        #expect(directory.count == entries.count)
        var cursor = ScannedDirectory.Cursor()
        for expected in entries {
            guard let entry = directory.entry(at: &cursor) else {
                Issue.record("entry \(expected.name) missing")
                return
            }
            let a = entry.status, b = expected.st
            #expect(entry.name == expected.name)
            #expect(a.st_mode == b.st_mode)
            #expect(a.st_uid == b.st_uid)
            #expect(a.st_gid == b.st_gid)
            #expect(a.st_nlink == b.st_nlink)
            #expect(a.st_size == b.st_size)
            #expect(a.st_ino == b.st_ino)
            #expect(a.st_dev == b.st_dev)
            #expect(a.st_rdev == b.st_rdev)
            #expect(a.st_mtim.tv_sec == b.st_mtim.tv_sec)
            #expect(a.st_mtim.tv_nsec == b.st_mtim.tv_nsec)
            #expect(a.st_ctim.tv_sec == b.st_ctim.tv_sec)
            #expect(a.st_ctim.tv_nsec == b.st_ctim.tv_nsec)
            #expect(entry.attributes == expected.attributes)
            #expect(entry.linkTarget == expected.link)
        }
        #expect(directory.entry(at: &cursor) == nil)
        #expect(directory.contains(Array("entry-3".utf8)))
        #expect(!directory.contains(Array("entry".utf8)))
    }

    // MARK: helpers

    /// `count` folders of `files` files each under `root`; their paths, sorted.
    static func makeFolders(_ root: String, count: Int, files: Int) throws -> [String] {
        var folders: [String] = []
        for i in 0..<count {
            let folder = root + "/folder-\(String(format: "%02d", i))"
            try TreeGenerator.makeDirectory(folder)
            for j in 0..<files { try TreeGenerator.write(folder + "/file-\(j)", Array("\(i)-\(j)".utf8)) }
            folders.append(folder)
        }
        return folders
    }

    static func identity(_ path: String) throws -> (UInt64, UInt64) {
        var st = stat()
        try TreeGenerator.posix(lstat(path, &st), "lstat", path)
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// The counters of a `CARTAE_TEST_SCAN_CACHE=report` line ("12 hits, 0 misses, …").
    static func report(_ stderr: String) -> [String: Int] {
        guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("scan cache: ") }) else { return [:] }
        var counts: [String: Int] = [:]
        for part in line.dropFirst("scan cache: ".count).split(separator: ",") {
            let words = part.split(separator: " ")
            if words.count >= 2, let n = Int(words[0]) { counts[String(words[1])] = n }
        }
        return counts
    }

    static func attribute(_ path: String, _ name: String) -> [UInt8]? {
        var value = [UInt8](repeating: 0, count: 1024)
        let n = value.withUnsafeMutableBytes { lgetxattr(path, name, $0.baseAddress, $0.count) }
        return n < 0 ? nil : Array(value[0..<n])
    }
}

private func setAttribute(_ path: String, _ name: String, _ value: [UInt8]) -> Bool {
    value.withUnsafeBytes { lsetxattr(path, name, $0.baseAddress, $0.count, 0) } == 0
}

private func isFolder(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
}
