import ArgumentParser
import ResticCore
import ResticMaintenance

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove unneeded data from the repository.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("max-unused"), help: "Tolerate given limit of unused data (absolute value in bytes with suffixes k/K, m/M, g/G, t/T, a value in % or the word 'unlimited').")
    var maxUnused: String = "5%"
    @Option(name: .customLong("max-repack-size"), help: "Maximum size to repack (allowed suffixes: k/K, m/M, g/G, t/T).")
    var maxRepackSize: String?
    @Flag(name: .customLong("repack-cacheable-only"), help: "Only repack packs which are cacheable.")
    var repackCacheableOnly = false
    @Flag(name: .customLong("repack-small"), help: "Repack pack files below 80% of target pack size.")
    var repackSmall = false
    @Flag(name: .customLong("repack-uncompressed"), help: "Repack all uncompressed data.")
    var repackUncompressed = false
    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Do not modify the repository, just print what would be done.")
    var dryRun = false

    func run() async throws {
        try await PruneRunner.run(global: global, settings: try Self.settings(
            maxUnused: maxUnused, maxRepackSize: maxRepackSize, repackCacheableOnly: repackCacheableOnly,
            repackSmall: repackSmall, repackUncompressed: repackUncompressed, dryRun: dryRun))
    }

    static func settings(maxUnused: String, maxRepackSize: String?, repackCacheableOnly: Bool, repackSmall: Bool,
                         repackUncompressed: Bool, dryRun: Bool) throws -> PruneSettings {
        var settings = PruneSettings()
        settings.maxUnused = try MaxUnused(parsing: maxUnused)
        if let maxRepackSize {
            guard let bytes = SizeParser.parse(maxRepackSize) else {
                throw ResticError.invalid("--max-repack-size: invalid size \"\(maxRepackSize)\"")
            }
            settings.maxRepackSize = bytes
        }
        settings.repackCacheableOnly = repackCacheableOnly
        settings.repackSmall = repackSmall
        settings.repackUncompressed = repackUncompressed
        settings.dryRun = dryRun
        return settings
    }
}
