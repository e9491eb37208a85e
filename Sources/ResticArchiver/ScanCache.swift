#if canImport(Glibc)
import Glibc
#endif
import CartaeSync

/// What the metadata prefetch read, kept for the walker: per directory its sorted names, each
/// entry's lstat, extended attributes and link target (`ScannedDirectory`), so the walker
/// makes no system call for the entries of a directory found here (two for the directory: it
/// reads the event queue and ends the directory's watch). Bounded (past the limits the prefetch only
/// warms the kernel's caches) and take-once: the walker removes what it uses, so memory falls
/// as the walk proceeds.
///
/// Data read before the backup proper must not hide a change made before the walker gets
/// there: each cached directory has an inotify watch, set before it is listed, and any event
/// on it (an entry written, its metadata or extended attributes changed, created, removed,
/// renamed; the directory itself moved or removed) drops the listing, as does a full event
/// queue. Where inotify sees nothing (writes through a shared mapping, a hard link written
/// through another directory, changes made by another host on a network file system) the
/// walker does not trust the cache: entries with several links are read again, only local
/// file systems are cached, and a listing older than `Limits.maxAge` is dropped.
public final class ScanCache: Sendable {
    public struct Limits: Sendable {
        /// Entries cached at once (a directory counts as one more).
        public var entries: Int
        /// Bytes cached at once, by `ScannedDirectory` size plus a per-directory overhead.
        public var bytes: Int
        /// inotify watches held at once: one per cached directory; the system-wide budget per
        /// user (fs.inotify.max_user_watches) is shared with other programs.
        public var watches: Int
        /// A listing older than this (nanoseconds) when the walker reaches it is read again.
        public var maxAge: UInt64

        public init(entries: Int = 150_000, bytes: Int = 16 << 20, watches: Int = 32_768,
                    maxAge: UInt64 = 10_000_000_000) {
            self.entries = entries
            self.bytes = bytes
            self.watches = watches
            self.maxAge = maxAge
        }
    }

    public struct Statistics: Sendable, Equatable {
        /// Held now.
        public var directories = 0, entries = 0, bytes = 0
        /// Most held at once.
        public var peakEntries = 0, peakBytes = 0
        /// Directories stored over the run, and their entries and bytes.
        public var stored = 0, storedEntries = 0, storedBytes = 0
        /// Directories listed but not stored: over the limits, not cacheable, or changed meanwhile.
        public var skipped = 0
        /// Walker look-ups: served from the cache; not there; there but dropped (listed through
        /// another path, or too old).
        public var hits = 0, misses = 0, dropped = 0
        /// Listings dropped by inotify events.
        public var invalidated = 0
    }

    public let limits: Limits
    /// `limits.watches`, but at most a quarter of what the system allows per user.
    private let watchBudget: Int
    private let notify: Int32
    private let state = Locked(State())
    /// Held while the walker reads the event queue and applies it, so a look-up that starts
    /// after another's read waits until what it read is applied.
    private let draining = Locked(())

    private struct Stored {
        var directory: ScannedDirectory
        /// Where the prefetch listed it: the same directory seen through another path (a bind
        /// mount) may show other file systems mounted on its entries.
        var path: [UInt8]
        var watch: Int32
        var cost: Int
    }

    /// A directory by device and inode: cheaper to hash than its path.
    struct Key: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private struct State: ~Copyable {
        var directories: [Key: Stored] = [:]
        /// The directory of each stored listing's watch.
        var watches: [Int32: Key] = [:]
        /// Watches with events before their listing was stored (or after it was taken).
        var orphans: Set<Int32> = []
        /// Directories the walker reached first while the prefetch was still running.
        var taken: Set<Key> = []
        var prefetching = true
        /// After a queue overflow or `close`: nothing more is cached.
        var disabled = false
        /// After `close`: the walk is over, the prefetch may stop too.
        var closed = false
        var statistics = Statistics()

        mutating func remove(_ key: Key) -> Stored? {
            guard let stored = directories.removeValue(forKey: key) else { return nil }
            watches[stored.watch] = nil
            statistics.directories -= 1
            statistics.entries -= stored.directory.count + 1
            statistics.bytes -= stored.cost
            return stored
        }
    }

    public init(limits: Limits = Limits()) {
        self.limits = limits
        watchBudget = min(limits.watches, (Self.systemWatchLimit() ?? 8192) / 4)
        notify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if notify < 0 { state.withLock { $0.disabled = true } }
    }

