import Foundation
import ResticCore
import ResticRepository

/// Why a snapshot was kept; `description` is restic's wording ("daily snapshot",
/// "oldest monthly snapshot", "within 1d", "has tags [a, b]", "weekly within 1y").
public enum KeepReason: Sendable, Equatable, CustomStringConvertible {
    case hasTags([String])
    case within(KeepDuration)
    /// A `--keep-<bucket>` count; `oldest` marks the group's oldest snapshot kept while counts were left.
    case bucket(ForgetBucket, oldest: Bool)
    /// A `--keep-within-<bucket>` duration.
    case bucketWithin(ForgetBucket, KeepDuration, oldest: Bool)

    public var description: String {
        switch self {
        case .hasTags(let list): return "has tags " + ForgetPolicy.describe(tagList: list)
        case .within(let duration): return "within \(duration)"
        case .bucket(let bucket, let oldest): return (oldest ? "oldest " : "") + "\(KeepReason.name(bucket)) snapshot"
        case .bucketWithin(let bucket, let duration, let oldest):
            return (oldest ? "oldest " : "") + "\(KeepReason.name(bucket)) within \(duration)"
        }
    }

    static func name(_ bucket: ForgetBucket) -> String {
        bucket == .last ? "last" : bucket.policyWord
    }
}

/// The counts each `--keep-<bucket>` rule had left after a snapshot was evaluated (-1 = unlimited).
public struct ForgetCounters: Sendable, Equatable {
    public var last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0

    public init(last: Int = 0, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, monthly: Int = 0, yearly: Int = 0) {
        self.last = last
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.yearly = yearly
    }
}

/// The policy's verdict on one snapshot.
public struct ForgetDecision: Sendable {
    public var record: SnapshotRecord
    public var kept: Bool
    /// Empty for removed snapshots.
    public var reasons: [KeepReason]
    public var counters: ForgetCounters
}

extension ForgetPolicy {
    /// Applies the policy to one group, as restic's `ApplyPolicy` does. Returns the group newest
    /// first (snapshots with equal times keep their input order).
    ///
    /// `now` decides which snapshots are "in the future": the newest snapshot before `now` is the
    /// reference for `--keep-within*`. `localZone` is the zone restic would run in; it only matters
    /// for `--keep-within*` across a DST change (see `ForgetCalendar.subtract`).
    public func apply(to records: [SnapshotRecord], now: GoTime, localZone: TimeZone? = nil) -> [ForgetDecision] {
        let list = records.enumerated().sorted { a, b in
            let ta = a.element.snapshot.time, tb = b.element.snapshot.time
            if ta > tb { return true }
            if tb > ta { return false }
            return a.offset < b.offset
        }.map(\.element)
        guard !list.isEmpty else { return [] }

        var latest = GoTime.goZero
        for record in list where record.snapshot.time > latest && record.snapshot.time < now {
            latest = record.snapshot.time
        }
        /// True when `time` is after `latest - duration`.
        func isWithin(_ time: GoTime, _ duration: KeepDuration) -> Bool {
            guard let threshold = ForgetCalendar.subtract(duration, from: latest, localZone: localZone) else { return true }
            return time > threshold
        }

        var remaining = ForgetBucket.allCases.map(count)
        // restic starts each bucket's "last value" at -1 (a value no real bucket has).
        var lastValue = [Int64](repeating: -1, count: ForgetBucket.allCases.count)
        var lastWithinValue = [Int64](repeating: -1, count: ForgetBucket.allCases.count)
        var decisions: [ForgetDecision] = []
        decisions.reserveCapacity(list.count)

        for (nr, record) in list.enumerated() {
            let time = record.snapshot.time
            let isOldest = nr == list.count - 1
            var reasons: [KeepReason] = []

            for tagList in tags where ForgetPolicy.snapshotHasTags(record.snapshot.tags, tagList) {
                reasons.append(.hasTags(tagList))
            }
            if !within.isZero && isWithin(time, within) {
                reasons.append(.within(within))
            }
            for bucket in ForgetBucket.allCases {
                let i = bucket.rawValue
                guard remaining[i] > 0 || remaining[i] == -1 else { continue }
                let value = ForgetPolicy.bucketValue(bucket, time, position: nr)
                guard value != lastValue[i] || isOldest else { continue }
                reasons.append(.bucket(bucket, oldest: value == lastValue[i]))
                lastValue[i] = value
                if remaining[i] > 0 { remaining[i] -= 1 }
            }
            for bucket in ForgetBucket.allCases where bucket != .last {
                let duration = within(bucket)
                guard !duration.isZero, isWithin(time, duration) else { continue }
                let i = bucket.rawValue
                let value = ForgetPolicy.bucketValue(bucket, time, position: nr)
                guard value != lastWithinValue[i] || isOldest else { continue }
                reasons.append(.bucketWithin(bucket, duration, oldest: value == lastWithinValue[i]))
                lastWithinValue[i] = value
            }

            let counters = ForgetCounters(last: remaining[0], hourly: remaining[1], daily: remaining[2],
                                          weekly: remaining[3], monthly: remaining[4], yearly: remaining[5])
            decisions.append(ForgetDecision(record: record, kept: !reasons.isEmpty, reasons: reasons, counters: counters))
        }
        return decisions
    }

    /// The period a snapshot falls into, from its wall-clock time in its own offset:
    /// YYYYMMDDHH, YYYYMMDD, ISO YYYYWW, YYYYMM, YYYY; `last` uses the position in the group.
    public static func bucketValue(_ bucket: ForgetBucket, _ time: GoTime, position: Int) -> Int64 {
        if bucket == .last { return Int64(position) }
        if bucket == .weekly {
            let (year, week) = ForgetCalendar.isoWeek(time)
            return year * 100 + Int64(week)
        }
        let f = ForgetCalendar.fields(time)
        switch bucket {
        case .hourly: return f.year * 1_000_000 + Int64(f.month * 10_000 + f.day * 100 + f.hour)
        case .daily: return f.year * 10_000 + Int64(f.month * 100 + f.day)
        case .monthly: return f.year * 100 + Int64(f.month)
        default: return f.year
        }
    }
}
