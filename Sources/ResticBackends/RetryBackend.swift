#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ResticCore

/// How long and how often a failing request is tried again: exponential backoff with jitter,
/// bounded both in attempts and in total time.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var initialDelay: Duration
    public var multiplier: Double
    public var maxDelay: Duration
    /// No attempt starts later than this after the first one.
    public var maxElapsed: Duration
    /// Each delay is scaled by a random factor in [1 − jitter, 1 + jitter].
    public var jitter: Double

    public init(maxAttempts: Int = 10, initialDelay: Duration = .milliseconds(500), multiplier: Double = 1.5,
                maxDelay: Duration = .seconds(30), maxElapsed: Duration = .seconds(300), jitter: Double = 0.5) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.maxElapsed = maxElapsed
        self.jitter = min(max(jitter, 0), 1)
    }

    /// restic's retry budget: ten attempts, 0.5 s growing by 1.5× (about a minute in all).
    public static let standard = RetryPolicy()

    /// The pause after failed attempt number `attempt` (1-based); `random` is in [-1, 1].
    public func delay(after attempt: Int, random: Double) -> Duration {
        let base = Double(initialDelay.components.seconds) + Double(initialDelay.components.attoseconds) / 1e18
        let cap = Double(maxDelay.components.seconds) + Double(maxDelay.components.attoseconds) / 1e18
        let grown = min(cap, base * pow(multiplier, Double(attempt - 1)))
        let scaled = grown * (1 + jitter * min(max(random, -1), 1))
        return .milliseconds(Int64((scaled * 1000).rounded()))
    }
}

/// Retries operations that failed with a temporary error (timeouts, resets, 5xx, 429). Other
/// errors — missing objects, refused credentials, a missing bucket — pass through at once.
public struct RetryBackend: Backend {
    public let inner: any Backend
    public let policy: RetryPolicy
    let statistics: BackendStatistics?
    /// Told about every retry, e.g. to print a warning; never gets credentials (errors carry none).
    let report: (@Sendable (String) -> Void)?

    public init(_ inner: any Backend, policy: RetryPolicy = .standard, statistics: BackendStatistics? = nil,
                report: (@Sendable (String) -> Void)? = nil) {
        self.inner = inner
        self.policy = policy
        self.statistics = statistics
        self.report = report
    }

    public var location: String { inner.location }
    public func willLoad(_ handle: FileHandle, range: Range<Int>?) { inner.willLoad(handle, range: range) }
    public func localPath(_ handle: FileHandle) -> String? { inner.localPath(handle) }
    public var connections: Int { inner.connections }

    static func isRetryable(_ error: any Error) -> Bool {
        (error as? ResticError)?.kind == .temporary
    }

    /// Runs `body` until it succeeds, fails permanently, or the policy's budget is spent.
    func retrying<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 1
        while true {
            do {
                try Task.checkCancellation()
                return try await body()
            } catch {
                guard Self.isRetryable(error), !Task.isCancelled else { throw error }
                let delay = policy.delay(after: attempt, random: Double.random(in: -1...1))
                guard attempt < policy.maxAttempts, clock.now - start + delay <= policy.maxElapsed else {
                    let message = (error as? ResticError)?.message ?? "\(error)"
                    throw ResticError(.temporary, "\(message) (gave up after \(attempt) attempt\(attempt == 1 ? "" : "s"))")
                }
                report?("\(operation) failed, retrying in \(delay.retryText): \(error)")
                statistics?.recordRetry()
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        var failedBefore = false
        try await retrying("save \(handle)") {
            do {
                try await inner.save(handle, data: data)
            } catch {
                failedBefore = true
                throw error
            }
            // After a failed attempt the object may be a leftover of it: check what is stored.
            if failedBefore {
                let stored = try await inner.stat(handle)
                if stored != data.count {
                    throw ResticError(.temporary, "\(inner.location): \(handle): stored \(stored) of \(data.count) bytes")
                }
            }
        }
    }

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        try await retrying("load \(handle)") { try await inner.load(handle, offset: offset, length: length) }
    }

    public func stat(_ handle: FileHandle) async throws -> Int {
        try await retrying("stat \(handle)") { try await inner.stat(handle) }
    }

    public func list(_ type: FileType) async throws -> [FileInfo] {
        try await retrying("list \(type.folderName)") { try await inner.list(type) }
    }

    public func listNames(_ type: FileType) async throws -> [String] {
        try await retrying("list \(type.folderName)") { try await inner.listNames(type) }
    }

    public func remove(_ handle: FileHandle) async throws {
        try await retrying("remove \(handle)") { try await inner.remove(handle) }
    }

    public func repositoryExists() async throws -> Bool {
        try await retrying("stat config") { try await inner.repositoryExists() }
    }

    public func create() async throws {
        try await retrying("create") { try await inner.create() }
    }
}

extension Duration {
    /// "1.25s" or "750ms", for retry messages.
    var retryText: String {
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        return milliseconds >= 1000 ? "\(Double(milliseconds) / 1000)s" : "\(milliseconds)ms"
    }
}
