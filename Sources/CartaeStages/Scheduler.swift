import Foundation

/// Wall-clock time for the scheduler; tests inject one that jumps instead of waiting.
public protocol SchedulerClock: Sendable {
    /// Unix seconds, UTC.
    func now() async -> Int64
    /// Returns at `time` (at once if it has passed); throws CancellationError when cancelled.
    func sleep(until time: Int64) async throws
}

/// The real clock. Long waits are cut into one-minute naps re-checked against the wall
/// clock, so a suspended machine or a clock step does not make a job late or early.
public struct SystemClock: SchedulerClock {
    public init() {}

    public func now() async -> Int64 { Int64(Date().timeIntervalSince1970) }

    public func sleep(until time: Int64) async throws {
        while true {
            let remaining = Double(time) - Date().timeIntervalSince1970
            if remaining <= 0 { return }
            try await Task.sleep(for: .milliseconds(Int64(min(remaining, 60) * 1000)))
        }
    }
}

/// One recurring job: what to run and when.
public struct ScheduledJob: Sendable, Equatable {
    public var name: String
    public var expression: CronExpression

    public init(name: String, expression: CronExpression) {
        self.name = name
        self.expression = expression
    }
}

/// The foreground scheduler of `dr schedule`. Jobs run one at a time: a job that comes due
/// while another runs starts when that one ends (late, never overlapping), a job that missed
/// several times runs once, and jobs due together run in the order given. Cancellation (SIGTERM)
/// stops the waiting at once but lets a running job finish before `run` returns.
public struct Scheduler: Sendable {
    public struct Run: Sendable, Equatable {
        public var job: String
        /// When it was due and when it actually started and ended (Unix seconds).
        public var due: Int64
        public var started: Int64
        public var ended: Int64
        public var succeeded: Bool
    }

    public let jobs: [ScheduledJob]
    let clock: any SchedulerClock
    let execute: @Sendable (ScheduledJob, Int64) async -> Bool
    let log: @Sendable (String) -> Void

    /// `execute` runs a job to its end (it is given the start time) and says whether it succeeded.
    public init(jobs: [ScheduledJob], clock: any SchedulerClock = SystemClock(),
                log: @escaping @Sendable (String) -> Void = { _ in },
                execute: @escaping @Sendable (ScheduledJob, Int64) async -> Bool) {
        self.jobs = jobs
        self.clock = clock
        self.execute = execute
        self.log = log
    }

    /// Runs until cancelled; returns what ran.
    @discardableResult
    public func run() async -> [Run] {
        var runs: [Run] = []
        let start = await clock.now()
        var due: [Int64?] = jobs.map { $0.expression.nextFire(after: start) }
        for (job, time) in zip(jobs, due) {
            log(time.map { "\(job.name): \(job.expression) (UTC), next at \(UTCCalendar.format($0))" }
                ?? "\(job.name): \(job.expression) never fires; ignored")
        }
        while !Task.isCancelled {
            // Earliest due job; ties go to the job listed first.
            guard let index = due.indices.filter({ due[$0] != nil }).min(by: { (due[$0]!, $0) < (due[$1]!, $1) }),
                  let time = due[index] else {
                log("no job will ever fire; stopping")
                break
            }
            do {
                try await clock.sleep(until: time)
            } catch {
                break
            }
            if Task.isCancelled { break }
            let job = jobs[index]
            let started = await clock.now()
            log("\(job.name): starting" + (started > time ? " (due \(UTCCalendar.format(time)), late by \(started - time)s)" : ""))
            let succeeded = await finishEvenIfCancelled(job, started: started)
            let ended = await clock.now()
            runs.append(Run(job: job.name, due: time, started: started, ended: ended, succeeded: succeeded))
            due[index] = job.expression.nextFire(after: max(ended, time))
            log("\(job.name): \(succeeded ? "finished" : "FAILED") after \(ended - started)s"
                + (due[index].map { "; next at \(UTCCalendar.format($0))" } ?? ""))
        }
        if Task.isCancelled { log("stopping: termination requested") }
        return runs
    }

    /// The job runs in its own task, which the scheduler's cancellation does not reach: a
    /// SIGTERM during a run waits for the run to end cleanly.
    private func finishEvenIfCancelled(_ job: ScheduledJob, started: Int64) async -> Bool {
        let execute = execute
        let task = Task { await execute(job, started) }
        let log = log
        return await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            log("\(job.name): termination requested; finishing the current run first")
        }
    }
}
