import Foundation
import Testing
import ResticCore
@testable import ResticBackends

/// A backup lists the pack names while the key is derived, to adopt packs an interrupted run
/// left unindexed. The names need no stat per file: the local backend lists them without, the
/// decorators pass the call on, and the names are exactly those `list` gives.
@Suite("Listing names only")
struct ListNamesTests {
    @Test("the local backend lists the same names as with sizes, in every folder, and nothing else")
    func localNames() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("names-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let backend = LocalBackend(path: dir.path)
        try await backend.create()
        var packs: [String] = []
        for i in 0..<40 {
            let name = String(format: "%02x", i * 37 % 256) + String(repeating: String(format: "%x", i % 16), count: 62)
            packs.append(name)
            try await backend.save(FileHandle(.pack, name), data: [UInt8(i)])
        }
        let index = String(repeating: "c", count: 64)
        try await backend.save(FileHandle(.index, index), data: [1, 2, 3])
        try await backend.save(.config, data: [9])
        // A save's temporary file and a stray name are not repository files.
        let folder = dir.path + "/data/" + String(packs[0].prefix(2))
        try Data([1]).write(to: URL(fileURLWithPath: folder + "/.tmp-unfinished"))
        try Data([1]).write(to: URL(fileURLWithPath: folder + "/notes.txt"))

        for type in [FileType.pack, .index, .snapshot, .config] {
            let names = try await backend.listNames(type).sorted()
            #expect(names == (try await backend.list(type)).map(\.name).sorted(), "\(type)")
        }
        #expect(try await backend.listNames(.pack).sorted() == packs.sorted())
        #expect(try await backend.listNames(.index) == [index])
        #expect(try await backend.listNames(.config) == ["config"])
    }

    @Test("every decorator passes the call on as names, not as a listing with sizes")
    func forwarded() async throws {
        let memory = MemoryBackend()
        let decorated = ConnectionLimitBackend(
            MeteredBackend(RetryBackend(memory, statistics: nil), statistics: BackendStatistics()), connections: 2)
        let pack = FileHandle(.pack, String(repeating: "ab", count: 32))
        try await memory.save(pack, data: [1, 2, 3])
        #expect(try await decorated.listNames(.pack) == [pack.name])
        #expect(memory.callLog.last == "listNames data")
    }
}
