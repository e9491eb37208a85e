import ResticCore

/// Lets at most `connections` operations reach the wrapped backend at once (restic's
/// `-o <backend>.connections`); callers beyond that wait their turn in arrival order.
public struct ConnectionLimitBackend: Backend {
    public let inner: any Backend
    public let connections: Int
    private let semaphore: AsyncSemaphore

    public init(_ inner: any Backend, connections: Int) {
        self.inner = inner
        self.connections = max(1, connections)
        self.semaphore = AsyncSemaphore(self.connections)
    }

    public var location: String { inner.location }
    public func willLoad(_ handle: FileHandle) { inner.willLoad(handle) }
    public func localPath(_ handle: FileHandle) -> String? { inner.localPath(handle) }

    private func limited<T>(_ body: () async throws -> T) async throws -> T {
        await semaphore.acquire()
        do {
            try Task.checkCancellation()
            let result = try await body()
            await semaphore.release()
            return result
        } catch {
            await semaphore.release()
            throw error
        }
    }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        try await limited { try await inner.save(handle, data: data) }
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

/// A counting semaphore for tasks: FIFO, no busy waiting.
actor AsyncSemaphore {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var head = 0

    init(_ count: Int) {
        available = count
    }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if head < waiters.count {
            let next = waiters[head]
            head += 1
            if head > 64 && head * 2 > waiters.count {
                waiters.removeFirst(head)
                head = 0
            }
            next.resume()  // the slot passes straight to the next waiter
        } else {
            available += 1
        }
    }
}
