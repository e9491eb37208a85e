#if canImport(Glibc)
import Glibc
#endif
import CartaeSync

/// A few OS threads for restore's blocking file-system calls (create, write, chmod, utimes…).
///
/// Creating a file is kernel work that can wait on the journal or on a directory lock, so more
/// calls than cores should be in flight; Swift's cooperative pool has one thread per core and
/// must not be blocked. Callers hand over a batch and await it, which also bounds how much
/// decrypted data waits for writing.
final class FileWorkers: Sendable {
    private let pool: ThreadPool

    init(count: Int) {
        pool = ThreadPool(threads: count)
    }

    /// Runs `body` on every item, spread over the threads, and returns the results in order.
    /// Without threads (none could be started) the items run on the caller's thread.
    func map<Item: Sendable, Result: Sendable>(_ items: [Item],
                                               _ body: @escaping @Sendable (Item) -> Result) async -> [Result] {
        if items.isEmpty { return [] }
        if pool.threadCount == 0 { return items.map(body) }
        let collector = Collector<Result>(count: items.count)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            collector.setContinuation(continuation)
            var jobs: [@Sendable () -> Void] = []
            jobs.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                jobs.append { collector.store(body(item), at: i) }
            }
            pool.submit(jobs)
        }
        return collector.results()
    }

    /// Lets the threads finish what is queued, then ends them.
    func stop() {
        pool.stop()
    }
}

/// Gathers a batch's results and resumes the waiting task when the last one arrives.
private final class Collector<Result: Sendable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var values: [Result?]
    private var remaining: Int
    private var continuation: CheckedContinuation<Void, Never>?

    init(count: Int) {
        values = Array(repeating: nil, count: count)
        remaining = count
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func setContinuation(_ continuation: CheckedContinuation<Void, Never>) {
        pthread_mutex_lock(mutex)
        self.continuation = continuation
        pthread_mutex_unlock(mutex)
    }

    func store(_ value: Result, at index: Int) {
        pthread_mutex_lock(mutex)
        values[index] = value
        remaining -= 1
        let done = remaining == 0 ? continuation : nil
        pthread_mutex_unlock(mutex)
        done?.resume()
    }

    /// Called after the continuation resumed, so no thread writes any more; the lock still
    /// orders the threads' writes before this read in a way ThreadSanitizer can see (it does
    /// not see a continuation's resumption as synchronisation).
    func results() -> [Result] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return values.compactMap { $0 }
    }
}
