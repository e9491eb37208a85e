import ResticCore

/// restic's `--group-by host,paths,tags`: snapshots with equal keys form a group.
public struct SnapshotGrouping: Sendable, Equatable {
    public var host: Bool
    public var paths: Bool
    public var tags: Bool

    public init(host: Bool, paths: Bool, tags: Bool) {
        self.host = host
        self.paths = paths
        self.tags = tags
    }

    /// Parses "host,paths,tags" (any subset, comma-separated; "" groups nothing).
    public init(_ text: String) throws {
        self.init(host: false, paths: false, tags: false)
        for word in text.split(separator: ",") {
            switch word {
            case "host", "hosts": host = true
            case "path", "paths": paths = true
            case "tag", "tags": tags = true
            default: throw ResticError.invalid("--group-by: unknown grouping option \"\(word)\"")
            }
        }
    }

    public var isEmpty: Bool { !host && !paths && !tags }

    public struct Key: Hashable, Sendable {
        public var hostname: String
        public var paths: [String]
        public var tags: [String]
    }

    public struct Group: Sendable {
        public var key: Key
        public var records: [SnapshotRecord]
    }

    public func key(_ snapshot: Snapshot) -> Key {
        Key(hostname: host ? snapshot.hostname : "",
            paths: paths ? snapshot.paths.sorted() : [],
            tags: tags ? snapshot.tags.sorted() : [])
    }

    /// Groups in order of first appearance; records keep their order inside a group.
    public func groups(_ records: [SnapshotRecord]) -> [Group] {
        var order: [Key] = []
        var members: [Key: [SnapshotRecord]] = [:]
        for record in records {
            let k = key(record.snapshot)
            if members[k] == nil { order.append(k) }
            members[k, default: []].append(record)
        }
        return order.map { Group(key: $0, records: members[$0] ?? []) }
    }

    public func describe(_ key: Key) -> String {
        var parts: [String] = []
        if host { parts.append("host [\(key.hostname)]") }
        if paths { parts.append("paths [\(key.paths.joined(separator: ", "))]") }
        if tags { parts.append("tags [\(key.tags.joined(separator: ", "))]") }
        return parts.joined(separator: ", ")
    }
}
