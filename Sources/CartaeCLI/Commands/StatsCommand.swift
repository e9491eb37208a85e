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
            if mode == "raw-data" && repo.repository.version >= 2 {
                json.comma(); json.key("total_uncompressed_size"); json.number(Int(stats.totalUncompressedSize))
                json.comma(); json.key("compression_ratio"); json.raw(Array(Self.float(stats.compressionRatio).utf8))
                json.comma(); json.key("compression_progress"); json.raw(Array(Self.float(stats.compressionProgress).utf8))
                json.comma(); json.key("compression_space_saving"); json.raw(Array(Self.float(stats.compressionSpaceSaving).utf8))
            }
            if mode == "raw-data" || mode == "blobs-per-file" {
                json.comma(); json.key("total_blob_count"); json.number(stats.blobCount)
            }
            if mode != "raw-data" {
                json.comma(); json.key("total_file_count"); json.number(stats.fileCount)
            }
            json.comma(); json.key("snapshots_count"); json.number(records.count)
            json.endObject()
            Output.write(json.bytes + [10])
            return
        }
        if !global.quiet { Output.print("scanning...") }
        var rows: [(String, String)] = [("Snapshots processed", String(records.count))]
        if mode == "raw-data" || mode == "blobs-per-file" { rows.append(("Total Blob Count", String(stats.blobCount))) }
        if mode != "raw-data" { rows.append(("Total File Count", String(stats.fileCount))) }
        if mode == "raw-data" && repo.repository.version >= 2 {
            rows.append(("Total Uncompressed Size", SizeFormat.bytes(stats.totalUncompressedSize)))
        }
        rows.append(("Total Size", SizeFormat.bytes(stats.totalSize)))
        if mode == "raw-data" && repo.repository.version >= 2 {
            rows.append(("Compression Progress", String(format: "%.2f%%", stats.compressionProgress)))
            rows.append(("Compression Ratio", String(format: "%.2fx", stats.compressionRatio)))
            rows.append(("Compression Space Saving", String(format: "%.2f%%", stats.compressionSpaceSaving)))
        }
        Output.print("Stats in \(mode) mode:")
        let width = rows.map { $0.0.count }.max() ?? 0
        for (label, value) in rows {
            Output.print(String(repeating: " ", count: width - label.count) + label + ":  " + value)
        }
    }

    static func float(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
