import Foundation
import ResticCore
import ResticRepository

/// What `forget` will do, decided before anything is removed: the policy's verdict per group,
/// or the snapshots named on the command line.
public struct ForgetPlan: Sendable {
    public struct Group: Sendable {
        public var key: SnapshotGrouping.Key
        /// Newest first, as the policy saw them.
        public var decisions: [ForgetDecision]

        public var keep: [ForgetDecision] { decisions.filter(\.kept) }
        public var remove: [SnapshotRecord] { decisions.filter { !$0.kept }.map(\.record) }
    }

    /// Empty when snapshots were named explicitly.
    public var groups: [Group]
    /// Every snapshot to remove, sorted by ID, without duplicates.
    public var removals: [ObjectID]

    /// Applies `policy` to each group of `records`. Refuses an empty policy, and a group in which
    /// the policy would keep nothing (newer restic's guard against forgetting a whole group).
    public init(policy: ForgetPolicy, records: [SnapshotRecord], grouping: SnapshotGrouping,
                now: GoTime, localZone: TimeZone? = nil) throws {
        try policy.validate()
        guard !policy.isEmpty else {
            throw ResticError.invalid("no policy was specified, no snapshots will be removed")
        }
        var groups: [Group] = []
        var removals = Set<ObjectID>()
        for group in grouping.groups(records) {
            let decisions = policy.apply(to: group.records, now: now, localZone: localZone)
            guard decisions.contains(where: \.kept) else {
                throw ResticError.invalid("refusing to delete last snapshot of snapshot group \"\(ForgetPlan.describe(group.key))\"")
            }
            for decision in decisions where !decision.kept { removals.insert(decision.record.id) }
            groups.append(Group(key: group.key, decisions: decisions))
        }
        self.groups = groups
        self.removals = removals.sorted()
    }

    /// Snapshots named on the command line are removed without a policy.
    public init(explicit records: [SnapshotRecord]) {
        groups = []
        removals = Set(records.map(\.id)).sorted()
    }

    /// restic's `SnapshotGroupKey.String()`: "host h1, path [/a /b], tags [x y]", empty parts left out.
    public static func describe(_ key: SnapshotGrouping.Key) -> String {
        var parts: [String] = []
        if !key.hostname.isEmpty { parts.append("host \(key.hostname)") }
        if !key.paths.isEmpty { parts.append("path [\(key.paths.joined(separator: " "))]") }
        if !key.tags.isEmpty { parts.append("tags [\(key.tags.joined(separator: " "))]") }
        return parts.joined(separator: ", ")
    }
}
