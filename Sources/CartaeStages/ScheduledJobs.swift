#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// What `dr schedule` runs: this very program (`dr backup all`, `dr check`, `dr prune`) as a
/// child process whose output goes to `LOG_DIR/backup_YYYYMMDD_HHMMSS.log`, so every run has
/// its own log and a crash in a run cannot take the scheduler down.
public struct ScheduledJobs: Sendable {
    public let executable: String
    public let envFile: String?
    public let logDir: String
    let console: DRConsole

    public init(executable: String, envFile: String?, logDir: String, console: DRConsole) {
        self.executable = executable
        self.envFile = envFile
        self.logDir = logDir
        self.console = console
    }

    /// The three jobs of a configuration, in the order they run when due together.
    public static func jobs(_ config: DRConfig) -> [ScheduledJob] {
        [ScheduledJob(name: "backup", expression: config.backupSchedule),
         ScheduledJob(name: "check", expression: config.checkSchedule),
         ScheduledJob(name: "prune", expression: config.pruneSchedule)]
    }

    public func arguments(for job: ScheduledJob) -> [String] {
        let command: [String]
        switch job.name {
        case "backup": command = ["dr", "backup", "all"]
        case "check": command = ["dr", "check"]
        default: command = ["dr", "prune"]
        }
        return command + (envFile.map { ["--env-file", $0] } ?? [])
    }

    public static func logPath(_ logDir: String, started: Int64) -> String {
        logDir + "/backup_" + UTCCalendar.stamp(started) + ".log"
    }

    /// The absolute path of the running executable.
    public static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return CommandLine.arguments[0]
    }

    /// Runs one job to its end with stdout and stderr appended to its log file.
    public func execute(_ job: ScheduledJob, started: Int64) async -> Bool {
        let path = Self.logPath(logDir, started: started)
        do {
            try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        } catch {
            console.warning("schedule: cannot create \(logDir): \(error)")
            return false
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            console.warning("schedule: cannot open \(path): \(String(cString: strerror(errno)))")
            return false
        }
        defer { close(fd) }
        let arguments = arguments(for: job)
        Self.append(fd, "# \(UTCCalendar.format(started)): cartae-restic \(arguments.joined(separator: " "))\n")
        console.info("schedule: \(job.name) running, log \(path)")
        let status: TerminationStatus
        do {
            status = try await Subprocess.run(.path(FilePath(executable)), arguments: Arguments(arguments),
                                              environment: .inherit, input: .none,
                                              output: .fileDescriptor(FileDescriptor(rawValue: fd), closeAfterSpawningProcess: false),
                                              error: .combinedWithOutput).terminationStatus
        } catch {
            Self.append(fd, "# could not start: \(error)\n")
            return false
        }
        let ended = Int64(Date().timeIntervalSince1970)
        Self.append(fd, "# \(UTCCalendar.format(ended)): \(status.isSuccess ? "succeeded" : "failed (\(status))")\n")
        return status.isSuccess
    }

    static func append(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