    deinit {
        if notify >= 0 { Glibc.close(notify) }
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Drops everything and stops caching: the walk is over.
    public func close() {
        state.withLock { state in
            state.disabled = true
            state.closed = true
            state.directories = [:]
            state.watches = [:]
            state.orphans = []
            state.taken = []
            state.statistics.directories = 0
            state.statistics.entries = 0
            state.statistics.bytes = 0
        }
    }

    // MARK: prefetch side

    enum Plan { case skip, warm, cache(watch: Int32) }

    /// What the prefetch should do with `path`: skip it (the walk is over), only warm it (no
    /// room), or cache it under a watch set now, before the listing starts, so that a change
    /// from here on is seen.
    func plan(_ path: [UInt8]) -> Plan {
        let room: Bool? = state.withLock { state in
            if state.closed { return nil }
            let s = state.statistics
            return !state.disabled && s.entries < limits.entries && s.bytes < limits.bytes
                && state.directories.count < watchBudget
        }
        guard let room else { return .skip }
        guard room else { return .warm }
        let mask = UInt32(IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
                          | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)
        let wd = SourceFS.withCString(path) { inotify_add_watch(notify, $0, mask) }
        return wd >= 0 ? .cache(watch: wd) : .warm
    }

    /// Whether the walker has not listed the directory itself yet (nor finished the walk).
    func wanted(device: UInt64, inode: UInt64) -> Bool {
        state.withLock { !$0.closed && !$0.taken.contains(Key(device: device, inode: inode)) }
    }

    /// Keeps a listing made under `watch`, unless it changed meanwhile, the walker took the
    /// directory already, or it would pass the limits.
    func store(_ directory: ScannedDirectory, path: [UInt8], watch: Int32) {
        let cost = directory.bytes.count + path.count + Self.overhead
        let key = Key(device: directory.device, inode: directory.inode)
        let kept = state.withLock { state in
            let changed = state.orphans.remove(watch) != nil
            let s = state.statistics
            // A watch already in use: the same directory under two paths (a bind mount). Ending
            // it below drops the other listing too (IN_IGNORED): neither is kept.
            guard !changed, !state.disabled, state.watches[watch] == nil, !state.taken.contains(key),
                  state.directories[key] == nil,
                  s.entries + directory.count + 1 <= limits.entries, s.bytes + cost <= limits.bytes else {
                state.statistics.skipped += 1
                return false
            }
            state.directories[key] = Stored(directory: directory, path: path, watch: watch, cost: cost)
            state.watches[watch] = key
            state.statistics.directories += 1
            state.statistics.entries += directory.count + 1
            state.statistics.bytes += cost
            state.statistics.peakEntries = max(state.statistics.peakEntries, state.statistics.entries)
            state.statistics.peakBytes = max(state.statistics.peakBytes, state.statistics.bytes)
            state.statistics.stored += 1
            state.statistics.storedEntries += directory.count
            state.statistics.storedBytes += cost
            return true
        }
        if !kept { unwatch(watch) }
    }

    /// A listing under `watch` that will not be stored.
    func abandon(_ watch: Int32) {
        state.withLock { $0.statistics.skipped += 1 }
        unwatch(watch)
    }

    /// Ends a watch no listing needs any more: a busy directory's events stop coming, and the
    /// per-user watch budget is given back as the walk proceeds.
    private func unwatch(_ watch: Int32) {
        _ = inotify_rm_watch(notify, watch)
    }

    /// The prefetch has ended: the walker no longer needs to say what it took.
    func prefetchFinished() {
        state.withLock { state in
            state.prefetching = false
            state.taken = []
            state.orphans = []
        }
    }

    var isPrefetching: Bool { state.withLock { $0.prefetching } }

    /// Dictionary slot, path and array headers of one cached directory, roughly.
    static let overhead = 96

    // MARK: walker side

    /// The listing of the directory at `path` whose lstat gave `device` and `inode`, removed
    /// from the cache; nil when the walker must list it itself.
    func take(_ path: [UInt8], device: UInt64, inode: UInt64) -> ScannedDirectory? {
        let (directory, watch): (ScannedDirectory?, Int32?) = draining.withLock { _ in
            // Nothing stored, nothing to drop: the queue can wait (events stay queued).
            let empty = state.withLock { $0.directories.isEmpty }
            if !empty { drainEvents() }
            return state.withLock { state in
                let key = Key(device: device, inode: inode)
                // Taken once: a listing of the same directory the prefetch makes later, through
                // another path, is not kept (its watch is the one removed below).
                if state.prefetching { state.taken.insert(key) }
                guard let stored = state.remove(key) else {
                    state.statistics.misses += 1
                    return (nil, nil)
                }
                let directory = stored.directory
                guard stored.path == path, Self.now() &- directory.listedAt <= limits.maxAge else {
                    state.statistics.dropped += 1
                    return (nil, stored.watch)
                }
                state.statistics.hits += 1
                return (directory, stored.watch)
            }
        }
        if let watch { unwatch(watch) }
        return directory
    }

    /// Reads the inotify events queued so far and applies them: each drops its directory's
    /// listing, or marks the watch of a listing not stored yet.
    private func drainEvents() {
        guard notify >= 0 else { return }
        let eventSize = MemoryLayout<inotify_event>.size
        withUnsafeTemporaryAllocation(byteCount: 8192, alignment: 8) { buffer in
            while true {
                let n = read(notify, buffer.baseAddress, buffer.count)
                guard n > 0 else { return }
                var dropped: [Int32] = []
                state.withLock { state in
                    var at = 0
                    while at + eventSize <= n {
                        let wd = buffer.loadUnaligned(fromByteOffset: at, as: Int32.self)
                        let mask = buffer.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)
                        let length = Int(buffer.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
                        at += eventSize + length
                        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                            overflowed(&state)
                        } else if let key = state.watches[wd] {
                            // Any event, IN_IGNORED too: then the kernel dropped the watch itself.
                            if state.remove(key) != nil {
                                state.statistics.invalidated += 1
                                dropped.append(wd)
                            }
                        } else if state.prefetching {
                            // A listing not stored yet, or a watch already ended: IN_IGNORED
                            // too, as a listing in progress may share the watch ended.
                            state.orphans.insert(wd)
                        }
                    }
                }
                for wd in dropped { unwatch(wd) }
            }
        }
    }

    /// Events were lost: no listing can be trusted.
    private func overflowed(_ state: inout State) {
        state.statistics.invalidated += state.directories.count
        state.directories = [:]
        state.watches = [:]
        state.disabled = true
        state.statistics.directories = 0
        state.statistics.entries = 0
        state.statistics.bytes = 0
    }

    /// fs.inotify.max_user_watches: the watches all programs of this user may hold together.
    static func systemWatchLimit() -> Int? {
        let fd = open("/proc/sys/fs/inotify/max_user_watches", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return Int(String(decoding: buffer[0..<n].prefix { (48...57).contains($0) }, as: UTF8.self))
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
