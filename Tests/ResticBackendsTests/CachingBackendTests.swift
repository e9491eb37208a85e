import Foundation
import Testing
import ResticCore
import ResticCrypto
@testable import ResticBackends

@Suite struct CachingBackendTests {
    typealias Handle = ResticCore.FileHandle

    /// A file named by the hash of its bytes, as the repository names index and snapshot files.
    static func named(_ type: FileType, _ bytes: [UInt8]) -> Handle {
        Handle(type, ObjectID(bytes: SHA256.digest(bytes)))
    }

    func withCache(_ body: (MemoryBackend, CachingBackend, String) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "cartae-cache-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let memory = MemoryBackend()
        try await body(memory, try CachingBackend(memory, directory: dir, key: "rest:http://h:1/repo"), dir)
    }

    func loads(_ memory: MemoryBackend) -> Int { memory.callLog.filter { $0.hasPrefix("load") }.count }

    @Test func secondReadComesFromTheCache() async throws {
        try await withCache { memory, cache, _ in
            let bytes = Array("index file".utf8)
            let index = Self.named(.index, bytes)
            try await memory.save(index, data: bytes)
            #expect(try await cache.load(index) == bytes)
            #expect(try await cache.load(index) == bytes)
            #expect(try await cache.load(index, offset: 6, length: 4) == Array("file".utf8))
            #expect(loads(memory) == 1)
            #expect(cache.cacheStatistics.hits == 2 && cache.cacheStatistics.misses == 1)
        }
    }

    @Test func savesAreWrittenThrough() async throws {
        try await withCache { memory, cache, _ in
            let bytes = Array("snapshot".utf8)
            let snapshot = Self.named(.snapshot, bytes)
            try await cache.save(snapshot, data: bytes)
            #expect(try await cache.load(snapshot) == bytes)
            #expect(loads(memory) == 0)
        }
    }

    @Test func aDamagedCopyIsReplaced() async throws {
        try await withCache { memory, cache, _ in
            let bytes = Array("key file".utf8)
            let key = Self.named(.key, bytes)
            try await cache.save(key, data: bytes)
            // Another process (fresh verification state) finds the copy damaged.
            let again = try CachingBackend(memory, directory: URL(fileURLWithPath: cache.root).deletingLastPathComponent().path,
                                           key: "rest:http://h:1/repo")
            try Data("kez file".utf8).write(to: URL(fileURLWithPath: again.root + "/keys/" + key.name))
            #expect(try await again.load(key) == bytes)
            #expect(loads(memory) == 1)
            #expect(try Data(contentsOf: URL(fileURLWithPath: again.root + "/keys/" + key.name)) == Data(bytes))
        }
    }

    @Test func listingDropsCopiesOfRemovedFiles() async throws {
        try await withCache { memory, cache, _ in
            let kept = Array("kept".utf8), gone = Array("gone".utf8)
            try await cache.save(Self.named(.snapshot, kept), data: kept)
            try await cache.save(Self.named(.snapshot, gone), data: gone)
            try await memory.remove(Self.named(.snapshot, gone))  // removed by another client
            #expect(try await cache.list(.snapshot).map(\.name) == [Self.named(.snapshot, kept).name])
            let copies = try FileManager.default.contentsOfDirectory(atPath: cache.root + "/snapshots")
            #expect(copies == [Self.named(.snapshot, kept).name])
            try await cache.remove(Self.named(.snapshot, kept))
            #expect(try FileManager.default.contentsOfDirectory(atPath: cache.root + "/snapshots").isEmpty)
        }
    }

    @Test func listingNamesAlsoDropsCopiesOfRemovedFiles() async throws {
        try await withCache { memory, cache, _ in
            let kept = Array("kept".utf8), gone = Array("gone".utf8)
            try await cache.save(Self.named(.index, kept), data: kept)
            try await cache.save(Self.named(.index, gone), data: gone)
            try await memory.remove(Self.named(.index, gone))
            #expect(try await cache.listNames(.index) == [Self.named(.index, kept).name])
            #expect(memory.callLog.last == "listNames index", "the names are not asked of the backend underneath")
            let copies = try FileManager.default.contentsOfDirectory(atPath: cache.root + "/index")
            #expect(copies == [Self.named(.index, kept).name])
        }
    }

    @Test func onlyMarkedPacksAreCached() async throws {
        try await withCache { memory, cache, _ in
            let data = Array(repeating: UInt8(7), count: 1000) + Array(0..<200).map { UInt8($0) }
            let pack = Self.named(.pack, data)
            try await memory.save(pack, data: data)
            _ = try await cache.load(pack, offset: 1000, length: 10)
            _ = try await cache.load(pack, offset: 1000, length: 10)
            #expect(loads(memory) == 2)
            cache.cachePacks([pack.name])
            #expect(try await cache.load(pack, offset: 1000, length: 10) == Array(0..<10).map { UInt8($0) })
            #expect(try await cache.load(pack, offset: 1190, length: 10) == Array(190..<200).map { UInt8($0) })
            #expect(try await cache.load(pack) == data)
            #expect(loads(memory) == 3)
            await #expect(throws: ResticError.self) { try await cache.load(pack, offset: 1195, length: 10) }
        }
    }

    @Test func filesThatAreNotContentAddressedPassThrough() async throws {
        try await withCache { memory, cache, _ in
            try await memory.save(.config, data: [1, 2, 3])
            let lock = Handle(.lock, String(repeating: "0", count: 64))
            try await memory.save(lock, data: [4])
            for _ in 0..<2 {
                #expect(try await cache.load(.config) == [1, 2, 3])
                #expect(try await cache.load(lock) == [4])
            }
            #expect(loads(memory) == 4)
        }
    }

    @Test func unusedRepositoryFoldersExpire() async throws {
        let dir = NSTemporaryDirectory() + "cartae-cache-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = dir + "/" + String(repeating: "a", count: 32)
        let recent = dir + "/" + String(repeating: "b", count: 32)
        for folder in [old, recent] {
            try FileManager.default.createDirectory(atPath: folder + "/index", withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: folder + "/index/x", contents: Data([1]))
        }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -31 * 86400)], ofItemAtPath: old)
        _ = try CachingBackend(MemoryBackend(), directory: dir, key: "s3:http://h:1/b")
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(FileManager.default.fileExists(atPath: recent + "/index/x"))
    }

    @Test func defaultDirectory() {
        #expect(CachingBackend.defaultDirectory(environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"]) == "/x/cache/cartae-restic")
        #expect(CachingBackend.defaultDirectory(environment: ["HOME": "/home/u"]) == "/home/u/.cache/cartae-restic")
        #expect(CachingBackend.defaultDirectory(environment: [:]) == nil)
    }

    @Test func onlyRemoteRepositoriesAreCached() throws {
        let dir = NSTemporaryDirectory() + "cartae-cache-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try BackendFactory.open(location: "rest:http://h:1/r", cacheDirectory: dir).backend is CachingBackend)
        #expect(try !(BackendFactory.open(location: "/tmp/repo", cacheDirectory: dir).backend is CachingBackend))
        #expect(try !(BackendFactory.open(location: "rest:http://h:1/r", cacheDirectory: nil).backend is CachingBackend))
    }
}
