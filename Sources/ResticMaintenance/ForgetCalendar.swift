import Foundation
import ResticCore

/// The calendar arithmetic restic's forget policy does with Go's `time` package: wall-clock
/// fields in a snapshot's own UTC offset, ISO weeks, and `AddDate` for `--keep-within*`.
public enum ForgetCalendar {
    /// Local wall-clock fields of a time in the offset it was stored with.
    public struct Fields: Sendable, Equatable {
        public var year: Int64
        public var month: Int
        public var day: Int
        public var hour: Int
    }

    public static func fields(_ time: GoTime) -> Fields {
        let (days, secondOfDay) = localDays(time)
        let (y, m, d) = civil(fromDays: days)
        return Fields(year: y, month: m, day: d, hour: Int(secondOfDay / 3600))
    }

    /// Go's `time.ISOWeek`: the year and week of the Thursday in the same Monday-to-Sunday week.
    public static func isoWeek(_ time: GoTime) -> (year: Int64, week: Int) {
        let (days, _) = localDays(time)
        // 1970-01-01 was a Thursday; this is 0 for Monday … 6 for Sunday.
        let weekday = ((days + 3) % 7 + 7) % 7
        let thursday = days - weekday + 3
        let (year, _, _) = civil(fromDays: thursday)
        let dayOfYear = thursday - daysFromCivil(year, 1, 1)
        return (year, Int(dayOfYear / 7) + 1)
    }

    /// `t.AddDate(-years, -months, -days).Add(-hours)` as Go computes it.
    ///
    /// Go keeps the location a time was parsed into: an offset that matches the local zone at
    /// that instant makes the time "Local", and then `AddDate` re-resolves the offset by the zone's
    /// rules (across a DST change the result moves by an hour). Any other offset is a fixed zone.
    /// Returns nil when the result lies beyond what Int64 seconds can hold (it is then earlier than
    /// every snapshot).
    public static func subtract(_ duration: KeepDuration, from time: GoTime, localZone: TimeZone?) -> GoTime? {
        let (days, secondOfDay) = localDays(time)
        let (y, m, d) = civil(fromDays: days)
        // Go's Date normalises the month into the year first, then adds the days linearly.
        guard duration.years.magnitude < 1 << 40, duration.months.magnitude < 1 << 40,
              duration.days.magnitude < 1 << 40, duration.hours.magnitude < 1 << 40 else { return nil }
        var year = y - Int64(duration.years)
        var month = Int64(m) - 1 - Int64(duration.months)
        year += month >= 0 ? month / 12 : (month - 11) / 12
        month = ((month % 12) + 12) % 12 + 1
        let newDays = daysFromCivil(year, Int(month), 1) + Int64(d) - 1 - Int64(duration.days)
        let (wall, overflow) = newDays.multipliedReportingOverflow(by: 86400)
        guard !overflow, wall.magnitude < 1 << 60 else { return nil }
        let naive = wall + secondOfDay
        var offset = Int64(time.utcOffset)
        if let zone = localZone, isLocal(time, zone) {
            offset = offsetOfWallClock(naive, zone)
        }
        let seconds = naive - offset - Int64(duration.hours) * 3600
        return GoTime(seconds: seconds, nanoseconds: time.nanoseconds, utcOffset: Int32(offset))
    }

    /// True when Go's RFC 3339 parser would have put this time into the Local location.
    /// Offset 0 is always written as "Z", which Go parses into UTC, never into Local.
    static func isLocal(_ time: GoTime, _ zone: TimeZone) -> Bool {
        guard time.utcOffset != 0, time.seconds.magnitude < 1 << 52 else { return false }
        return zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(time.seconds))) == Int(time.utcOffset)
    }

    /// The offset Go's `time.Date` picks for a wall-clock time in a zone: the offset at the
    /// instant found by taking the wall clock as UTC and correcting once.
    static func offsetOfWallClock(_ naive: Int64, _ zone: TimeZone) -> Int64 {
        guard naive.magnitude < 1 << 52 else { return 0 }
        let guess = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(naive)))
        let utc = naive - Int64(guess)
        return Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utc))))
    }

    /// Days since 1970-01-01 of the local date, and the second of that day.
    static func localDays(_ time: GoTime) -> (days: Int64, secondOfDay: Int64) {
        let local = time.seconds &+ Int64(time.utcOffset)
        var days = local / 86400
        var second = local % 86400
        if second < 0 {
            second += 86400
            days -= 1
        }
        return (days, second)
    }

    /// Proleptic Gregorian calendar arithmetic, shared with GoTime.
    static func civil(fromDays days: Int64) -> (Int64, Int, Int) { GoTime.civilFromDays(days) }

    static func daysFromCivil(_ year: Int64, _ month: Int, _ day: Int) -> Int64 {
        GoTime.daysFromCivil(year, month, day)
    }
}
