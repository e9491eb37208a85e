import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Exit 130 on SIGINT for restore, check and dr (backup and prune are covered by the crash
/// tests): one `Fatal: interrupted` line, locks removed, children stopped.
///
/// No timing: the command is frozen with SIGSTOP at a point it has provably reached (its
/// target file or lock exists) and provably not finished (the kernel shows it stopped, not
/// exited), then SIGINT is queued and it is let go. `dr` needs no freezing: it waits on a child
/// that never finishes.
@Suite("exit code 130")
struct ExitCodesInterruptTests {
    /// 24 MiB: two data packs, so restore and `check --read-data` have work left when frozen.
    static let size = 24 << 20

    /// A repository holding one snapshot of a folder with a large random file.
    static func repository(_ dir: URL) async throws -> (repo: String, source: String) {
        let repo = try await WriteRepo.ours(in: dir)
        let source = dir.appendingPathComponent("src").path
        try TreeGenerator.makeDirectory(source)
        try TreeGenerator.write(source + "/big.bin", TreeGenerator.randomBytes(size, seed: 130))
        let backup = try Harness.ours(["backup", "-q", source], repo: repo)
        try #require(backup.status == 0, "\(backup.stderr)")
        return (repo, source)
    }

    /// The process state letter from /proc/PID/stat ("R", "S", "T", "Z"…), nil once reaped.
    static func state(_ pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    /// Whether the process catches SIGINT yet (SigCgt in /proc/PID/status): before main
    /// installs its handler a SIGINT would just kill it.
    static func catchesSIGINT(_ pid: Int32) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & (1 << UInt64(SIGINT - 1)) != 0
    }

    /// Freezes the process, makes sure it is still alive, queues SIGINT and lets it go.
    static func interrupt(_ process: Spawned) throws {
        let pid = process.process.processIdentifier
        let ready = try waitUntil(timeout: .seconds(60)) { catchesSIGINT(pid) || !process.isRunning }
        guard ready, process.isRunning else {
            throw HarnessError("the command ended before it could be interrupted: \(process.stderr)")
        }
        kill(pid, SIGSTOP)
        let frozen = try waitUntil(timeout: .seconds(10)) { ["T", "t"].contains(state(pid)) || !process.isRunning }
        guard frozen, process.isRunning else {
            throw HarnessError("the command ended before it could be interrupted (status \(process.process.terminationStatus)): \(process.stderr)")
        }
        kill(pid, SIGINT)
        kill(pid, SIGCONT)
    }

    static func expectInterrupted(_ process: Spawned, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let status = process.wait()
        let result = Harness.Result(status: status, stdout: process.stdout, stderr: process.stderr)
        Hardening.expectOneError(result, status: 130, naming: ["interrupted"], what, sourceLocation: sourceLocation)
        #expect(process.process.terminationReason == .exit, "\(what) was killed by the signal instead of exiting",
                sourceLocation: sourceLocation)
    }

    @Test("restore: SIGINT while writing files exits 130")
    func restore() async throws {
        let dir = try TempDir.make("cartae-int-restore")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (repo, source) = try await Self.repository(dir)
        let target = dir.appendingPathComponent("target").path
        let restore = try Spawned.ours(["restore", "latest", "--verify", "--target", target], repo: repo)
        // The file is created (at its final size) before any data is written.
        let started = try waitUntil(timeout: .seconds(60)) { FileManager.default.fileExists(atPath: target + source + "/big.bin") || !restore.isRunning }
        try #require(started && restore.isRunning, "restore did not start writing: \(restore.stderr)")
        try Self.interrupt(restore)
        Self.expectInterrupted(restore, "restore")
        #expect(WriteRepo.files(repo, "locks").isEmpty)
    }

    @Test("check --read-data: SIGINT after taking its lock exits 130 and removes the lock")
    func check() async throws {
        let dir = try TempDir.make("cartae-int-check")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (repo, _) = try await Self.repository(dir)
        let check = try Spawned.ours(["check", "--read-data"], repo: repo)
        // check writes its exclusive lock, then waits 200 ms before reading anything.
        let locked = try waitUntil(timeout: .seconds(60)) { !WriteRepo.files(repo, "locks").isEmpty || !check.isRunning }
        try #require(locked && check.isRunning, "check did not lock: \(check.stderr)")
        try Self.interrupt(check)
        Self.expectInterrupted(check, "check")
        #expect(WriteRepo.files(repo, "locks").isEmpty, "check left its lock")
        #expect(try WriteRepo.restic(repo, ["check"]).status == 0)
    }

    @Test("check waiting for a lock (--retry-lock): SIGINT exits 130 and leaves the other lock alone")
    func checkWaitingForLock() async throws {
        let dir = try TempDir.make("cartae-int-wait")
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(in: dir)
        let holder = try LockHolder.start(repo: repo)
        defer { holder.stop() }
        let theirs = WriteRepo.files(repo, "locks")
        try #require(theirs.count == 1)
        let check = try Spawned.ours(["check", "--retry-lock", "5m"], repo: repo)
        // However far it got (opening, or backing off from the shared lock), it cannot finish.
        try Self.interrupt(check)
        Self.expectInterrupted(check, "check --retry-lock")
        #expect(WriteRepo.files(repo, "locks") == theirs)
    }

    @Test("dr backup and dr restore: SIGINT while pg_dump / pg_restore runs exits 130, stops the child, writes nothing")
    func dr() throws {
        let dir = try TempDir.make("cartae-int-dr")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tools = try FakeDBTools.install(in: dir)
        let repo = dir.appendingPathComponent("repo").path
        let pidFile = dir.appendingPathComponent("child.pid").path
        var environment = ["PATH": FakeDBTools.path(tools), "FAKE_TOOL_LOG": dir.appendingPathComponent("tools.log").path,
                           "FAKE_TOOL_BLOCK_PIDFILE": pidFile, "POSTGRES_DB": "shop", "RESTIC_HOST": "int-host",
                           "RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD": WriteRepo.password,
                           "LOG_DIR": dir.appendingPathComponent("logs").path]
        // A snapshot to restore, made while nothing blocks.
        let made = try Harness.ours(["dr", "backup", "postgres", "--env-file", "/dev/null"], environment: environment)
        try #require(made.status == 0, "\(made.out) \(made.stderr)")

        for (tool, arguments) in [("pg_dump", ["backup", "postgres"]), ("pg_restore", ["restore", "postgres", "latest", "--target-db", "copy"])] {
            try? FileManager.default.removeItem(atPath: pidFile)
            environment["FAKE_TOOL_BLOCK"] = tool
            let snapshots = WriteRepo.files(repo, "snapshots")
            let run = try Spawned(Harness.binary, ["dr"] + arguments + ["--env-file", "/dev/null"], environment: environment)
            let waiting = try waitUntil(timeout: .seconds(60)) {
                ((try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) != nil
                    || !run.isRunning
            }
            try #require(waiting && run.isRunning, "\(tool) was never started: \(run.stderr)")
            let child = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
            try Self.interrupt(run)
            Self.expectInterrupted(run, "dr \(arguments[0])")
            // Gone, or a zombie waiting for init to reap it: either way no longer running.
            #expect(try waitUntil(timeout: .seconds(20)) { [nil, "Z", "X"].contains(Self.state(child)) },
                    "\(tool) (PID \(child)) still runs after dr exited")
            #expect(WriteRepo.files(repo, "locks").isEmpty, "dr \(arguments[0]) left its lock")
            #expect(WriteRepo.files(repo, "snapshots") == snapshots, "an interrupted dr \(arguments[0]) changed the snapshots")
        }
    }
}
