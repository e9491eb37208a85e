import Testing
import ResticCore
import ResticCrypto
@testable import ResticMaintenance

/// One file in memory, counting the bytes served, to watch how a pack is streamed.
private final class OneFileBackend: Backend, @unchecked Sendable {
    let bytes: [UInt8]
    private(set) var served = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var location: String { "memory" }
    var connections: Int { 1 }
    func save(_ handle: ResticCore.FileHandle, data: [UInt8]) async throws {}
    func load(_ handle: ResticCore.FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        let end = length.map { offset + $0 } ?? bytes.count
        guard offset >= 0, end <= bytes.count else { throw ResticError.corrupt("range \(offset)..<\(end) beyond \(bytes.count)") }
        served += end - offset
        return Array(bytes[offset..<end])
    }
    func stat(_ handle: ResticCore.FileHandle) async throws -> Int { bytes.count }
    func list(_ type: FileType) async throws -> [FileInfo] { [] }
    func remove(_ handle: ResticCore.FileHandle) async throws {}
    func repositoryExists() async throws -> Bool { true }
    func create() async throws {}
}

@Suite struct CheckPackStreamTests {
    @Test func blobsAcrossChunkBoundariesHashEveryByteOnce() async throws {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let backend = OneFileBackend(data)
        var stream = PackStream(handle: ResticCore.FileHandle(.pack, "x"), size: data.count, backend: backend, chunkSize: 7)
        #expect(Array(try await stream.bytes(0..<10)) == Array(data[0..<10]))
        #expect(Array(try await stream.bytes(10..<25)) == Array(data[10..<25]))
        // Overlapping an earlier range: served by a separate read, not from the window.
        #expect(Array(try await stream.bytes(5..<12)) == Array(data[5..<12]))
        #expect(Array(try await stream.bytes(40..<41)) == Array(data[40..<41]))
        #expect(Array(try await stream.bytes(41..<300)) == Array(data[41..<300]))
        let tail = try await stream.readToEnd(keepingFrom: 900)
        #expect(Array(tail) == Array(data[900...]))
        #expect(stream.digest() == SHA256.digest(data))
        #expect(backend.served == data.count + 7)  // the whole file once plus the overlapping range
    }

    @Test func tailKeepsEverythingAfterTheLastBlob() async throws {
        let data = (0..<64).map { UInt8($0) }
        var stream = PackStream(handle: ResticCore.FileHandle(.pack, "x"), size: data.count,
                                backend: OneFileBackend(data), chunkSize: 5)
        _ = try await stream.bytes(0..<20)
        #expect(Array(try await stream.readToEnd(keepingFrom: 20)) == Array(data[20...]))
        #expect(stream.digest() == SHA256.digest(data))
    }
}
