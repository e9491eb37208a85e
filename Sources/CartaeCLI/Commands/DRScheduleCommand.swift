import ArgumentParser
import CartaeStages
import Foundation

struct DRScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Run the backup, check and prune schedules in the foreground (UTC).",
        discussion: """
            Daily backup all at 02:00, weekly check --read-data-subset $CHECK_SUBSET on Sunday 03:00, monthly \
            forget --prune with the KEEP_* policy on the 1st at 04:00 (BACKUP_SCHEDULE, CHECK_SCHEDULE, \
            PRUNE_SCHEDULE override them as cron expressions). One run at a time: a run still going delays \
            the next. Each run logs to $LOG_DIR/backup_YYYYMMDD_HHMMSS.log. SIGTERM lets the current run \
            finish, then stops.
            """)

    @OptionGroup var options: DROptions

    func run() async throws {
        let config = try options.loadConfig(stages: nil, named: false)
        let console = options.console()
        let envFile: String? = options.envFile != nil || FileManager.default.fileExists(atPath: options.envFilePath)
            ? URL(fileURLWithPath: options.envFilePath).standardizedFileURL.path : nil
        let logDir = URL(fileURLWithPath: config.logDir).standardizedFileURL.path
        let jobs = ScheduledJobs(executable: ScheduledJobs.currentExecutable(), envFile: envFile, logDir: logDir, console: console)
        let scheduler = Scheduler(jobs: ScheduledJobs.jobs(config), log: { console.info("schedule: \($0)") }) { job, started in
            await jobs.execute(job, started: started)
        }
        await scheduler.run()
    }
}
