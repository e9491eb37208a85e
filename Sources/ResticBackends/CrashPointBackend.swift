#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import CartaeSync

/// Testing hooks for the crash-consistency tests; every one is off unless its environment
/// variable is set, and each is read once per process.
///
/// - `CARTAE_CRASH_AFTER_WRITES=N`: the N-th mutating backend operation of the process (a save
///   or a remove, counted as they complete, across every backend the process opens) finishes,
///   then the process sends itself SIGKILL: a `kill -9` at exactly that instant, no cleanup.
/// - `CARTAE_CRASH_SIGNAL=INT|TERM|STOP`: send that signal at the N-th operation instead, an
///   interrupt at a known point: the operation returns only after the signal handler has had
///   time to run, and the run stops as it would on Ctrl-C. STOP pauses the process there (a
///   test resumes it with SIGCONT), so another process can run at a known point of this one.
/// - `CARTAE_CRASH_AFTER_WRITES=count`: kill nothing, only log.
/// - `CARTAE_CRASH_LOG=FILE`: append one line per completed operation (`save data/ab…`,
///   `remove index/…`) to FILE, so a test learns how many points a run has and what each is.
/// - `CARTAE_TEST_PACK_SIZE=BYTES`: the target pack size, below restic's 4 MiB minimum, so a
///   few MiB of test data make dozens of packs (dozens of crash points).
public enum CrashPoint {
    /// Wraps a backend stack in the counting decorator when the hook is on.
    public static func wrap(_ opened: OpenedBackend) -> OpenedBackend {
        guard let trigger else { return opened }
        return OpenedBackend(backend: CrashPointBackend(opened.backend, trigger: trigger), statistics: opened.statistics)
    }

    /// `CARTAE_TEST_PACK_SIZE` in bytes (at least 1 KiB), or nil.
    public static let packSizeOverride: Int? = {
        guard let text = variable("CARTAE_TEST_PACK_SIZE"), let bytes = Int(text), bytes >= 1024 else { return nil }
        return bytes
    }()

    static let trigger: CrashTrigger? = {
        guard let mode = variable("CARTAE_CRASH_AFTER_WRITES") else { return nil }
        let limit: Int?
        if mode == "count" {
            limit = nil
        } else if let n = Int(mode), n > 0 {
            limit = n
        } else {
            warn("CARTAE_CRASH_AFTER_WRITES=\(mode) ignored: use a positive number or \"count\"")
            return nil
        }
        let signal: Int32
        switch variable("CARTAE_CRASH_SIGNAL") ?? "KILL" {
        case "INT": signal = SIGINT
        case "TERM": signal = SIGTERM
        case "STOP": signal = SIGSTOP
        default: signal = SIGKILL
        }
        var log: Int32 = -1
        if let path = variable("CARTAE_CRASH_LOG") {
            log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            if log < 0 { warn("CARTAE_CRASH_LOG: cannot open \(path)") }
        }
        return CrashTrigger(limit: limit, signal: signal, log: log)
    }()

    static func variable(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    static func warn(_ message: String) {
        let line = Array("cartae-restic: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// Counts completed operations for the whole process and fires at the chosen one.
final class CrashTrigger: Sendable {
    let limit: Int?
    let signal: Int32
    let log: Int32
    private let count = Locked(0)

    init(limit: Int?, signal: Int32, log: Int32) {
        self.limit = limit
        self.signal = signal
        self.log = log
    }

    /// Called after an operation succeeded. The line is written and the signal sent under the
    /// lock, so no later operation is logged (or completes through this layer) before it.
    func completed(_ operation: String, _ handle: FileHandle) {
        count.withLock { count in
            count += 1
            if log >= 0 {
                let line = Array("\(operation) \(handle.relativePath)\n".utf8)
                _ = line.withUnsafeBytes { write(log, $0.baseAddress, $0.count) }
            }
            guard count == limit else { return }
            CrashPoint.warn("CARTAE_CRASH_AFTER_WRITES: signal \(signal) after operation \(count) (\(operation) \(handle.relativePath))")
            kill(getpid(), signal)
            // A handled signal is delivered to another thread; give its handler time to run, so
            // the run sees the interrupt as arriving during this operation, not some time later.
            if signal != SIGKILL { usleep(200_000) }
        }
    }
}

/// The decorator: passes everything through and reports each completed save and remove.
struct CrashPointBackend: Backend {
    let inner: any Backend
    let trigger: CrashTrigger

    init(_ inner: any Backend, trigger: CrashTrigger) {
        self.inner = inner
        self.trigger = trigger
    }

    var location: String { inner.location }
    func willLoad(_ handle: FileHandle, range: Range<Int>?) { inner.willLoad(handle, range: range) }
    func localPath(_ handle: FileHandle) -> String? { inner.localPath(handle) }
    var connections: Int { inner.connections }

    func save(_ handle: FileHandle, data: [UInt8]) async throws {
        try await inner.save(handle, data: data)
        trigger.completed("save", handle)
    }

    func makeSpool(_ type: FileType) throws -> (any BackendSpool)? { try inner.makeSpool(type) }

    /// Not a crash point: removing leftovers twice is harmless, and counting it would move the
    /// points the crash tests have measured.
    func removeLeftovers(olderThan age: Duration) async throws -> (files: Int, bytes: Int) {
        try await inner.removeLeftovers(olderThan: age)
    }

    func save(_ handle: FileHandle, spool: any BackendSpool) async throws {
        try await inner.save(handle, spool: spool)
        trigger.completed("save", handle)
    }

    func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        try await inner.load(handle, offset: offset, length: length)
    }

    func stat(_ handle: FileHandle) async throws -> Int {
        try await inner.stat(handle)
    }

    func list(_ type: FileType) async throws -> [FileInfo] {
        try await inner.list(type)
    }

    func listNames(_ type: FileType) async throws -> [String] {
        try await inner.listNames(type)
    }

    func remove(_ handle: FileHandle) async throws {
        try await inner.remove(handle)
        trigger.completed("remove", handle)
    }

    func repositoryExists() async throws -> Bool {
        try await inner.repositoryExists()
    }

    func create() async throws {
        try await inner.create()
    }
}
