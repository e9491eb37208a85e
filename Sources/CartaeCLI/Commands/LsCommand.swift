import ArgumentParser
import Foundation
import ResticCore
import ResticRepository

struct LsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List files in a snapshot.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filter: SnapshotFilterOptions

    @Argument(help: "Snapshot ID or \"latest\".")
    var snapshot: String

    @Argument(help: "Only list these directories (and what is below them, with --recursive).")
    var dirs: [String] = []

    @Flag(name: [.customShort("l"), .customLong("long")], help: "Use a long listing format showing size and mode.")
    var long = false

    @Flag(name: .customLong("recursive"), help: "Include files in subfolders of the listed directories.")
    var recursive = false

    func run() async throws {
        let repo = try await global.openIndexed()
        let record = try await repo.repository.findSnapshot(snapshot, filter: filter.filter)
        let wanted = dirs.map { "/" + $0.split(separator: "/").joined(separator: "/") }
        if global.json {
            Output.write(Self.snapshotLine(record))
        } else if !global.quiet {
            Output.print("snapshot \(record.id.shortHex) of [\(record.snapshot.paths.joined(separator: " "))] filtered by [\(dirs.joined(separator: " "))] at \(TimeFormat.goString(record.snapshot.time))):")
        }
        try await repo.walk(record.snapshot.tree) { path, node in
            let (show, descend) = Self.decide(path, wanted: wanted, recursive: recursive)
            if show {
                if global.json {
                    Output.write(Self.nodeLine(path, node))
                } else {
                    Output.print(long ? Self.longLine(path, node) : path)
                }
            }
            return descend
        }
    }

    /// With directory arguments restic shows the directory's direct children (everything below
    /// with --recursive) and walks only what leads there.
    static func decide(_ path: String, wanted: [String], recursive: Bool) -> (show: Bool, descend: Bool) {
        guard !wanted.isEmpty else { return (true, true) }
        var show = false, descend = false
        for dir in wanted {
            if dir == "/" {
                show = show || recursive || !path.dropFirst().contains("/")
                descend = descend || recursive
                continue
            }
            if path == dir { show = true; descend = true }
            if dir.hasPrefix(path + "/") { descend = true }
            if path.hasPrefix(dir + "/") {
                let below = path.dropFirst(dir.count + 1)
                if recursive || !below.contains("/") { show = true }
                descend = descend || recursive
            }
        }
        return (show, descend)
    }

    static func longLine(_ path: String, _ node: Node) -> String {
        let target = node.type == "symlink" ? " -> " + String(decoding: node.linkTarget ?? [], as: UTF8.self) : ""
        let mode = ModeString.describe(ModeString.nodeMode(node))
        return "\(mode) \(pad(node.uid, 5)) \(pad(node.gid, 5)) \(pad(node.size, 6)) \(TimeFormat.local(node.mtime)) \(path)\(target)"
    }

    static func pad<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }

    static func snapshotLine(_ record: SnapshotRecord) -> [UInt8] {
        let s = record.snapshot
        var json = GoJSONWriter()
        json.beginObject()
        json.key("time"); json.string(s.time.rfc3339)
        if let parent = s.parent { json.comma(); json.key("parent"); json.string(parent.hex) }
        json.comma(); json.key("tree"); json.string(s.tree.hex)
        json.comma(); json.key("paths"); SnapshotJSON.stringsOrNull(&json, s.paths)
        json.comma(); json.key("hostname"); json.string(s.hostname)
        json.comma(); json.key("username"); json.string(s.username)
        if s.uid != 0 { json.comma(); json.key("uid"); json.number(Int(s.uid)) }
        if s.gid != 0 { json.comma(); json.key("gid"); json.number(Int(s.gid)) }
        if !s.tags.isEmpty { json.comma(); json.key("tags"); SnapshotJSON.stringsOrNull(&json, s.tags) }
        json.comma(); json.key("id"); json.string(record.id.hex)
        json.comma(); json.key("short_id"); json.string(record.id.shortHex)
        json.comma(); json.key("struct_type"); json.string("snapshot")
        json.endObject()
        return json.bytes + [10]
    }

    static func nodeLine(_ path: String, _ node: Node) -> [UInt8] {
        var json = GoJSONWriter()
        json.beginObject()
        json.key("name"); json.string(node.nameString)
        json.comma(); json.key("type"); json.string(node.type)
        json.comma(); json.key("path"); json.string(path)
        json.comma(); json.key("uid"); json.number(Int(node.uid))
        json.comma(); json.key("gid"); json.number(Int(node.gid))
        if node.type == "file" { json.comma(); json.key("size"); json.number(Int(node.size)) }
        let mode = ModeString.nodeMode(node)
        if mode != 0 {
            json.comma(); json.key("mode"); json.number(Int(mode))
            json.comma(); json.key("permissions"); json.string(ModeString.describe(mode))
        }
        json.comma(); json.key("mtime"); json.string(node.mtime.rfc3339)
        json.comma(); json.key("atime"); json.string(node.atime.rfc3339)
        json.comma(); json.key("ctime"); json.string(node.ctime.rfc3339)
        json.comma(); json.key("struct_type"); json.string("node")
        json.endObject()
        return json.bytes + [10]
    }
}
