import Foundation
import Synchronization
import Testing
@testable import CartaeStages

/// A clock that jumps to each wake-up time instead of waiting, and ends the test run by
/// throwing (as cancellation does) once asked to sleep past `end`.
actor FakeClock: SchedulerClock {
    private(set) var current: Int64
    let end: Int64

    init(start: Int64, end: Int64) {
        current = start
        self.end = end
    }

    func now() -> Int64 { current }

    func sleep(until time: Int64) throws {
        if time > end { throw CancellationError() }
        current = max(current, time)
    }

    func advance(_ seconds: Int64) { current += seconds }
}

@Suite struct SchedulerTests {
    static let t = CronExpressionTests.t
    static let standard = [
        ScheduledJob(name: "backup", expression: try! CronExpression(parsing: "0 2 * * *")),
        ScheduledJob(name: "check", expression: try! CronExpression(parsing: "0 3 * * 0")),
        ScheduledJob(name: "prune", expression: try! CronExpression(parsing: "0 4 1 * *")),
    ]

    /// Runs the scheduler over a fake month; `duration` says how long each run takes.
    static func simulate(_ jobs: [ScheduledJob], from: String, to: String,
                         duration: @escaping @Sendable (String, Int64) -> Int64) async -> [Scheduler.Run] {
        let clock = FakeClock(start: t(from), end: t(to))
        let scheduler = Scheduler(jobs: jobs, clock: clock) { job, started in
            await clock.advance(duration(job.name, started))
            return true
        }
        return await scheduler.run()
    }

