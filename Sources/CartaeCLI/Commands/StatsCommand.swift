import ArgumentParser
import Foundation
import ResticCore
import ResticRepository

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Scan the repository and show basic statistics.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filter: SnapshotFilterOptions

    @Argument(help: "Snapshot IDs (default: all snapshots).")
    var snapshotIDs: [String] = []

    @Option(name: .customLong("mode"), help: "Counting mode: restore-size (default), files-by-contents, blobs-per-file or raw-data.")
    var mode: String = "restore-size"

    func run() async throws {
        guard ["restore-size", "raw-data", "files-by-contents", "blobs-per-file"].contains(mode) else {
            throw ResticError.invalid("--mode: unknown mode \"\(mode)\"")
        }
        let repo = try await global.openIndexed()
        var records: [SnapshotRecord] = []
        if snapshotIDs.isEmpty {
            records = try await repo.repository.loadSnapshots().filter { filter.filter.matches($0.snapshot) }
        } else {
            for reference in snapshotIDs { records.append(try await repo.repository.findSnapshot(reference, filter: filter.filter)) }
        }
        let stats = try await RepositoryStats.compute(repo, snapshots: records, mode: mode)
        if global.json {
            var json = GoJSONWriter()
            json.beginObject()
            json.key("total_size"); json.number(Int(stats.totalSize))
            if mode == "raw-data" && stats.totalUncompressedSize > 0 {
                json.key("total_uncompressed_size"); json.number(Int(stats.totalUncompressedSize))
                json.key("compression_ratio"); json.number(stats.compressionRatio)
                json.key("compression_progress"); json.number(stats.compressionProgress)
                json.key("compression_space_saving"); json.number(stats.compressionSpaceSaving)
            }
            json.key("total_file_count"); json.number(stats.fileCount)
            if stats.blobCount > 0 { json.key("total_blob_count"); json.number(stats.blobCount) }
            json.key("snapshots_count"); json.number(records.count)
            json.endObject()
            Output.write(json.bytes + [10])
            return
        }
        // restic 0.14's layout, byte for byte (Fixtures/golden/stats-*.txt); it prints
        // "scanning..." even with --quiet and has no compression rows.
        Output.print("scanning...")
        Output.print("Stats in \(mode) mode:")
        Output.print("Snapshots processed:   \(records.count)")
        if stats.blobCount > 0 { Output.print("   Total Blob Count:   \(stats.blobCount)") }
        if stats.fileCount > 0 { Output.print("   Total File Count:   \(stats.fileCount)") }
        let size = SizeFormat.bytes(stats.totalSize)
        Output.print("         Total Size:   " + size.padding(toLength: max(5, size.count), withPad: " ", startingAt: 0))
    }
}
