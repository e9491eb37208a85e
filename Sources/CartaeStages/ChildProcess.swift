#if canImport(Glibc)
import Glibc
#endif
import Subprocess
import CartaeSync
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// How a child process ended and what it printed.
public struct ProcessOutcome: Sendable {
    public var name: String
    /// The exit code, or nil when a signal ended the process.
    public var exitCode: Int32?
    public var signal: Int32?
    public var stdout: [UInt8]
    public var stderr: String

    public var succeeded: Bool { exitCode == 0 }
    public var output: String { String(decoding: stdout, as: UTF8.self) }

    /// "pg_dump exited with status 1: <its last error line>".
    public var failureDescription: String {
        let how = exitCode.map { "exited with status \($0)" } ?? "was killed by signal \(signal ?? 0)"
        let lines = stderr.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        // The most telling line is usually the last "error"/"FATAL" line, else the last line.
        let telling = lines.last { $0.localizedLowercase.contains("error") || $0.contains("FATAL") } ?? lines.last
        return "\(name) \(how)" + (telling.map { ": \($0)" } ?? "")
    }

    init(name: String, exitCode: Int32?, signal: Int32? = nil, stdout: [UInt8], stderr: String) {
        self.name = name
        self.exitCode = exitCode
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
    }

    init(name: String, status: TerminationStatus, stdout: [UInt8], stderr: String) {
        self.name = name
        switch status {
        case .exited(let code): exitCode = code; signal = nil
        case .signaled(let number): exitCode = nil; signal = number
        }
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Starts the database tools through swift-subprocess. Secrets travel only in the child's
/// environment (PGPASSWORD, REDISCLI_AUTH), never in its arguments, and our own repository
/// password is taken out of the environment children inherit.
enum ChildProcess {
    static let outputLimit = 64 << 20
    static let errorLimit = 8 << 20

    /// The inherited environment without our secrets, plus `extra` (nil values remove).
    static func environment(_ extra: [String: String?]) -> Subprocess.Environment {
        var changes: [Subprocess.Environment.Key: String?] = [:]
        for name in ["RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND", "POSTGRES_PASSWORD", "REDIS_PASSWORD"] {
            if let key = Subprocess.Environment.Key(rawValue: name) { changes[key] = .some(nil) }
        }
        for (name, value) in extra {
            if let key = Subprocess.Environment.Key(rawValue: name) { changes[key] = .some(value) }
        }
        return .inherit.updating(changes)
    }

    /// Runs a program to completion with `input` on its stdin, collecting stdout and stderr.
    static func run(_ name: String, _ arguments: [String], environment extra: [String: String?] = [:],
                    input: [UInt8]? = nil) async throws -> ProcessOutcome {
        do {
            let result: ExecutionResult<Void, BytesOutput, StringOutput<UTF8>>
            if let input {
                result = try await Subprocess.run(.name(name), arguments: Arguments(arguments),
                                                  environment: environment(extra), input: .array(input),
                                                  output: .bytes(limit: outputLimit), error: .string(limit: errorLimit))
            } else {
                result = try await Subprocess.run(.name(name), arguments: Arguments(arguments),
                                                  environment: environment(extra), input: .none,
                                                  output: .bytes(limit: outputLimit), error: .string(limit: errorLimit))
            }
            return ProcessOutcome(name: name, status: result.terminationStatus, stdout: result.standardOutput,
                                  stderr: result.standardError)
        } catch let error as SubprocessError {
            throw launchFailure(name, error)
        }
    }

    /// Runs a program whose stdout goes to `output` (closed in this process once it started)
    /// and whose stdin comes from `input` (likewise), collecting stderr and, unless it goes to a
    /// descriptor, stdout.
    static func run(_ name: String, _ arguments: [String], environment extra: [String: String?] = [:],
                    stdin input: FileDescriptor?, stdout output: FileDescriptor?) async throws -> ProcessOutcome {
        do {
            let env = environment(extra)
            let args = Arguments(arguments)
            switch (input, output) {
            case (let i?, let o?):
                let r = try await Subprocess.run(.name(name), arguments: args, environment: env,
                                                 input: .fileDescriptor(i, closeAfterSpawningProcess: true),
                                                 output: .fileDescriptor(o, closeAfterSpawningProcess: true),
                                                 error: .string(limit: errorLimit))
                return ProcessOutcome(name: name, status: r.terminationStatus, stdout: [], stderr: r.standardError)
            case (let i?, nil):
                let r = try await Subprocess.run(.name(name), arguments: args, environment: env,
                                                 input: .fileDescriptor(i, closeAfterSpawningProcess: true),
                                                 output: .bytes(limit: outputLimit), error: .string(limit: errorLimit))
                return ProcessOutcome(name: name, status: r.terminationStatus, stdout: r.standardOutput, stderr: r.standardError)
            case (nil, let o?):
                let r = try await Subprocess.run(.name(name), arguments: args, environment: env, input: .none,
                                                 output: .fileDescriptor(o, closeAfterSpawningProcess: true),
                                                 error: .string(limit: errorLimit))
                return ProcessOutcome(name: name, status: r.terminationStatus, stdout: [], stderr: r.standardError)
            case (nil, nil):
                return try await run(name, arguments, environment: extra)
            }
        } catch let error as SubprocessError {
            throw launchFailure(name, error)
        }
    }

    static func launchFailure(_ name: String, _ error: SubprocessError) -> StageError {
        if error.code == .executableNotFound {
            return StageError("\(name) not found in PATH (install it: \(installHint(name)))")
        }
        return StageError("\(name): \(error)")
    }

    static func installHint(_ name: String) -> String {
        switch name {
        case "pg_dump", "pg_restore", "psql", "pg_isready", "createdb": return "apt-get install postgresql-client"
        case "redis-cli", "redis-server": return "apt-get install redis-server"
        default: return "apt-get install \(name)"
        }
    }

    /// A pipe whose ends only the child we hand one of them to inherits.
    static func pipe() throws -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else {
            throw StageError("pipe: \(String(cString: strerror(errno)))")
        }
        // Subprocess closes every other descriptor in the children it starts; close-on-exec
        // covers programs started any other way.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// Whether a program can be found on PATH, for self-tests and clear errors up front.
    static func which(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// A value one task produces and others wait for; used to hand a child process's outcome to
/// the archiver's `finish` step while both run in the same task group.
final class Promise<Value: Sendable>: Sendable {
    private let state = Locked<(value: Value?, waiters: [CheckedContinuation<Value, Never>])>((nil, []))

    func fulfill(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value if it is already there.
    var current: Value? { state.withLock { $0.value } }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Value? in
                    if let value = state.value { return value }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
