import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Restore spreads file creation over several threads, finishes files that lie in one pack
/// (content, owner, mode, times) as the pack is read, and makes the rest before and after the
/// data. These trees exercise each of those paths at a size the fixtures do not reach, and
/// compare every restored entry with the source.
@Suite("Parallel restore of many files")
struct ParallelRestoreTests {
    /// A directory of thousands of small files (empty ones, hardlinks, odd modes and owners),
    /// a few smaller directories, a multi-blob file and one that ends in a hole.
    static func makeTree(in dir: URL) throws -> (root: String, fileNodes: Int) {
        let root = dir.appendingPathComponent("src").path
        var fileNodes = 0
        try TreeGenerator.makeDirectory(root)
        try TreeGenerator.makeDirectory(root + "/many")
        let modes: [mode_t] = [0o644, 0o600, 0o755, 0o444, 0o4755, 0o2711]
        let noise = TreeGenerator.randomBytes(3000 * 300, seed: 77)
        for i in 0..<3000 {
            let size = i % 7 == 0 ? 0 : i % 300
            let path = root + String(format: "/many/f%05d", i)
            try TreeGenerator.write(path, Array(noise[(i * 300)..<(i * 300 + size)]), mode: modes[i % modes.count])
            // chown clears setuid; restore must put the bit back after the owner.
            if i % 11 == 4 && getuid() == 0 {
                try TreeGenerator.posix(chown(path, 1000 + UInt32(i % 5), 2000 + UInt32(i % 3)), "chown", path)
                try TreeGenerator.posix(chmod(path, modes[i % modes.count]), "chmod", path)
            }
            fileNodes += 1
        }
        for i in stride(from: 1, to: 3000, by: 500) {
            let link = root + String(format: "/many/hl%05d", i)
            try TreeGenerator.posix(Glibc.link(root + String(format: "/many/f%05d", i), link), "link", link)
            fileNodes += 1
        }
        for d in 0..<20 {
            let folder = root + String(format: "/d%02d", d)
            try TreeGenerator.makeDirectory(folder)
            for i in 0..<40 {
                try TreeGenerator.write(folder + "/file\(i).txt", Array("dir \(d) file \(i)\n".utf8), mode: 0o640)
                fileNodes += 1
            }
        }
        try TreeGenerator.makeDirectory(root + "/big")
        try TreeGenerator.write(root + "/big/striped.bin", TreeGenerator.randomBytes(5 << 20, seed: 78))
        try TreeGenerator.write(root + "/big/tail-hole.bin",
                                TreeGenerator.randomBytes(1 << 20, seed: 79) + [UInt8](repeating: 0, count: 17 << 20))
        fileNodes += 2
        try TreeGenerator.fixTimes(root)
        return (root, fileNodes)
    }

    static func compare(_ restored: String, with source: String) throws -> Harness.Result {
        let manifest = Harness.fixtures.appendingPathComponent("manifest.py").path
        let expected = try Harness.run("python3", [manifest, source])
        guard expected.status == 0 else { throw HarnessError("manifest.py failed: \(expected.stderr)") }
        let file = URL(fileURLWithPath: restored).deletingLastPathComponent().appendingPathComponent("expected.json")
        try expected.stdout.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let owner = getuid() == 0 ? [] : ["--ignore", "owner"]
        return try Harness.run("python3", [manifest, restored, "--compare", file.path, "--ignore", "sparse"] + owner)
    }

    @Test("every entry of a tree with thousands of files is restored exactly, also over an earlier restore")
    func manyFiles() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (source, fileNodes) = try Self.makeTree(in: dir)
        let repo = try await WriteRepo.ours(in: dir)
        let backup = try Harness.ours(["backup", "-q", source], repo: repo, password: WriteRepo.password)
        try #require(backup.status == 0, "\(backup.stderr)")

        let target = dir.appendingPathComponent("target").path
        let first = try Harness.ours(["restore", "latest", "--target", target, "--verify"], repo: repo,
                                     password: WriteRepo.password)
        #expect(first.status == 0, "restore failed: \(first.stderr)")
        #expect(first.out.contains("finished verifying \(fileNodes) files in \(target)"), "output: \(first.out)")
        var compared = try Self.compare(target + source, with: source)
        #expect(compared.status == 0, "restored tree differs:\n\(compared.stderr)")
        var hole = stat()
        #expect(stat(target + source + "/big/tail-hole.bin", &hole) == 0 && Int(hole.st_blocks) * 512 < 8 << 20,
                "the zero tail should be a hole: \(hole.st_blocks) blocks")

        // Over the first restore: files are replaced, never written through, so a symlink left
        // at a file's name must not lead the content elsewhere.
        let outside = dir.appendingPathComponent("outside.txt").path
        try TreeGenerator.write(outside, Array("untouched\n".utf8))
        let victim = target + source + "/many/f00010"
        try TreeGenerator.posix(unlink(victim), "unlink", victim)
        try TreeGenerator.posix(symlink(outside, victim), "symlink", victim)
        let second = try Harness.ours(["restore", "latest", "--target", target], repo: repo, password: WriteRepo.password)
        #expect(second.status == 0, "second restore failed: \(second.stderr)")
        compared = try Self.compare(target + source, with: source)
        #expect(compared.status == 0, "tree restored over itself differs:\n\(compared.stderr)")
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "untouched\n")
    }

    /// Whole 4 KiB blocks of large pieces are written with O_DIRECT and the partial blocks at
    /// their ends through the page cache; neighbouring pieces share those partial blocks. Sizes
    /// and holes put piece boundaries everywhere but on a block edge.
    @Test("large files written partly direct come back byte for byte, holes and odd tails included")
    func directWrites() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("src").path
        try TreeGenerator.makeDirectory(source)
        let random = TreeGenerator.randomBytes(12 << 20, seed: 91)
        let text = (0..<(7 << 16)).flatMap { Array(String(format: "line %08d of the compressible file\n", $0).utf8) }
        let files: [(String, [UInt8])] = [
            ("random.bin", Array(random[0..<(9 << 20) + 1234])),
            ("text.bin", text),
            ("holes.bin", Array(random[0..<(3 << 20) + 5]) + [UInt8](repeating: 0, count: 4 << 20)
                + Array(random[(5 << 20)..<(7 << 20) + 777])),
            ("just-direct.bin", Array(random[100..<100 + (64 << 10) + 4095])),
        ]
        for (name, bytes) in files { try TreeGenerator.write(source + "/" + name, bytes) }
        try TreeGenerator.fixTimes(source)
        let repo = try await WriteRepo.ours(in: dir)
        let backup = try Harness.ours(["backup", "-q", source], repo: repo, password: WriteRepo.password)
        try #require(backup.status == 0, "\(backup.stderr)")

        let target = dir.appendingPathComponent("target").path
        for round in 1...2 {
            let restore = try Harness.ours(["restore", "latest", "--target", target, "--verify"], repo: repo,
                                           password: WriteRepo.password)
            #expect(restore.status == 0, "restore \(round) failed: \(restore.stderr)")
            for (name, bytes) in files {
                let restored = try Data(contentsOf: URL(fileURLWithPath: target + source + "/" + name))
                #expect(restored == Data(bytes), "\(name) differs after restore \(round)")
            }
        }
        let compared = try Self.compare(target + source, with: source)
        #expect(compared.status == 0, "restored tree differs:\n\(compared.stderr)")
    }
}
