#if CARTAE_TSAN_LOCKS
import Glibc
#else
import Synchronization
#endif

/// Shared state behind a lock: the engine's one mutex type.
///
/// Normally it is the standard library's `Mutex`. ThreadSanitizer cannot see that lock: on
/// Linux it waits with raw futex calls inside the uninstrumented standard library, so TSan
/// reports every access it guards as a race. Sanitizer builds (`-Xswiftc -DCARTAE_TSAN_LOCKS`,
/// set by scripts/sanitizers.sh) swap in a pthread mutex, whose calls TSan intercepts, so its
/// reports are about real races only.
public struct Locked<Value: ~Copyable>: ~Copyable, @unchecked Sendable {
    #if CARTAE_TSAN_LOCKS
    private let box: LockBox<Value>

    public init(_ value: consuming sending Value) {
        box = LockBox(value)
    }

    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        pthread_mutex_lock(box.mutex)
        defer { pthread_mutex_unlock(box.mutex) }
        return try body(&box.value)
    }

    #else
    @usableFromInline let mutex: Mutex<Value>

    public init(_ value: consuming sending Value) {
        mutex = Mutex(value)
    }

    @inlinable
    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        try mutex.withLock(body)
    }
    #endif
}

#if CARTAE_TSAN_LOCKS
private final class LockBox<Value: ~Copyable> {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    var value: Value

    init(_ value: consuming Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
}
#endif
