import ResticCore

/// The periods restic's `--keep-*` rules count in; `last` gives every snapshot its own period.
public enum ForgetBucket: Int, Sendable, CaseIterable {
    case last, hourly, daily, weekly, monthly, yearly

    /// The word restic uses in the policy description ("3 latest", "all daily").
    var policyWord: String {
        switch self {
        case .last: return "latest"
        case .hourly: return "hourly"
        case .daily: return "daily"
        case .weekly: return "weekly"
        case .monthly: return "monthly"
        case .yearly: return "yearly"
        }
    }
}

/// restic's forget policy (`ExpirePolicy`): which snapshots of a group to keep. A snapshot is
/// kept when any rule keeps it; every other snapshot of the group is removed.
public struct ForgetPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Count per bucket for `--keep-last/-hourly/-daily/-weekly/-monthly/-yearly`:
    /// 0 = rule off, -1 = unlimited.
    public var last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0
    /// `--keep-within`: every snapshot newer than the newest minus this.
    public var within = KeepDuration()
    /// `--keep-within-{hourly,daily,weekly,monthly,yearly}`; `.last` is not used.
    public var withinBuckets: [ForgetBucket: KeepDuration] = [:]
    /// `--keep-tag`: each element is one tag list; a snapshot with all tags of any list is kept.
    public var tags: [[String]] = []

    public init() {}

    public init(last: Int = 0, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, monthly: Int = 0,
                yearly: Int = 0, within: KeepDuration = KeepDuration(),
                withinBuckets: [ForgetBucket: KeepDuration] = [:], tags: [[String]] = []) {
        self.last = last
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.yearly = yearly
        self.within = within
        self.withinBuckets = withinBuckets
        self.tags = tags
    }

    public func count(_ bucket: ForgetBucket) -> Int {
        switch bucket {
        case .last: return last
        case .hourly: return hourly
        case .daily: return daily
        case .weekly: return weekly
        case .monthly: return monthly
        case .yearly: return yearly
        }
    }

    public mutating func setCount(_ bucket: ForgetBucket, _ value: Int) {
        switch bucket {
        case .last: last = value
        case .hourly: hourly = value
        case .daily: daily = value
        case .weekly: weekly = value
        case .monthly: monthly = value
        case .yearly: yearly = value
        }
    }

    /// The `--keep-within-*` duration for a bucket (zero when not set).
    public func within(_ bucket: ForgetBucket) -> KeepDuration {
        withinBuckets[bucket] ?? KeepDuration()
    }

    /// True when no rule is set; restic then removes nothing.
    public var isEmpty: Bool {
        tags.isEmpty && within.isZero
            && ForgetBucket.allCases.allSatisfy { count($0) == 0 && within($0).isZero }
    }

    /// Refuses counts below -1 and negative durations, as restic does.
    public func validate() throws {
        for bucket in ForgetBucket.allCases where count(bucket) < -1 {
            throw ResticError.invalid("negative values other than -1 are not allowed for --keep-*")
        }
        for duration in [within] + ForgetBucket.allCases.map(within) {
            if duration.years < 0 || duration.months < 0 || duration.days < 0 || duration.hours < 0 {
                throw ResticError.invalid("durations containing negative values are not allowed for --keep-within*")
            }
        }
    }

    /// restic's text after "Applying Policy: ", e.g. "keep 7 daily, 4 weekly snapshots".
    public var description: String {
        var counts: [String] = []
        for bucket in ForgetBucket.allCases {
            let n = count(bucket)
            if n > 0 { counts.append("\(n) \(bucket.policyWord)") } else if n == -1 { counts.append("all \(bucket.policyWord)") }
        }
        var withins: [String] = []
        for bucket in ForgetBucket.allCases where bucket != .last && !within(bucket).isZero {
            withins.append("\(bucket.policyWord) snapshots within \(within(bucket))")
        }
        var text = counts.isEmpty ? "" : counts.joined(separator: ", ") + " snapshots"
        if !withins.isEmpty {
            if !text.isEmpty { text += ", " }
            text += withins.joined(separator: ", ")
        }
        if !tags.isEmpty {
            if !text.isEmpty { text += " and " }
            text += "all snapshots with tags " + ForgetPolicy.describe(tagLists: tags)
        }
        if !within.isZero {
            if !text.isEmpty { text += " and " }
            text += "all snapshots within \(within) of the newest"
        }
        return text.isEmpty ? "remove" : "keep " + text
    }

    /// Go's `%v` of restic's TagList: "[a, b]".
    static func describe(tagList: [String]) -> String {
        "[" + tagList.joined(separator: ", ") + "]"
    }

    /// Go's `%v` of restic's TagLists: "[[a, b] [c]]".
    static func describe(tagLists: [[String]]) -> String {
        "[" + tagLists.map(describe(tagList:)).joined(separator: " ") + "]"
    }

    /// Splits a `--keep-tag` value like restic: at commas, with whitespace around each tag
    /// trimmed; "" is the list holding the empty tag, which matches snapshots without tags.
    public static func tagList(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            String(part.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        }
    }

    /// restic's `HasTags`: all tags of the list are present, except that an empty tag met
    /// before any missing one matches a snapshot without tags.
    public static func snapshotHasTags(_ snapshotTags: [String], _ list: [String]) -> Bool {
        for tag in list {
            if tag.isEmpty && snapshotTags.isEmpty { return true }
            if !snapshotTags.contains(tag) { return false }
        }
        return true
    }
}
