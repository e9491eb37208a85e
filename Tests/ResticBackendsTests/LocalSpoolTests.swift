import Foundation
import Testing
import ResticCore
@testable import ResticBackends

/// Packs written piece by piece into the repository folder (`LocalSpool`) must end up byte for
/// byte as a whole-buffer save would leave them, under their real name only, with nothing left
/// behind: not when saved, not when dropped unsaved.
@Suite("Spooled pack files of the local backend")
struct LocalSpoolTests {
    static func makeRepository() throws -> (URL, LocalBackend) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        return (dir, LocalBackend(path: dir.path))
    }

    static func leftovers(_ dir: URL) -> [String] {
        let walker = FileManager.default.enumerator(atPath: dir.path)
        return (walker?.allObjects as? [String] ?? []).filter { $0.contains(".tmp") }
    }

    /// Deterministic bytes, different at every offset.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test("pieces of every size, around and across the 256 KiB write unit, come out as one file",
          arguments: [[1], [4095, 1, 4096], [262_143, 2, 262_143], [700_000, 5, 1_048_576, 333], [3 << 20]])
    func piecesJoinUp(_ sizes: [Int]) async throws {
        let (dir, local) = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Through the decorators a local repository gets, so each passes spools on.
        let backend = ConnectionLimitBackend(MeteredBackend(local, statistics: BackendStatistics()), connections: 2)
        let spool = try #require(try backend.makeSpool(.pack))
        var expected: [UInt8] = []
        for (number, size) in sizes.enumerated() {
            let piece = Self.bytes(size, seed: UInt64(number + 1))
            try piece.withUnsafeBytes { try spool.append($0) }
            expected += piece
        }
        #expect(spool.count == expected.count)
        #expect(try spool.contents() == expected, "read back before saving")
        let id = ObjectID(bytes: [UInt8](repeating: 0xab, count: 32))
        try await backend.save(FileHandle(.pack, id), spool: spool)
        #expect(try await backend.load(FileHandle(.pack, id)) == expected)
        #expect(Self.leftovers(dir).isEmpty, "temporary files left: \(Self.leftovers(dir))")
    }

    @Test("a spool dropped without being saved removes its file, and only packs are spooled")
    func droppedSpoolLeavesNothing() throws {
        let (dir, backend) = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let spool = try #require(try backend.makeSpool(.pack))
            try Self.bytes(600_000, seed: 9).withUnsafeBytes { try spool.append($0) }
            #expect(!Self.leftovers(dir).isEmpty, "the spool should be writing into the repository")
        }
        #expect(Self.leftovers(dir).isEmpty, "temporary files left: \(Self.leftovers(dir))")
        #expect(try backend.makeSpool(.index) == nil)
        #expect(try backend.makeSpool(.snapshot) == nil)
    }
}
