import Testing
import ResticCore
@testable import ResticBackends

/// Restore hints each pack's span of needed blobs (`willLoad(_:range:)`) so the disk reads
/// overlap the work on earlier packs. The hint must reach the backend underneath every
/// decorator with its range intact; a hint without a range still means the whole file.
@Suite("Load hints through the decorators")
struct LoadHintTests {
    @Test("a ranged hint reaches the backend with its range; a plain one asks for the whole file")
    func forwarded() {
        let memory = MemoryBackend()
        let decorated = ConnectionLimitBackend(
            MeteredBackend(RetryBackend(memory, statistics: nil), statistics: BackendStatistics()), connections: 2)
        let pack = FileHandle(.pack, String(repeating: "ab", count: 32))
        decorated.willLoad(pack, range: 4096..<12288)
        decorated.willLoad(pack)
        #expect(memory.callLog == ["willLoad \(pack) 4096..<12288", "willLoad \(pack) whole"])
    }
}
