import ArgumentParser
import Foundation
import ResticCore
import ResticMaintenance

/// prune's limits, shared by `prune` and `forget --prune`.
struct PruneOptions: ParsableArguments {
    @Option(name: .customLong("max-unused"), help: ArgumentHelp("Tolerate given limit of unused data (absolute value in bytes with suffixes k/K, m/M, g/G, t/T, a value in % or the word 'unlimited').", valueName: "limit"))
    var maxUnused: String = "5%"

    @Option(name: .customLong("max-repack-size"), help: ArgumentHelp("Maximum size to repack (allowed suffixes: k/K, m/M, g/G, t/T).", valueName: "size"))
    var maxRepackSize: String?

    @Flag(name: .customLong("repack-cacheable-only"), help: "Only repack packs which are cacheable.")
    var repackCacheableOnly = false

    @Flag(name: .customLong("repack-small"), help: "Repack pack files below 80% of target pack size.")
    var repackSmall = false

    @Flag(name: .customLong("repack-uncompressed"), help: "Repack all uncompressed data.")
    var repackUncompressed = false

    init() {}

    /// `--max-unused` parsed; errors name the flag.
    func maxUnusedLimit() throws -> MaxUnused {
        let text = maxUnused.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw ResticError.invalid("invalid value for --max-unused: \"\(maxUnused)\"") }
        return try MaxUnused(parsing: text)
    }

    /// `--max-repack-size` in bytes, nil when not given (no limit).
    func maxRepackBytes() throws -> UInt64? {
        guard let maxRepackSize else { return nil }
        guard let bytes = SizeParser.parse(maxRepackSize) else {
            throw ResticError.invalid("invalid number of bytes \"\(maxRepackSize)\" for --max-repack-size")
        }
        return bytes
    }

    /// Checks every value, so a bad flag fails before anything is changed.
    func validate() throws {
        _ = try maxUnusedLimit()
        _ = try maxRepackBytes()
    }

    /// The options as the prune engine takes them; `forget --dry-run --prune` asks for a dry run.
    func settings(dryRun: Bool) throws -> PruneSettings {
        var settings = PruneSettings()
        settings.maxUnused = try maxUnusedLimit()
        settings.maxRepackSize = try maxRepackBytes()
        settings.repackSmall = repackSmall
        settings.repackUncompressed = repackUncompressed
        settings.repackCacheableOnly = repackCacheableOnly
        settings.dryRun = dryRun
        return settings
    }
}
