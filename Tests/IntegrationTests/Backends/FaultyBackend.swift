import ResticCore
import ResticBackends
import Synchronization

/// A decorator that fails a share of calls with temporary errors, some before the call reaches
/// the backend and some after it did its work (a response lost on the way back), from a seeded
/// generator so a failing run can be repeated.
final class FaultyBackend: Backend, Sendable {
    typealias Handle = ResticCore.FileHandle
    let inner: any Backend
    let rate: Double
    private let state: Mutex<UInt64>
    private let injected = Atomic<Int>(0)

    init(_ inner: any Backend, rate: Double, seed: UInt64) {
        self.inner = inner
        self.rate = rate
        self.state = Mutex(seed &* 0x9E37_79B9_7F4A_7C15 | 1)
    }

    var location: String { inner.location }
    var connections: Int { inner.connections }
    var faults: Int { injected.load(ordering: .relaxed) }

    private func roll() -> Double {
        state.withLock { x in
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            return Double(x % 1_000_000) / 1_000_000
        }
    }

    /// Runs `body`, failing before it, after it, or not at all.
    private func maybeFail<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        let dice = roll()
        if dice < rate / 2 {
            injected.add(1, ordering: .relaxed)
            throw ResticError(.temporary, "\(what): injected HTTP 503 before the request")
        }
        let result = try await body()
        if dice < rate {
            injected.add(1, ordering: .relaxed)
            throw ResticError(.temporary, "\(what): injected connection reset after the request")
        }
        return result
    }

    func save(_ handle: Handle, data: [UInt8]) async throws {
        try await maybeFail("save \(handle)") { try await inner.save(handle, data: data) }
    }

    func load(_ handle: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
        try await maybeFail("load \(handle)") { try await inner.load(handle, offset: offset, length: length) }
    }

    func stat(_ handle: Handle) async throws -> Int {
        try await maybeFail("stat \(handle)") { try await inner.stat(handle) }
    }

    func list(_ type: FileType) async throws -> [FileInfo] {
        try await maybeFail("list \(type)") { try await inner.list(type) }
    }

    func remove(_ handle: Handle) async throws {
        try await maybeFail("remove \(handle)") { try await inner.remove(handle) }
    }

    func repositoryExists() async throws -> Bool {
        try await maybeFail("exists") { try await inner.repositoryExists() }
    }

    func create() async throws {
        try await maybeFail("create") { try await inner.create() }
    }
}