    @Test func theDefaultScheduleInUTC() async {
        let runs = await Self.simulate(Self.standard, from: "2024-06-01 00:00", to: "2024-07-01 05:00") { _, _ in 600 }
        let backups = runs.filter { $0.job == "backup" }
        #expect(backups.count == 31)
        #expect(backups.allSatisfy { UTCCalendar.format($0.started).hasSuffix(" 02:00:00 UTC") })
        #expect(runs.filter { $0.job == "check" }.map { UTCCalendar.format($0.started) } == [
            "2024-06-02 03:00:00 UTC", "2024-06-09 03:00:00 UTC", "2024-06-16 03:00:00 UTC",
            "2024-06-23 03:00:00 UTC", "2024-06-30 03:00:00 UTC",
        ])
        #expect(runs.filter { $0.job == "prune" }.map { UTCCalendar.format($0.started) } == [
            "2024-06-01 04:00:00 UTC", "2024-07-01 04:00:00 UTC",
        ])
        #expect(runs.allSatisfy { $0.started == $0.due })
    }

    @Test func aLongRunDelaysTheNextAndNeverOverlaps() async {
        // Sunday 2024-06-02: the backup takes 90 minutes, so the 03:00 check starts at 03:30.
        let runs = await Self.simulate(Self.standard, from: "2024-06-01 12:00", to: "2024-06-02 23:00") { name, started in
            name == "backup" && started == Self.t("2024-06-02 02:00") ? 5400 : 60
        }
        #expect(runs.map(\.job) == ["backup", "check"])
        let check = runs[1]
        #expect(check.due == Self.t("2024-06-02 03:00"))
        #expect(check.started == Self.t("2024-06-02 03:30"))
        for (a, b) in zip(runs, runs.dropFirst()) { #expect(a.ended <= b.started) }
    }

    @Test func missedFiresRunOnceNotOncePerMiss() async {
        // An hourly job that takes 3.5 hours runs right after itself, once, not three times over.
        let hourly = [ScheduledJob(name: "backup", expression: try! CronExpression(parsing: "0 * * * *"))]
        let runs = await Self.simulate(hourly, from: "2024-01-01 00:30", to: "2024-01-01 10:00") { _, _ in 12600 }
        #expect(runs.map { UTCCalendar.format($0.started) } == [
            "2024-01-01 01:00:00 UTC", "2024-01-01 05:00:00 UTC", "2024-01-01 09:00:00 UTC",
        ])
        #expect(runs.map(\.due) == [Self.t("2024-01-01 01:00"), Self.t("2024-01-01 05:00"), Self.t("2024-01-01 09:00")])
    }

    @Test func jobsDueTogetherRunInOrder() async {
        let same = try! CronExpression(parsing: "0 2 * * *")
        let jobs = [ScheduledJob(name: "backup", expression: same), ScheduledJob(name: "check", expression: same),
                    ScheduledJob(name: "prune", expression: same)]
        let runs = await Self.simulate(jobs, from: "2024-01-01 00:00", to: "2024-01-01 12:00") { _, _ in 60 }
        #expect(runs.map(\.job) == ["backup", "check", "prune"])
        #expect(runs.map { $0.started - Self.t("2024-01-01 02:00") } == [0, 60, 120])
    }

    /// SIGTERM (task cancellation) during a run: the run ends normally, nothing else starts.
    @Test func cancellationLetsTheCurrentRunFinish() async throws {
        let clock = FakeClock(start: Self.t("2024-01-01 01:59"), end: Self.t("2025-01-01 00:00"))
        let started = AsyncStream<Void>.makeStream()
        let finished = Atomic<Bool>(false)
        let scheduler = Scheduler(jobs: Self.standard, clock: clock) { _, _ in
            started.continuation.yield()
            try? await Task.sleep(for: .milliseconds(300))
            finished.store(true, ordering: .sequentiallyConsistent)
            return true
        }
        let task = Task { await scheduler.run() }
        var iterator = started.stream.makeAsyncIterator()
        await iterator.next()
        task.cancel()
        let runs = await task.value
        let completed = finished.load(ordering: .sequentiallyConsistent)
        #expect(completed)
        #expect(runs.count == 1)
        #expect(runs.first?.job == "backup")
    }

    @Test func logFileNamesAndArguments() throws {
        let config = try DRConfig.load(environment: ["RESTIC_REPOSITORY": "/r", "RESTIC_PASSWORD": "p", "CHECK_SCHEDULE": "@daily"],
                                       envFile: nil, explicit: false, stages: nil, named: false)
        let jobs = ScheduledJobs.jobs(config)
        #expect(jobs.map(\.name) == ["backup", "check", "prune"])
        #expect(jobs[1].expression.text == "@daily")
        let runner = ScheduledJobs(executable: "/bin/true", envFile: "/etc/dr.env", logDir: "/var/log/dr", console: .silent)
        #expect(runner.arguments(for: jobs[0]) == ["dr", "backup", "all", "--env-file", "/etc/dr.env"])
        #expect(runner.arguments(for: jobs[1]) == ["dr", "check", "--env-file", "/etc/dr.env"])
        #expect(runner.arguments(for: jobs[2]) == ["dr", "prune", "--env-file", "/etc/dr.env"])
        #expect(ScheduledJobs.logPath("/var/log/dr", started: Self.t("2024-06-02 03:04") + 5) == "/var/log/dr/backup_20240602_030405.log")
    }

    /// The real runner: a child process whose output lands in the run's log file.
    @Test func aRunWritesItsLogFile() async throws {
        let dir = NSTemporaryDirectory() + "/cartae-sched-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = dir + "-job.sh"
        try "#!/bin/sh\necho \"ran with $*\"\necho oops >&2\nexit 3\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        defer { unlink(script) }
        let runner = ScheduledJobs(executable: script, envFile: nil, logDir: dir, console: .silent)
        let start = Self.t("2024-06-02 02:00")
        let ok = await runner.execute(Self.standard[0], started: start)
        #expect(!ok)
        let log = try String(contentsOfFile: dir + "/backup_20240602_020000.log", encoding: .utf8)
        #expect(log.contains("ran with dr backup all\n"))
        #expect(log.contains("oops\n"))
        #expect(log.hasPrefix("# 2024-06-02 02:00:00 UTC: cartae-restic dr backup all\n"))
        #expect(log.contains("failed (exited(3))"))
    }
}
