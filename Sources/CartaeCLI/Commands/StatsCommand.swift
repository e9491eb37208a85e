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
        if !global.quiet { Output.print("scanning...") }
        // The layout of newer restic: labels right-aligned to 24 columns.
        var rows: [(String, String)] = [("Snapshots processed", String(records.count))]
        if stats.blobCount > 0 { rows.append(("Total Blob Count", String(stats.blobCount))) }
        if stats.fileCount > 0 { rows.append(("Total File Count", String(stats.fileCount))) }
        let compressed = mode == "raw-data" && repo.repository.version >= 2 && stats.totalUncompressedSize > 0
        if compressed { rows.append(("Total Uncompressed Size", SizeFormat.bytes(stats.totalUncompressedSize))) }
        rows.append(("Total Size", SizeFormat.bytes(stats.totalSize)))
        if compressed {
            rows.append(("Compression Progress", String(format: "%.2f%%", stats.compressionProgress)))
            rows.append(("Compression Ratio", String(format: "%.2fx", stats.compressionRatio)))
            rows.append(("Compression Space Saving", String(format: "%.2f%%", stats.compressionSpaceSaving)))
        }
        Output.print("Stats in \(mode) mode:")
        for (label, value) in rows {
            Output.print(String(repeating: " ", count: 24 - label.count) + label + ":  " + value)
        }
    }
}
