import Foundation
import CLibcExtras

/// A child process started with posix_spawn and reaped with waitpid on its own PID.
///
/// Foundation's Process is not used for the commands tests run: it learns of a child's exit
/// through a SIGCHLD handler and its own run loop, and in a full parallel run that once missed
/// an exit, leaving `waitUntilExit` blocked on a zombie for good. The child also gets an empty
/// signal mask with default handlers (Foundation passes on the starting thread's blocked
/// signals) and none of the test process's other descriptors: a server started by one test
/// must not hold another test's pipe open.
final class PosixProcess: @unchecked Sendable {
    let processIdentifier: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// `stdin`, `stdout`, `stderr`: descriptors the child gets as 0, 1 and 2.
    init(_ path: String, _ arguments: [String], environment: [String: String], directory: String? = nil,
         stdin: Int32, stdout: Int32, stderr: Int32) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        if let directory { posix_spawn_file_actions_addchdir_np(&actions, directory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw HarnessError("posix_spawn \(path): \(String(cString: strerror(rc)))") }
        processIdentifier = child
    }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if status != nil { return false }
        var raw: Int32 = 0
        if waitpid(processIdentifier, &raw, WNOHANG) == processIdentifier {
            status = raw
            return false
        }
        return true
    }

    /// Blocks until the child has ended and is reaped.
    func waitUntilExit() {
        lock.lock()
        defer { lock.unlock() }
        guard status == nil else { return }
        var raw: Int32 = 0
        while true {
            let result = waitpid(processIdentifier, &raw, 0)
            if result == processIdentifier { status = raw; return }
            if result < 0 && errno != EINTR { status = 0x7f00; return }  // reaped elsewhere: unknown
        }
    }

    /// `.exit` or `.uncaughtSignal`, once ended.
    var terminationReason: Process.TerminationReason {
        waitUntilExit()
        let raw = status ?? 0
        return raw & 0x7f == 0 ? .exit : .uncaughtSignal
    }

    /// The exit code, or the signal's number when a signal ended it (as Foundation's Process).
    var terminationStatus: Int32 {
        waitUntilExit()
        let raw = status ?? 0
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }
}

extension PosixProcess {
    /// A pipe whose ends are closed on exec, so no other child inherits one.
    static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe2(&fds, O_CLOEXEC) == 0 else { throw HarnessError("pipe2: \(String(cString: strerror(errno)))") }
        return (fds[0], fds[1])
    }

    /// Opens `path` for the child's output (created or truncated), closed on exec.
    static func outputFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError("open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    static func nullDevice() throws -> Int32 {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("open /dev/null: \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Writes all of `data` to `fd`, then closes it; a reader that went away ends the write.
    static func writeAll(_ data: Data, to fd: Int32) {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
        close(fd)
    }
}
