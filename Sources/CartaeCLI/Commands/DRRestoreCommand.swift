import ArgumentParser
import CartaeStages
import Foundation

struct DRRestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore all stages, or one, from the latest or a given snapshot.",
        discussion: """
            postgres restores with pg_restore --clean --if-exists into the configured database (or --target-db) \
            and verifies the recorded row counts. redis writes dump.rdb into REDIS_DATA_DIR while Redis is \
            stopped (or into --redis-dir / <target>/redis). volumes go back in place (or below --target).
            """)

    @OptionGroup var options: DROptions

    @Argument(help: "all, postgres, redis or volumes.")
    var stage: String

    @Argument(help: "latest or a snapshot ID.")
    var snapshot: String = "latest"

    @Option(name: .customLong("target-db"), help: "Restore PostgreSQL into this database instead (created if missing).")
    var targetDatabase: String?

    @Option(name: .customLong("target"), help: "Restore volumes below this folder, and Redis into <target>/redis.")
    var target: String?

    @Option(name: .customLong("redis-dir"), help: "Write dump.rdb into this folder instead of REDIS_DATA_DIR.")
    var redisDirectory: String?

    @Flag(name: .customLong("verify"), help: "Verify: load the RDB into a throwaway redis-server; re-read restored files.")
    var verify = false

    func run() async throws {
        let (stages, named) = try DROptions.stages(stage)
        let config = try options.loadConfig(stages: stages, named: named)
        var settings = DRRestoreOptions()
        settings.snapshot = snapshot
        settings.targetDatabase = targetDatabase
        settings.target = target.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        settings.redisDirectory = redisDirectory.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        settings.verify = verify
        let selected = named ? stages : config.configuredStages
        let runner = DRRunner(context: options.context(config), repository: DRRepository(config: config))
        try DRResultPrinter.finish(await runner.restore(selected, options: settings), verb: "restore")
    }
}
