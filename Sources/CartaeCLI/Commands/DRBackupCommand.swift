import ArgumentParser
import CartaeStages
import Foundation

struct DRBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up all stages, or one: postgres, redis, volumes.",
        discussion: "Stages run independently: exit 0 when all succeeded, 3 when some failed, 1 when all failed.")

    @OptionGroup var options: DROptions

    @Argument(help: "all, postgres, redis or volumes.")
    var stage: String = "all"

    func run() async throws {
        let (stages, named) = try DROptions.stages(stage)
        let config = try options.loadConfig(stages: stages, named: named)
        let selected = named ? stages : config.configuredStages
        let runner = DRRunner(context: options.context(config), repository: DRRepository(config: config))
        try DRResultPrinter.finish(await runner.backup(selected), verb: "backup")
    }
}
