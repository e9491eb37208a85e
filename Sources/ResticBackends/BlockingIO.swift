import CartaeSync

/// Threads of their own for calls that wait on the disk, such as fsync.
///
/// Swift's cooperative pool has one thread per core; an fsync of a 16 MiB pack holds one of
/// them for milliseconds (80 fsyncs cost 0.7 s in a backup of 1.5 GB here), and on a 2-core
/// machine that stalls half of the compressing and encrypting. Here the wait happens on a
/// thread that has nothing else to do.
enum BlockingIO {
    // The jobs are a few system calls deep: a small stack keeps the address space small.
    private static let pool = ThreadPool(threads: 4, stackSize: 256 * 1024)

    /// Runs `body` on a pool thread and resumes the caller with its result.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        // `body` and what it holds (a 16 MiB pack to save) are let go before the caller resumes:
        // the caller reuses that buffer for its next pack only if it holds the last reference.
        // Without threads (none could be started, e.g. under a tight address-space limit) the
        // call runs on the caller's thread, as it did before this pool existed.
        guard pool.threadCount > 0 else { return try body() }
        let job = Job(body)
        return try await withCheckedThrowingContinuation { continuation in
            pool.submit([{ continuation.resume(with: job.run()) }])
        }
    }
}

/// One call for the pool, run once on one pool thread.
private final class Job<T>: @unchecked Sendable {
    private var body: (@Sendable () throws -> T)?

    init(_ body: @escaping @Sendable () throws -> T) { self.body = body }

    func run() -> Result<T, Error> {
        guard let body else { return .failure(CancellationError()) }
        self.body = nil
        return Result { try body() }
    }
}
