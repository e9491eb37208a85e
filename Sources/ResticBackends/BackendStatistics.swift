import ResticCore
import Synchronization

/// Counters for one run: requests sent to the storage, payload bytes each way, and retries.
/// Shared by every layer of one backend stack; lock-free, so counting never slows a transfer.
public final class BackendStatistics: Sendable {
    private let requestCount = Atomic<Int>(0)
    private let sentCount = Atomic<Int>(0)
    private let receivedCount = Atomic<Int>(0)
    private let retryCount = Atomic<Int>(0)

    public init() {}

    public var requests: Int { requestCount.load(ordering: .relaxed) }
    public var bytesSent: Int { sentCount.load(ordering: .relaxed) }
    public var bytesReceived: Int { receivedCount.load(ordering: .relaxed) }
    public var retries: Int { retryCount.load(ordering: .relaxed) }

    func recordRequest(sent: Int = 0) {
        requestCount.add(1, ordering: .relaxed)
        if sent > 0 { sentCount.add(sent, ordering: .relaxed) }
    }

    func recordReceived(_ count: Int) {
        if count > 0 { receivedCount.add(count, ordering: .relaxed) }
    }

    func recordRetry() {
        retryCount.add(1, ordering: .relaxed)
    }
}

/// Counts the calls and payload bytes of a backend that has no HTTP layer of its own (local).
public struct MeteredBackend: Backend {
    public let inner: any Backend
    public let statistics: BackendStatistics

    public init(_ inner: any Backend, statistics: BackendStatistics) {
        self.inner = inner
        self.statistics = statistics
    }

    public var location: String { inner.location }
    public func willLoad(_ handle: FileHandle, range: Range<Int>?) { inner.willLoad(handle, range: range) }
    public func localPath(_ handle: FileHandle) -> String? { inner.localPath(handle) }
    public var connections: Int { inner.connections }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        statistics.recordRequest(sent: data.count)
        try await inner.save(handle, data: data)
    }

    public func makeSpool(_ type: FileType) throws -> (any BackendSpool)? { try inner.makeSpool(type) }

    public func removeLeftovers(olderThan age: Duration) async throws -> (files: Int, bytes: Int) {
        try await inner.removeLeftovers(olderThan: age)
    }

    public func save(_ handle: FileHandle, spool: any BackendSpool) async throws {
        statistics.recordRequest(sent: spool.count)
        try await inner.save(handle, spool: spool)
    }

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        statistics.recordRequest()
        let bytes = try await inner.load(handle, offset: offset, length: length)
        statistics.recordReceived(bytes.count)
        return bytes
    }

    public func stat(_ handle: FileHandle) async throws -> Int {
        statistics.recordRequest()
        return try await inner.stat(handle)
    }

    public func list(_ type: FileType) async throws -> [FileInfo] {
        statistics.recordRequest()
        return try await inner.list(type)
    }

    public func listNames(_ type: FileType) async throws -> [String] {
        statistics.recordRequest()
        return try await inner.listNames(type)
    }

    public func remove(_ handle: FileHandle) async throws {
        statistics.recordRequest()
        try await inner.remove(handle)
    }

    public func repositoryExists() async throws -> Bool {
        statistics.recordRequest()
        return try await inner.repositoryExists()
    }

    public func create() async throws {
        statistics.recordRequest()
        try await inner.create()
    }
}
