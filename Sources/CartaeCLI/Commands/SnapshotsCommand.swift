import ArgumentParser
import ResticCore
import ResticRepository

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshots", abstract: "List all snapshots.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filter: SnapshotFilterOptions

    @Argument(help: "Snapshot IDs to show (default: all).")
    var snapshotIDs: [String] = []

    @Option(name: [.customShort("g"), .customLong("group-by")], help: "Group snapshots by host, paths and/or tags, separated by comma.")
    var groupBy: String = ""

    @Option(name: .customLong("latest"), help: "Only show the last n snapshots for each host and path.")
    var latest: Int = 0

    @Flag(name: [.customShort("c"), .customLong("compact")], help: "Use compact output format.")
    var compact = false

    func run() async throws {
        let repo = try await global.openRepository()
        var records: [SnapshotRecord]
        if snapshotIDs.isEmpty {
            records = try await repo.loadSnapshots { id, error in
                Output.error("could not load snapshot \(id.shortHex): \(error)")
            }.filter { filter.filter.matches($0.snapshot) }
        } else {
            records = []
            for reference in snapshotIDs {
                records.append(try await repo.findSnapshot(reference, filter: filter.filter))
            }
        }
        let grouping = try SnapshotGrouping(groupBy)
        if latest > 0 {
            records = SnapshotGrouping(host: true, paths: true, tags: false).groups(records)
                .flatMap { $0.records.suffix(latest) }
                .sorted { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
        }
        let groups = grouping.groups(records)
        if global.json {
            Output.write(grouping.isEmpty ? SnapshotJSON.array(records) : SnapshotJSON.groups(groups, grouping))
            return
        }
        for (number, group) in groups.enumerated() {
            if !grouping.isEmpty {
                if number > 0 { Output.print("") }
                Output.print("snapshots for (\(grouping.describe(group.key)))")
            }
            for line in SnapshotTable.lines(group.records, compact: compact) { Output.print(line) }
        }
    }
}

/// restic's snapshot table: one line per snapshot, extra lines for further tags and paths.
enum SnapshotTable {
    static func lines(_ records: [SnapshotRecord], compact: Bool) -> [String] {
        var rows: [[String]] = []
        for record in records {
            let s = record.snapshot
            let tags = s.tags, paths = s.paths
            let count = compact ? 1 : max(1, tags.count, paths.count)
            for i in 0..<count {
                let tagCell = compact ? tags.joined(separator: ",") : (i < tags.count ? tags[i] : "")
                let pathCell = compact ? paths.joined(separator: ",") : (i < paths.count ? paths[i] : "")
                if i == 0 {
                    rows.append([record.id.shortHex, TimeFormat.local(s.time), pad(s.hostname), pad(tagCell), pathCell])
                } else {
                    rows.append(["", "", "", tagCell, pathCell])
                }
            }
        }
        return Output.table(["ID", "Time", pad("Host"), pad("Tags"), "Paths"], rows, footer: "\(records.count) snapshots")
    }

    /// restic gives the host and tags columns at least ten characters.
    static func pad(_ text: String) -> String {
        text.count >= 10 ? text : text.padding(toLength: 10, withPad: " ", startingAt: 0)
    }
}
