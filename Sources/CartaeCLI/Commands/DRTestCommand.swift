import ArgumentParser
import CartaeStages
import Foundation

struct DRTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Self-test: configuration, repository, PostgreSQL, Redis, disk space, check, Pushgateway.",
        discussion: "Prints a PASS/FAIL table; exits 1 when any check fails.")

    @OptionGroup var options: DROptions

    func run() async throws {
        let results: [SelfTest.Result]
        do {
            let config = try DRConfig.load(environment: ProcessInfo.processInfo.environment, envFile: options.envFilePath,
                                           explicit: options.envFile != nil, stages: nil, named: false)
            results = await SelfTest(context: options.context(config), repository: DRRepository(config: config)).run()
        } catch let error as DRConfigError {
            results = SelfTest.configurationFailed(error)
        }
        for line in SelfTest.table(results) { DRTerminal.print(line) }
        let failed = results.filter { $0.status == .fail }.count
        DRTerminal.print(failed == 0 ? "\nall checks passed" : "\n\(failed) check\(failed == 1 ? "" : "s") failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
