#if canImport(Glibc)
import Glibc
#endif

/// OS threads of their own for calls that block: file-system work and fsyncs that would
/// otherwise hold one of Swift's cooperative threads, of which there is one per core.
///
/// Starting a thread can fail (address-space or thread limits); `threadCount` says how many
/// run, and callers with none do the work on their own thread instead of waiting for a pool
/// that will never run it.
public final class ThreadPool: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var queue: [@Sendable () -> Void] = []
    private var head = 0
    private var stopping = false
    private var threads: [pthread_t] = []

    private static let taken: @Sendable () -> Void = {}

    /// Threads running; 0 when none could be started, or after `stop`.
    public var threadCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return threads.count
    }

    /// `stackSize` nil keeps the system's default.
    public init(threads count: Int, stackSize: Int? = nil) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
        var started: [pthread_t] = []
        for _ in 0..<max(1, count) {
            if let thread = OSThread.start(stackSize: stackSize, { [self] in work() }) { started.append(thread) }
        }
        pthread_mutex_lock(mutex)
        threads = started
        pthread_mutex_unlock(mutex)
    }

    deinit {
        pthread_cond_destroy(wakeUp)
        pthread_mutex_destroy(mutex)
        wakeUp.deallocate()
        mutex.deallocate()
    }

    /// Queues jobs; they run in order of submission, spread over the threads.
    public func submit(_ jobs: [@Sendable () -> Void]) {
        pthread_mutex_lock(mutex)
        if head > 0 && head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        }
        queue.append(contentsOf: jobs)
        if jobs.count == 1 { pthread_cond_signal(wakeUp) } else { pthread_cond_broadcast(wakeUp) }
        pthread_mutex_unlock(mutex)
    }

    /// Lets the threads finish what is queued, then ends them.
    public func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wakeUp)
        let running = threads
        threads = []
        pthread_mutex_unlock(mutex)
        for thread in running { pthread_join(thread, nil) }
    }

    private func work() {
        while true {
            pthread_mutex_lock(mutex)
            while head == queue.count && !stopping { pthread_cond_wait(wakeUp, mutex) }
            if head == queue.count {
                pthread_mutex_unlock(mutex)
                return
            }
            let job = queue[head]
            // What the job holds (a batch of file data, a pack) goes with it, not with the queue.
            queue[head] = Self.taken
            head += 1
            pthread_mutex_unlock(mutex)
            job()
        }
    }
}
