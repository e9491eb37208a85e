import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import ResticArchiver

/// Both ways the backup lists a folder (the walker's `OpenDirectory.names`, the prefetch's
/// `NameList`) take each name from readdir's record by its length, not by copying the 256
/// bytes `d_name` is declared with: a record is shorter, and copying past it read beyond
/// readdir's buffer (a crash where that buffer ended a mapping).
@Suite("directory listings")
struct DirectoryListingTests {
    /// Short and 255-byte names, invalid UTF-8, and enough entries to fill several of
    /// readdir's buffers.
    static func makeFolder() throws -> (URL, [[UInt8]]) {
        let folder = try TempDir.make("cartae-listing")
        var names: [[UInt8]] = [Array("a".utf8), Array(repeating: 0x7A, count: 255), [0x66, 0xFF, 0xFE],
                                Array(".hidden".utf8), Array("..x".utf8)]
        names += (0..<3000).map { Array(String(format: "f%05d", $0).utf8) }
        for name in names {
            let path = Array(folder.path.utf8) + [47] + name + [0]
            let fd = path.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                                                         O_WRONLY | O_CREAT | O_EXCL, 0o644) }
            #expect(fd >= 0, "could not create \(name)")
            close(fd)
        }
        return (folder, names.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test("the walker's and the prefetch's listings hold every name byte for byte, sorted")
    func listings() throws {
        let (folder, expected) = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Each from a directory of its own: copies of one descriptor share its position.
        let walked = try SourceFS.OpenDirectory(Array(folder.path.utf8)).names()
        #expect(walked.count == expected.count)
        #expect(walked == expected, "the walker's listing differs")
        let scanned = try SourceFS.OpenDirectory(Array(folder.path.utf8))
        let list = NameList()
        #expect(list.read(scanned.fd))
        let prefetched = (0..<list.count).map { Array(list[$0]) }
        #expect(prefetched.count == expected.count)
        #expect(prefetched == expected, "the prefetch's listing differs")
    }
}
