#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CartaeStages
import Foundation

/// `dr`: the disaster-recovery system built on the engine: PostgreSQL, Redis and volume
/// backups as separate snapshots, restores, a self-test and a scheduler, configured from the
/// environment and a `.env` file.
struct DRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dr", abstract: "Disaster recovery: back up and restore PostgreSQL, Redis and volumes.",
        discussion: """
            Configuration comes from the environment and a .env file (--env-file, default ./.env); the \
            environment wins. See .env.example for every variable. Each stage (postgres: one snapshot per \
            database, redis, volumes) is its own snapshot, tagged with the stage.
            """,
        subcommands: [DRBackupCommand.self, DRRestoreCommand.self, DRTestCommand.self, DRScheduleCommand.self,
                      DRCheckCommand.self, DRPruneCommand.self])
}

/// Options every `dr` subcommand shares.
struct DROptions: ParsableArguments {
    @Option(name: .customLong("env-file"), help: ArgumentHelp("File of KEY=VALUE settings (default: ./.env); the environment wins.", valueName: "file"))
    var envFile: String?

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only warnings, errors and the result.")
    var quiet = false

    var envFilePath: String { envFile ?? ".env" }

    /// The configuration for `stages` (nil: repository only), or exit 1 listing every problem.
    func loadConfig(stages: [StageKind]?, named: Bool) throws -> DRConfig {
        do {
            return try DRConfig.load(environment: ProcessInfo.processInfo.environment, envFile: envFilePath,
                                     explicit: envFile != nil, stages: stages, named: named)
        } catch let error as DRConfigError {
            DRTerminal.error("Fatal: \(error)")
            throw ExitCode(1)
        }
    }

    func console() -> DRConsole {
        let quiet = quiet
        return DRConsole(info: { if !quiet { DRTerminal.print($0) } }, warning: { DRTerminal.error($0) })
    }

    func context(_ config: DRConfig) -> DRContext {
        DRContext(config: config, console: console(), programVersion: "cartae-restic \(CartaeVersion.number)")
    }

    /// The stages a `backup`/`restore` argument names, or a usage error.
    static func stages(_ text: String) throws -> (stages: [StageKind], named: Bool) {
        guard let stages = StageKind.parse(text) else {
            throw ValidationError("unknown stage \"\(text)\" (use all, postgres, redis or volumes)")
        }
        return (stages, text != "all")
    }
}

/// The result table printed after a backup or restore, and the exit status it leads to.
enum DRResultPrinter {
    static func finish(_ result: DRRunResult, verb: String) throws {
        let rows = result.reports.map { report -> [String] in
            [report.label, report.succeeded ? "OK" : "FAILED", report.snapshotID?.shortHex ?? "-",
             SizeFormat.bytes(report.bytes), String(format: "%.1fs", report.durationSeconds)]
        }
        DRTerminal.print("")
        for line in Output.table(["Stage", "Result", "Snapshot", "Size", "Duration"], rows) { DRTerminal.print(line) }
        // Each failure was already reported as a warning when it happened.
        let failed = result.reports.filter { !$0.succeeded }
        // Interrupted: the runner prints the one "Fatal: interrupted" line and exits 130.
        if Task.isCancelled { throw CancellationError() }
        switch result.exitCode {
        case 0: DRTerminal.print("\(verb) succeeded: \(result.reports.count) of \(result.reports.count)")
        case 3: DRTerminal.error("\(verb) partly failed: \(failed.count) of \(result.reports.count) failed")
        default: DRTerminal.error("\(verb) failed")
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

/// Output of the `dr` commands. The stages ignore SIGPIPE (their child processes' pipes must
/// fail with EPIPE, not kill us), and Foundation's FileHandle traps on EPIPE, so these writes
/// go straight to the descriptor and behave like a default SIGPIPE when the reader is gone
/// (`dr backup all | head` ends quietly with status 141, as restic would).
enum DRTerminal {
    static func print(_ text: String) { write(STDOUT_FILENO, text + "\n") }
    static func error(_ text: String) { write(STDERR_FILENO, text + "\n") }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n >= 0 {
                offset += n
            } else if errno == EPIPE {
                signal(SIGPIPE, SIG_DFL)
                raise(SIGPIPE)
                _exit(141)
            } else if errno != EINTR {
                return
            }
        }
    }
}
