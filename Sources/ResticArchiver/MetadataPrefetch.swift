#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import CartaeSync
import Synchronization

/// Walks the backup sources on threads of its own while the command derives the key and
/// loads the index, and keeps what it reads in a `ScanCache` for the walker (within the
/// cache's limits; past them it only warms the kernel's caches). On a cold cache a backup of
/// many small files spends most of its time waiting for exactly these reads; this overlaps them
/// with the key derivation, which keeps only one core busy, and the walker later makes no
/// system call for a cached directory. Several threads list different directories at once:
/// one thread waits for one disk read at a time, and the key derivation (about half a second)
/// is shorter than a cold walk of a large tree by one thread. Directories are taken depth
/// first in the walker's order (sorted names), so what is cached is what the walker needs next.
public final class MetadataPrefetch: @unchecked Sendable {
    public let cache: ScanCache?
    private let oneFileSystem: Bool
    private let excludes: [PathPattern]
    private let stopped = Atomic<Bool>(false)

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var pending: [Work] = []
    /// Threads listing a directory right now: while any is, more directories may come.
    private var busy = 0
    private var running = 0

    private enum Work {
        /// A directory to open and list; `device` is its target's, for --one-file-system (nil
        /// for a target itself).
        case directory(path: [UInt8], device: UInt64?)
        /// One part of a large directory's entries to stat.
        case part(DirectoryScan, Int)
    }

    static let threads = 4

    /// Starts walking `paths` (nothing happens for a path that does not exist). With
    /// `oneFileSystem` it stays on each target's file system; it skips directories `excludes`
    /// match. `cache` nil: only warm.
    public init(paths: [String], oneFileSystem: Bool = false, excludes: [PathPattern] = [],
                cache: ScanCache? = ScanCacheHooks.current.cache()) {
        self.cache = cache
        self.oneFileSystem = oneFileSystem
        self.excludes = excludes
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        var targets: [[UInt8]] = []
        for path in paths {
            let clean = Archiver.cleanPath(path)
            if !targets.contains(clean) { targets.append(clean) }
        }
        // Walked in the walker's order: the first target on top of the stack.
        pending = targets.sorted { $0.lexicographicallyPrecedes($1) }.reversed().map { Work.directory(path: $0, device: nil) }
        pthread_mutex_lock(mutex)
        for _ in 0..<Self.threads where OSThread.start(stackSize: 256 * 1024, detached: true, { [self] in run() }) != nil {
            running += 1
        }
        let none = running == 0
        pthread_mutex_unlock(mutex)
        if none { cache?.prefetchFinished() }
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// Ends the walk early; it also ends by itself once it has seen every entry.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks until every thread has ended.
    public func waitUntilFinished() {
        pthread_mutex_lock(mutex)
        while running > 0 { pthread_cond_wait(changed, mutex) }
        pthread_mutex_unlock(mutex)
    }

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    private func run() {
        var scratch = Scratch()
        pthread_mutex_lock(mutex)
        while true {
            while pending.isEmpty && busy > 0 && !isStopped { pthread_cond_wait(changed, mutex) }
            if isStopped || pending.isEmpty { break }
            let work = pending.removeLast()
            busy += 1
            pthread_mutex_unlock(mutex)
            let found = perform(work, &scratch)
            pthread_mutex_lock(mutex)
            busy -= 1
            // Reversed: the first subdirectory in the walker's order is taken next.
            pending += found.reversed()
            if !found.isEmpty || (busy == 0 && pending.isEmpty) { pthread_cond_broadcast(changed) }
        }
        running -= 1
        let last = running == 0
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        if last { cache?.prefetchFinished() }
    }

    /// What one thread reuses from directory to directory.
    private struct Scratch {
        var builder = ScannedDirectoryBuilder()
        /// Whether inotify sees every change on a device's file system.
        var local: [UInt64: Bool] = [:]
    }

    /// Does one piece of work; returns the subdirectories it found, in the walker's order.
    private func perform(_ work: Work, _ scratch: inout Scratch) -> [Work] {
        let scan: DirectoryScan, part: Int
        switch work {
        case .directory(let path, let device):
            guard let opened = DirectoryScan(path: path, rootDevice: device, cache: cache, local: &scratch.local) else {
                return []
            }
            scan = opened
            part = 0
            if scan.parts > 1 {
                // The other parts go on top of the stack, for idle threads to take now.
                pthread_mutex_lock(mutex)
                pending += (1..<scan.parts).reversed().map { Work.part(scan, $0) }
                pthread_cond_broadcast(changed)
                pthread_mutex_unlock(mutex)
            }
        case .part(let opened, let index):
            scan = opened
            part = index
        }
        let result = scan.scan(part, builder: &scratch.builder, oneFileSystem: oneFileSystem,
                               isExcluded: isExcluded, stop: { isStopped })
        guard let subdirectories = scan.complete(part, result, builder: scratch.builder) else { return [] }
        let device = scan.rootDevice
        return subdirectories.map { Work.directory(path: $0, device: device) }
    }

    private func isExcluded(_ path: [UInt8]) -> Bool {
        SourceFS.isExcluded(path, by: excludes)
    }
}
