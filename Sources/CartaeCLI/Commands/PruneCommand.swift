import ArgumentParser
import ResticCore
import ResticMaintenance

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove unneeded data from the repository.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var prune: PruneOptions

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Do not modify the repository, just print what would be done.")
    var dryRun = false

    func run() async throws {
        try await PruneRunner.run(global: global, settings: try prune.settings(dryRun: dryRun))
    }
}
