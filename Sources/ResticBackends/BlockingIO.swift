import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Threads of their own for calls that wait on the disk, such as fsync.
///
/// Swift's cooperative pool has one thread per core; an fsync of a 16 MiB pack holds one of
/// them for milliseconds (80 fsyncs cost 0.7 s in a backup of 1.5 GB here), and on a 2-core
/// machine that stalls half of the compressing and encrypting. Here the wait happens on a
/// thread that has nothing else to do.
enum BlockingIO {
    private static let pool = ThreadPool(threads: 4)

    /// Runs `body` on a pool thread and resumes the caller with its result.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        // `body` and what it holds (a 16 MiB pack to save) are let go before the caller resumes:
        // the caller reuses that buffer for its next pack only if it holds the last reference.
        // Without threads (none could be started, e.g. under a tight address-space limit) the
        // call runs on the caller's thread, as it did before this pool existed.
        guard pool.started > 0 else { return try body() }
        let job = Job(body)
        return try await withCheckedThrowingContinuation { continuation in
            pool.submit { continuation.resume(with: job.run()) }
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

private final class ThreadPool: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0

    /// Threads actually running; creating one can fail (address-space or thread limits).
    private(set) var started = 0

    init(threads: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        // The jobs are a few system calls deep: a small stack keeps the address space small.
        pthread_attr_setstacksize(&attributes, 256 * 1024)
        for _ in 0..<threads {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let result = pthread_create(&thread, &attributes, { context in
                guard let context else { return nil }
                Unmanaged<ThreadPool>.fromOpaque(context).takeRetainedValue().work()
                return nil
            }, context)
            if result == 0 {
                pthread_detach(thread)
                started += 1
            } else {
                Unmanaged<ThreadPool>.fromOpaque(context).release()
            }
        }
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        if head > 0 && head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        }
        jobs.append(job)
        pthread_cond_signal(wakeUp)
        pthread_mutex_unlock(mutex)
    }

    /// Lives as long as the process: the pool is a static.
    private func work() {
        while true {
            pthread_mutex_lock(mutex)
            while head == jobs.count { pthread_cond_wait(wakeUp, mutex) }
            let job = jobs[head]
            head += 1
            pthread_mutex_unlock(mutex)
            job()
        }
    }
}
