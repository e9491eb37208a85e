#if canImport(Glibc)
import Glibc
#endif

/// Starting an OS thread of our own: for work that blocks (file-system calls, waits on a
/// condition), which must not hold one of Swift's cooperative threads.
public enum OSThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts a thread running `body`; nil when the system refuses one (address-space or thread
    /// limits), which callers must survive. A `detached` thread frees its resources when it ends
    /// and cannot be joined. `stackSize` nil keeps the system's default.
    public static func start(stackSize: Int? = nil, detached: Bool = false,
                             _ body: @escaping @Sendable () -> Void) -> pthread_t? {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
        if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            guard let context else { return nil }
            Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return nil
        }
        return thread
    }
}
