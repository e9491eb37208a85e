import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ResticCore
@testable import ResticArchiver

/// A walker hands the second half of a large folder's remaining entries to a free walker slot.
/// The halves must together yield exactly the folder's entries, each once and in order, from
/// the prefetch's cached listing (read in parts, owners stated only where they change) and from
/// a listing read by the walker; and the folder's tree must come out as restic writes it.
@Suite("walking a large folder in parts")
struct WalkSplitTests {
    /// `count` entries: files of three owners (cached entries alternate between stating an owner
    /// and sharing the previous one), empty and one-byte files, symlinks, and subfolders.
    static func makeFolder(_ path: String, count: Int) throws {
        try TreeGenerator.makeDirectory(path)
        for i in 0..<count {
            let name = path + "/e\(String(i * 7919 % count, radix: 16))"
            if i % 400 == 9 {
                try TreeGenerator.makeDirectory(name)
                try TreeGenerator.write(name + "/inner", Array("inner \(i)\n".utf8))
            } else if i % 300 == 7 {
                try TreeGenerator.posix(symlink("target-\(i)", name), "symlink", name)
            } else {
                try TreeGenerator.write(name, i % 3 == 0 ? [UInt8(i & 0xFF)] : [])
                if i % 4 == 1 { try TreeGenerator.posix(chown(name, UInt32(1000 + i % 3), 100), "chown", name) }
            }
        }
    }

    /// What the walker takes from an entry, as text: name, and for a cached entry its metadata.
    static func describe(_ item: (name: [UInt8], source: WalkListing.Source)) -> String {
        let name = String(decoding: item.name, as: UTF8.self)
        switch item.source {
        case .live: return name + " live"
        case .cached(let entry):
            let st = entry.status
            let link = entry.linkTarget.map { String(decoding: $0, as: UTF8.self) } ?? "-"
            return "\(name) \(st.st_ino) \(st.st_mode) \(st.st_uid):\(st.st_gid) \(st.st_size) "
                + "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_ctim.tv_nsec) \(link) \(entry.attributes.count)"
        }
    }

    static func take(_ count: Int, from listing: inout WalkListing) -> [String] {
        var taken: [String] = []
        while taken.count < count, let item = listing.next() { taken.append(describe(item)) }
        return taken
    }

    static func drain(_ listing: inout WalkListing) -> [String] {
        take(Int.max, from: &listing)
    }

    @Test("a listing split at any point, and its second half split again, yields every entry once, in order")
    func splitListings() throws {
        let root = try TempDir.make("cartae-split")
        defer { try? FileManager.default.removeItem(at: root) }
        let big = root.path + "/big"
        // Larger than two of the prefetch's parts, so the cached listing is parts joined.
        let count = DirectoryScan.partSize * 2 + 77
        try Self.makeFolder(big, count: count)
        let cache = ScanCache()
        MetadataPrefetch(paths: [root.path], cache: cache).waitUntilFinished()
        let (device, inode) = try ScanCacheTests.identity(big)
        let scanned = try #require(cache.take(Array(big.utf8), device: device, inode: inode))

        for cached in [scanned, nil] {
            let kind = cached == nil ? "read by the walker" : "cached"
            var whole = try WalkListing(Array(big.utf8), cached: cached)
            #expect(whole.remaining == count, "\(kind)")
            let expected = Self.drain(&whole)
            try #require(expected.count == count, "\(kind)")
            #expect(whole.remaining == 0 && Self.take(1, from: &whole).isEmpty, "\(kind)")

            for first in [0, 1, 2, 511, 512, count / 2, count - 2, count - 1, count] {
                var listing = try WalkListing(Array(big.utf8), cached: cached)
                var seen = Self.take(first, from: &listing)
                let left = listing.remaining
                var rest = listing.splitOffSecondHalf()
                #expect(listing.remaining + rest.remaining == left && listing.remaining >= rest.remaining,
                        "\(kind), split after \(first)")
                seen += Self.drain(&listing)
                seen += Self.take(3, from: &rest)
                var restOfRest = rest.splitOffSecondHalf()
                seen += Self.drain(&rest)
                seen += Self.drain(&restOfRest)
                #expect(seen == expected, "\(kind), split after \(first): \(seen.count) entries")
            }
        }
    }

    @Test("the parent's nodes are found by name from any starting point, and only those there")
    func parentNodesFromTheMiddle() {
        let names = (0..<200).map { Array(String(format: "n%04d", $0 * 2).utf8) }
        let nodes = names.map { Node(name: $0, type: "file") }
        for start in [0, 1, 57, 199, 200] {
            var parent = ParentNodes(nodes)
            for i in (start * 2)..<400 {
                let name = Array(String(format: "n%04d", i).utf8)
                let found = parent.node(named: name)
                #expect(found?.name == (i % 2 == 0 ? name : nil), "lookup of n\(i) starting at \(start)")
            }
            #expect(parent.node(named: Array("z".utf8)) == nil)
        }
        var empty = ParentNodes([])
        #expect(empty.node(named: Array("n0000".utf8)) == nil)
    }

    @Test("a folder walked in parts gets restic's tree, new and unchanged, with and without the scan cache")
    func sameTreeAsRestic() async throws {
        let top = try WriteTemp.topLevel()
        defer { try? FileManager.default.removeItem(atPath: top) }
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = top + "/big"
        try Self.makeFolder(big, count: 4 * TreeWalker.entriesBeforeSplit + 300)
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        // restic first, while every atime still equals its mtime (restic 0.14 stores real atimes).
        let restic = try WriteRepo.restic(repo, ["backup", "--host", "h", big])
        try #require(restic.status == 0, "\(restic.stderr)")
        let theirs = try #require(try WriteRepo.snapshots(repo).last?["id"] as? String)
        let expected = try WriteRepo.subtree(repo, snapshot: theirs, path: big)

        for (arguments, cache) in [(["--force"], "off"), (["--force"], "wait"), ([], "wait"), ([], "off")] {
            let (result, summary) = try WriteRepo.backup(repo, ["--host", "h"] + arguments + [big],
                                                         environment: ["CARTAE_TEST_SCAN_CACHE": cache])
            try #require(result.status == 0, "\(result.stderr)")
            let id = try #require(summary?["snapshot_id"] as? String)
            #expect(try WriteRepo.subtree(repo, snapshot: id, path: big) == expected,
                    "\(arguments) with the scan cache \(cache): the folder's tree differs from restic's")
        }
        #expect(try WriteRepo.restic(repo, ["check"]).status == 0)
    }
}
