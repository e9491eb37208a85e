import ArgumentParser
import ResticCore
import ResticRepository
import ResticRestorer

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Extract the data from a snapshot.",
        discussion: "The snapshot is \"latest\" or an ID (prefix); SNAPSHOT:subfolder restores only that folder's contents.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filter: SnapshotFilterOptions

    @Argument(help: "Snapshot ID or \"latest\", optionally with :subfolder.")
    var snapshot: String

    @Option(name: [.customShort("t"), .customLong("target")], help: "Directory to extract data to.")
    var target: String

    @Option(name: [.customShort("i"), .customLong("include")], help: "Include a pattern (can be specified multiple times).")
    var include: [String] = []

    @Option(name: [.customShort("e"), .customLong("exclude")], help: "Exclude a pattern (can be specified multiple times).")
    var exclude: [String] = []

    @Option(name: .customLong("iinclude"), help: "Same as --include but ignores the casing of filenames.")
    var iinclude: [String] = []

    @Option(name: .customLong("iexclude"), help: "Same as --exclude but ignores the casing of filenames.")
    var iexclude: [String] = []

    @Flag(name: .customLong("verify"), help: "Verify restored files content.")
    var verify = false

    @Flag(name: .customLong("sparse"), help: "Restore files as sparse (zero blobs become holes; always on).")
    var sparse = false

    func run() async throws {
        let repo = try await global.openIndexed()
        let (reference, subfolder) = SnapshotReference.split(snapshot)
        let record = try await repo.repository.findSnapshot(reference, filter: filter.filter)
        let root = try await repo.subtree(of: record.snapshot.tree, path: subfolder)

        var options = RestoreOptions()
        options.verify = verify
        options.filter = RestoreFilter(
            includes: include.map { PathPattern($0) } + iinclude.map { PathPattern($0, caseInsensitive: true) },
            excludes: exclude.map { PathPattern($0) } + iexclude.map { PathPattern($0, caseInsensitive: true) })
        if !global.quiet && !global.json {
            // restic prints its Snapshot.String(): Go's %v of the paths and time.String().
            Output.print("restoring <Snapshot \(record.id.shortHex) of [\(record.snapshot.paths.joined(separator: " "))] at \(TimeFormat.goString(record.snapshot.time)) by \(record.snapshot.username)@\(record.snapshot.hostname)> to \(target)")
        }
        let report = try await Restorer(repository: repo, options: options).restore(tree: root, to: target)
        for problem in report.errors { Output.error("ignoring error: \(problem)") }
        if global.json {
            var json = GoJSONWriter()
            json.beginObject()
            json.key("message_type"); json.string("summary")
            json.key("files_restored"); json.number(report.filesRestored)
            json.key("dirs_restored"); json.number(report.directoriesRestored)
            json.key("bytes_restored"); json.number(report.bytesWritten)
            json.key("errors"); json.number(report.errors.count)
            BackendUsage.appendJSON(to: &json)
            json.endObject()
            Output.write(json.bytes + [10])
        } else if !global.quiet && verify {
            Output.print("verifying files in \(target)")
            Output.print("finished verifying \(report.filesVerified) files in \(target)")
        }
        if !report.errors.isEmpty {
            Output.error("Fatal: There were \(report.errors.count) errors")
            throw ExitCode(3)
        }
    }
}
