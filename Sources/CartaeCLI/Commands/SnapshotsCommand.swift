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
        if grouping.tags {
            // restic sorts each snapshot's tags in place while grouping by them, so they show sorted.
            records = records.map { var r = $0; r.snapshot.tags.sort(); return r }
        }
        let groups = grouping.groups(records)
        if global.json {
            Output.write(grouping.isEmpty ? SnapshotJSON.array(records) : SnapshotJSON.groups(groups, grouping))
            return
        }
        for group in groups {
            if !grouping.isEmpty, let header = Self.groupHeader(group.key, grouping) { Output.print(header) }
            for line in SnapshotTable.lines(group.records, compact: compact) { Output.print(line) }
        }
    }

    /// restic's group header: host, tags, paths in that order; an untagged group names no tags,
    /// and a group with nothing to name (untagged, grouped by tags only) gets no header at all.
    static func groupHeader(_ key: SnapshotGrouping.Key, _ grouping: SnapshotGrouping) -> String? {
        var parts: [String] = []
        if grouping.host && !key.hostname.isEmpty { parts.append("host [\(key.hostname)]") }
        if grouping.tags && !key.tags.isEmpty { parts.append("tags [\(key.tags.joined(separator: ", "))]") }
        if grouping.paths && !key.paths.isEmpty { parts.append("paths [\(key.paths.joined(separator: ", "))]") }
        return parts.isEmpty ? nil : "snapshots for (\(parts.joined(separator: ", "))):"
    }
}

/// restic's snapshot table. Normal: tags joined by ",", one path per line, and a blank line
/// between snapshots once any has several paths. Compact (`-c`): no paths column, one tag per line.
/// Header cells carry restic's padding ("Host      ", "Tags  "), which sets the minimum widths.
enum SnapshotTable {
    static func lines(_ records: [SnapshotRecord], compact: Bool) -> [String] {
        var rows: [[String]] = []
        let multiline = !compact && records.contains { $0.snapshot.paths.count > 1 }
        for (number, record) in records.enumerated() {
            let s = record.snapshot
            if multiline && number > 0 { rows.append([]) }
            if compact {
                rows.append([record.id.shortHex, TimeFormat.local(s.time), s.hostname, s.tags.first ?? ""])
                for tag in s.tags.dropFirst() { rows.append(["", "", "", tag]) }
            } else {
                rows.append([record.id.shortHex, TimeFormat.local(s.time), s.hostname, s.tags.joined(separator: ","),
                             s.paths.first ?? ""])
                for path in s.paths.dropFirst() { rows.append(["", "", "", "", path]) }
            }
        }
        let header = compact ? ["ID", "Time", "Host", "Tags  "] : ["ID", "Time", pad("Host"), pad("Tags"), "Paths"]
        return Output.table(header, rows, footer: "\(records.count) snapshots")
    }

    /// restic's normal table gives the host and tags columns at least ten characters.
    static func pad(_ text: String) -> String {
        text.count >= 10 ? text : text.padding(toLength: 10, withPad: " ", startingAt: 0)
    }
}
