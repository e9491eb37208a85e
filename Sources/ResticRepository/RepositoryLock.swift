#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import CartaeSync

/// restic's lock protocol: a lock file in `locks/`, exclusive for writers that delete data,
/// shared otherwise, refreshed every five minutes while held and removed at the end.
public enum RepositoryLock {
    /// A lock older than this is stale and may be removed by `unlock`.
    public static let staleAge: Int64 = 30 * 60
    static let refreshInterval: Duration = .seconds(5 * 60)

    /// Runs `body` while holding a lock; the lock is refreshed in the background and removed
    /// when `body` ends, however it ends. `retryFor` waits for a conflicting lock to go away.
    public static func withLock<T>(_ repository: Repository, exclusive: Bool, retryFor: Duration? = nil,
                                   _ body: () async throws -> T) async throws -> T {
        // The refresh task replaces the lock file; the box always names the current one, so
        // the right file is removed however `body` ends.
        let held = HeldLock(try await acquire(repository, exclusive: exclusive, retryFor: retryFor))
        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await refreshLoop(repository, exclusive: exclusive, held: held) }
                defer { group.cancelAll() }
                let value = try await body()
                group.cancelAll()
                while (try? await group.next()) != nil {}
                return value
            }
            await release(repository, held.id)
            return result
        } catch {
            await release(repository, held.id)
            throw error
        }
    }

    /// The ID of the lock file this process currently holds.
    final class HeldLock: Sendable {
        private let current: Locked<ObjectID>
        init(_ id: ObjectID) { current = Locked(id) }
        var id: ObjectID {
            get { current.withLock { $0 } }
            set { current.withLock { $0 = newValue } }
        }
    }

    /// Removes our lock file even when the command was cancelled (SIGINT): the removal runs in
    /// a task of its own, which does not inherit the cancellation a remote backend's request
    /// would otherwise stop at.
    static func release(_ repository: Repository, _ id: ObjectID) async {
        await Task { try? await repository.backend.remove(FileHandle(.lock, id)) }.value
    }

    /// Writes our lock after checking for conflicts, then checks again (another process may
    /// have raced us) and backs off if there is one.
    public static func acquire(_ repository: Repository, exclusive: Bool, retryFor: Duration? = nil) async throws -> ObjectID {
        let clock = ContinuousClock()
        let deadline = clock.now + (retryFor ?? .zero)
        var wait: Duration = .seconds(5)
        while true {
            let ours = try await write(repository, exclusive: exclusive, retryFor: max(.zero, deadline - clock.now))
            do {
                try await Task.sleep(for: confirmationDelay(for: repository))
                try await checkConflicts(repository, exclusive: exclusive, ignoring: ours)
                return ours
            } catch let error as ResticError where error.kind == .locked && clock.now < deadline {
                await release(repository, ours)
                try await Task.sleep(for: min(wait, deadline - clock.now))
                wait = min(wait * 2, .seconds(60))
            } catch {
                // Interrupted while waiting, the lock must not stay behind either.
                await release(repository, ours)
                throw error
            }
        }
    }

    static func makeLock(exclusive: Bool) -> LockFile {
        LockFile(time: GoTime.now(), exclusive: exclusive, hostname: KeyRing.currentHostName(),
                 username: KeyRing.currentUserName(), pid: Int(getpid()), uid: getuid(), gid: getgid())
    }

    /// Every other lock, with its ID; unreadable or empty lock files are skipped.
    public static func list(_ repository: Repository) async throws -> [(ObjectID, LockFile)] {
        var locks: [(ObjectID, LockFile)] = []
        for id in try await repository.list(.lock) {
            guard let bytes = try? await repository.loadUnpacked(.lock, id), !bytes.isEmpty,
                  let lock = try? LockFile.decode(bytes) else { continue }
            locks.append((id, lock))
        }
        return locks
    }

    static func checkConflicts(_ repository: Repository, exclusive: Bool, ignoring ours: ObjectID?) async throws {
        for (id, lock) in try await list(repository) where id != ours {
            if exclusive || lock.exclusive {
                let age = GoTime.now().seconds - lock.time.seconds
                throw ResticError(.locked, """
                    repository is already locked \(lock.exclusive ? "exclusively " : "")by PID \(lock.pid) on \(lock.hostname) by \(lock.username) (UID \(lock.uid), GID \(lock.gid))
                    lock was created at \(lock.time.rfc3339) (\(age)s ago)
                    storage ID \(id.shortHex)
                    the `unlock` command can be used to remove stale locks
                    """)
            }
        }
    }

    /// True when every lock in the repository is this process's own or stale, so no other live
    /// process can be writing packs it has not indexed yet. An unreadable lock counts as live.
    public static func noOtherLiveLock(_ repository: Repository) async throws -> Bool {
        let pid = Int(getpid()), host = KeyRing.currentHostName()
        for id in try await repository.list(.lock) {
            guard let bytes = try? await repository.loadUnpacked(.lock, id) else { return false }
            if bytes.isEmpty { continue }
            guard let lock = try? LockFile.decode(bytes) else { return false }
            if !(lock.pid == pid && lock.hostname == host) && !isStale(lock) { return false }
        }
        return true
    }

    /// Replaces the lock file with a fresh one every five minutes, keeping `held` up to date.
    static func refreshLoop(_ repository: Repository, exclusive: Bool, held: HeldLock) async throws {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: refreshInterval)
            } catch {
                return
            }
            let fresh = try await repository.saveUnpacked(.lock, makeLock(exclusive: exclusive).encode())
            let old = held.id
            held.id = fresh
            try? await repository.backend.remove(FileHandle(.lock, old))
        }
    }

    /// True when a lock is stale: old, or made on this host by a process that no longer exists.
    public static func isStale(_ lock: LockFile, now: GoTime = GoTime.now()) -> Bool {
        if now.seconds - lock.time.seconds > staleAge { return true }
        guard lock.hostname == KeyRing.currentHostName() else { return false }
        // restic probes with SIGHUP; signal 0 asks the same question without side effects.
        return kill(pid_t(lock.pid), 0) != 0 && errno == ESRCH
    }
}

extension RepositoryLock {
    /// `unlock`: removes stale locks, or every lock with `all`; returns how many went.
    public static func removeLocks(_ repository: Repository, all: Bool) async throws -> Int {
        var removed = 0
        for id in try await repository.list(.lock) {
            let lock = try? LockFile.decode(try await repository.loadUnpacked(.lock, id))
            // An unreadable lock file blocks nobody useful; only --remove-all clears it.
            guard all || (lock.map { isStale($0) } ?? false) else { continue }
            try await repository.backend.remove(FileHandle(.lock, id))
            removed += 1
        }
        return removed
    }
}
