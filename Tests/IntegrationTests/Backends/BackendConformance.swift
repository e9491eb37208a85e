import Foundation
import Testing
import ResticCore
import ResticCrypto
import ResticBackends

/// The one behaviour every backend must show (restic's backend test suite in spirit): run it on
/// an empty location. Saves, whole and ranged loads, stat, list, remove, missing and empty
/// objects, concurrent use, and the create/exists life cycle.
enum BackendConformance {
    typealias Handle = ResticCore.FileHandle

    static func content(_ seed: Int, _ count: Int) -> [UInt8] {
        TreeGenerator.randomBytes(count, seed: UInt64(seed) &+ 1000)
    }

    /// A handle named by the SHA-256 of its content, as the repository names files.
    static func handle(_ type: FileType, _ data: [UInt8]) -> Handle {
        Handle(type, ObjectID(bytes: SHA256.digest(data)))
    }

    static func kind(_ body: () async throws -> Void) async -> ResticError.Kind? {
        do {
            try await body()
            return nil
        } catch let error as ResticError {
            return error.kind
        } catch {
            return .other
        }
    }

    static func run(_ backend: any Backend) async throws {
        // A fresh location: nothing there, create works once.
        #expect(try await !backend.repositoryExists())
        try await backend.create()
        for type in FileType.allCases {
            #expect(try await backend.list(type).isEmpty, "\(type) is empty after create")
        }
        let config = content(1, 155)
        try await backend.save(.config, data: config)
        #expect(try await backend.repositoryExists())
        #expect(try await backend.load(.config) == config)
        #expect(try await backend.list(.config) == [FileInfo(name: "config", size: 155)])
        #expect(await kind { try await backend.create() } == .invalidArgument, "create refuses an existing repository")

        // Files of every type, an empty one among them.
        var saved: [Handle: [UInt8]] = [:]
        let sizes = [0, 1, 100, 4096, 70_000]
        for (index, type) in [FileType.key, .snapshot, .index, .lock, .pack].enumerated() {
            for (offset, size) in sizes.enumerated() {
                let data = content(index * 10 + offset, size)
                let name = handle(type, data + [UInt8(index)])  // distinct names for equal (empty) contents
                try await backend.save(name, data: data)
                saved[name] = data
            }
        }
        for (name, data) in saved {
            #expect(try await backend.load(name) == data, "load \(name)")
            #expect(try await backend.stat(name) == data.count, "stat \(name)")
        }
        for type in [FileType.key, .snapshot, .index, .lock, .pack] {
            let expected = saved.filter { $0.key.type == type }.map { FileInfo(name: $0.key.name, size: $0.value.count) }
            #expect(Set(try await backend.list(type)) == Set(expected), "list \(type)")
        }

        // Ranged loads: start, middle, end, single bytes, to the end, zero length.
        let big = content(99, 1_500_000)
        let pack = handle(.pack, big)
        try await backend.save(pack, data: big)
        for (offset, length) in [(0, 1), (0, 4096), (1234, 56_789), (1_499_999, 1), (1_400_000, 100_000), (700_000, 0)] {
            let part = try await backend.load(pack, offset: offset, length: length)
            #expect(part == Array(big[offset..<(offset + length)]), "load at \(offset) length \(length)")
        }
        #expect(try await backend.load(pack, offset: 1_000_000, length: nil) == Array(big[1_000_000...]))
        #expect(try await backend.load(pack) == big)
        #expect(await kind { _ = try await backend.load(pack, offset: 1_499_990, length: 20) } == .corrupt,
                "a range past the end is a short read")

        // Missing objects.
        let missing = handle(.pack, [1, 2, 3, 4, 5])
        #expect(await kind { _ = try await backend.load(missing) } == .notFound)
        #expect(await kind { _ = try await backend.load(missing, offset: 1, length: 2) } == .notFound)
        #expect(await kind { _ = try await backend.stat(missing) } == .notFound)
        #expect(await kind { _ = try await backend.load(missing, offset: 0, length: 0) } == .notFound)

        // Remove, then remove again (gone is what remove wants).
        try await backend.remove(pack)
        #expect(await kind { _ = try await backend.stat(pack) } == .notFound)
        try await backend.remove(pack)
        #expect(!(try await backend.list(.pack)).contains { $0.name == pack.name })

        // Concurrent use: many saves and loads at once, every byte checked.
        let batch = (0..<24).map { content(500 + $0, 20_000 + $0 * 997) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for data in batch { group.addTask { try await backend.save(handle(.pack, data), data: data) } }
            try await group.waitForAll()
        }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for data in batch {
                group.addTask {
                    let whole = try await backend.load(handle(.pack, data))
                    let part = try await backend.load(handle(.pack, data), offset: 1000, length: 5000)
                    return whole == data && part == Array(data[1000..<6000])
                }
            }
            for try await ok in group { #expect(ok, "a concurrent load returned other bytes") }
        }
        let packs = Set(try await backend.list(.pack).map(\.name))
        #expect(packs.isSuperset(of: batch.map { handle(.pack, $0).name }))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for data in batch { group.addTask { try await backend.remove(handle(.pack, data)) } }
            try await group.waitForAll()
        }
        #expect(try await backend.list(.pack).count == saved.keys.filter { $0.type == .pack }.count)

        // Overwriting with the same bytes (a retried upload) keeps the file intact.
        let (first, data) = try #require(saved.first { $0.key.type == .index && $0.value.count > 0 })
        try await backend.save(first, data: data)
        #expect(try await backend.load(first) == data)

        try await backend.remove(.config)
        #expect(try await !backend.repositoryExists())
    }
}
