import ArgumentParser
import CartaeStages
import Foundation

struct DRCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check the repository, reading $CHECK_SUBSET of the data; pushes check_* metrics.")

    @OptionGroup var options: DROptions

    @Option(name: .customLong("read-data-subset"), help: "Override CHECK_SUBSET (n/t, x% or a size).")
    var subset: String?

    func run() async throws {
        let config = try options.loadConfig(stages: nil, named: false)
        let maintenance = DRMaintenance(context: options.context(config), repository: DRRepository(config: config))
        let outcome = await maintenance.check(subset: subset)
        try DRMaintenancePrinter.finish(outcome)
    }
}

struct DRPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "forget --prune with the KEEP_DAILY/WEEKLY/MONTHLY policy; pushes prune_* metrics.")

    @OptionGroup var options: DROptions

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Only say which snapshots would be removed.")
    var dryRun = false

    func run() async throws {
        let config = try options.loadConfig(stages: nil, named: false)
        let maintenance = DRMaintenance(context: options.context(config), repository: DRRepository(config: config))
        let outcome = await maintenance.prune(dryRun: dryRun)
        try DRMaintenancePrinter.finish(outcome)
    }
}

enum DRMaintenancePrinter {
    static func finish(_ outcome: DRMaintenance.Outcome) throws {
        if outcome.succeeded {
            DRTerminal.print(outcome.message)
        } else {
            DRTerminal.error("Fatal: \(outcome.message)")
            throw ExitCode(1)
        }
    }
}
