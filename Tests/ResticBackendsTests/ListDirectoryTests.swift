import Foundation
import CLibcExtras
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ResticBackends

/// The local backend's folder listing takes each name from readdir's record by its length
/// (see `cartae_dirent_name`): short names, 255-byte ones and thousands of entries.
@Suite("Local folder listing")
struct ListDirectoryTests {
    @Test("every name comes back whole, and a missing folder lists as empty")
    func names() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("list-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = ["a", String(repeating: "b", count: 255)] + (0..<3000).map { String(format: "%064x", $0) }
        for name in names { try Data().write(to: folder.appendingPathComponent(name)) }
        #expect(try POSIX.listDirectory(folder.path).sorted() == names.sorted())
        #expect(try POSIX.listDirectory(folder.path + "/absent") == [])
    }
}

/// readdir's records are as short as their names allow; one may end right where readable
/// memory ends. The name must be read from it without touching anything past the record.
@Suite("Directory entry names")
struct DirentNameTests {
    @Test("a short record at the very end of readable memory gives its name without a fault")
    func recordAtTheEdge() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapped = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(mapped != MAP_FAILED)
        defer { munmap(mapped, 2 * page) }
        #expect(mprotect(mapped + page, page, PROT_NONE) == 0)
        // A 24-byte record (d_name at offset 19: "ab" and its NUL) ending at the guard page.
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let record = mapped + page - (nameOffset + 3)
        record.initializeMemory(as: UInt8.self, repeating: 0, count: nameOffset + 3)
        record.storeBytes(of: 0x61, toByteOffset: nameOffset, as: UInt8.self)
        record.storeBytes(of: 0x62, toByteOffset: nameOffset + 1, as: UInt8.self)
        var length = 0
        let name = cartae_dirent_name(record.assumingMemoryBound(to: dirent.self), &length)
        #expect(length == 2)
        #expect(String(cString: try #require(name)) == "ab")
    }
}
