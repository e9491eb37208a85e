import ArgumentParser
import ResticRepository

/// `--host`, `--tag` and `--path`, shared by every command that picks snapshots.
struct SnapshotFilterOptions: ParsableArguments {
    @Option(name: [.customShort("H"), .customLong("host")], help: "Only consider snapshots for this host (can be specified multiple times).")
    var host: [String] = []

    @Option(name: .customLong("tag"), help: "Only consider snapshots including tag[,tag,...] (can be specified multiple times).")
    var tag: [String] = []

    @Option(name: .customLong("path"), help: "Only consider snapshots including this (absolute) path (can be specified multiple times).")
    var path: [String] = []

    var filter: SnapshotFilter { SnapshotFilter(hosts: host, tags: tag, paths: path) }
}

enum SnapshotReference {
    /// "abc123:sub/dir" → ("abc123", "sub/dir").
    static func split(_ text: String) -> (String, String) {
        guard let colon = text.firstIndex(of: ":") else { return (text, "") }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
