import ResticCore
import CartaeSync

/// Lets at most `connections` operations reach the wrapped backend at once (restic's
/// `-o <backend>.connections`); callers beyond that wait their turn in arrival order.
public struct ConnectionLimitBackend: Backend {
    public let inner: any Backend
    public let connections: Int
    private let slots: AsyncBudget

    public init(_ inner: any Backend, connections: Int) {
        self.inner = inner
        self.connections = max(1, connections)
        self.slots = AsyncBudget(limit: self.connections)
    }

    public var location: String { inner.location }
    public func willLoad(_ handle: FileHandle, range: Range<Int>?) { inner.willLoad(handle, range: range) }
    public func localPath(_ handle: FileHandle) -> String? { inner.localPath(handle) }

    private func limited<T>(_ body: () async throws -> T) async throws -> T {
        try await slots.acquire(1)
        defer { slots.release(1) }
        try Task.checkCancellation()
        return try await body()
    }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        try await limited { try await inner.save(handle, data: data) }
    }

    public func makeSpool(_ type: FileType) throws -> (any BackendSpool)? { try inner.makeSpool(type) }

    public func removeLeftovers(olderThan age: Duration) async throws -> (files: Int, bytes: Int) {
        try await limited { try await inner.removeLeftovers(olderThan: age) }
    }

    public func save(_ handle: FileHandle, spool: any BackendSpool) async throws {
        try await limited { try await inner.save(handle, spool: spool) }
    }

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        try await limited { try await inner.load(handle, offset: offset, length: length) }
    }

    public func stat(_ handle: FileHandle) async throws -> Int {
        try await limited { try await inner.stat(handle) }
    }

    public func list(_ type: FileType) async throws -> [FileInfo] {
        try await limited { try await inner.list(type) }
    }

    public func listNames(_ type: FileType) async throws -> [String] {
        try await limited { try await inner.listNames(type) }
    }

    public func remove(_ handle: FileHandle) async throws {
        try await limited { try await inner.remove(handle) }
    }

    public func repositoryExists() async throws -> Bool {
        try await limited { try await inner.repositoryExists() }
    }

    public func create() async throws {
        try await limited { try await inner.create() }
    }
}
