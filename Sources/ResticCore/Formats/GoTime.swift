import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Go `time.Time` as restic writes it: keeps nanoseconds and the UTC offset so re-encoding is
/// byte exact.
///
/// Equality compares all three fields (so two renderings of one instant differ, as their JSON
/// does); ordering compares only the instant.
public struct GoTime: Sendable, Hashable, Comparable {
    /// Unix seconds (UTC).
    public var seconds: Int64
    /// 0..<1_000_000_000.
    public var nanoseconds: Int32
    /// Seconds east of UTC used when rendering.
    public var utcOffset: Int32

    public init(seconds: Int64, nanoseconds: Int32, utcOffset: Int32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.utcOffset = utcOffset
    }

    /// Go's zero `time.Time` (0001-01-01T00:00:00Z), what restic writes for an unset time.
    public static let goZero = GoTime(seconds: -62_135_596_800, nanoseconds: 0, utcOffset: 0)

    public var isGoZero: Bool { seconds == GoTime.goZero.seconds && nanoseconds == 0 }

    public static func < (a: GoTime, b: GoTime) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// Same instant, rendered with another offset.
    public func withUTCOffset(_ offset: Int32) -> GoTime {
        GoTime(seconds: seconds, nanoseconds: nanoseconds, utcOffset: offset)
    }

    // MARK: clock and conversions

    /// The current time with the machine's local offset (honours `TZ`), like Go's `time.Now()`.
    public static func now() -> GoTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return local(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    /// An instant rendered in the machine's local zone, as Go's `time.Unix(s, ns)` is
    /// (file times in trees use this offset, with the zone rules valid at that instant).
    public static func local(seconds: Int64, nanoseconds: Int32) -> GoTime {
        var t = time_t(seconds)
        var parts = tm()
        let offset: Int32 = localtime_r(&t, &parts) != nil ? Int32(parts.tm_gmtoff) : 0
        return GoTime(seconds: seconds, nanoseconds: nanoseconds, utcOffset: offset)
    }

    public var date: Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9)
    }

    /// `date` rounded to the nearest microsecond (Date has no more precision).
    public init(date: Date, utcOffset: Int32 = 0) {
        let micros = (date.timeIntervalSince1970 * 1e6).rounded()
        let s = (micros / 1e6).rounded(.down)
        guard let whole = Int64(exactly: s), let frac = Int32(exactly: (micros - s * 1e6) * 1000) else {
            self.init(seconds: 0, nanoseconds: 0, utcOffset: utcOffset)
            return
        }
        self.init(seconds: whole, nanoseconds: frac, utcOffset: utcOffset)
    }

    // MARK: civil calendar

    /// Local wall-clock fields for this time and offset.
    var civil: (year: Int64, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let local = seconds &+ Int64(utcOffset)
        var days = local / 86400
        var secOfDay = Int(local % 86400)
        if secOfDay < 0 {
            days -= 1
            secOfDay += 86400
        }
        let (y, m, d) = GoTime.civilFromDays(days)
        return (y, m, d, secOfDay / 3600, secOfDay / 60 % 60, secOfDay % 60)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
    public static func daysFromCivil(_ year: Int64, _ month: Int, _ day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civilFromDays(_ days: Int64) -> (Int64, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// restic's `fixTime`: a year below 0 or above 9999 is moved into range (Go's `AddDate` on
    /// the year, so 29 February may roll over to 1 March); everything else is unchanged.
    public var clampedForJSON: GoTime {
        let c = civil
        guard c.year < 0 || c.year > 9999 else { return self }
        let year: Int64 = c.year < 0 ? 0 : 9999
        var month = c.month, day = c.day
        if day > GoTime.daysIn(month: month, year: year) {
            day -= GoTime.daysIn(month: month, year: year)
            month += 1
        }
        let days = GoTime.daysFromCivil(year, month, day)
        let local = days * 86400 + Int64(c.hour * 3600 + c.minute * 60 + c.second)
        return GoTime(seconds: local - Int64(utcOffset), nanoseconds: nanoseconds, utcOffset: utcOffset)
    }
}
