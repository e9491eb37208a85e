/// A standard five-field cron expression (minute hour day-of-month month day-of-week) with
/// lists, ranges, steps, month and weekday names, 7 for Sunday and the `@hourly`, `@daily`,
/// `@weekly`, `@monthly`, `@yearly` shortcuts. Times are UTC. As in Vixie cron, when both
/// day fields are restricted a day matching either one fires.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public init(parsing text: String) throws {
        let trimmed = text.trimmingSpaces
        let shortcuts = ["@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                         "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"]
        let expanded = shortcuts[trimmed.lowercased()] ?? trimmed
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(message: "\"\(text)\": expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        self.text = trimmed
        minutes = try Self.field(fields[0], "minute", 0...59, names: [:], in: text)
        hours = try Self.field(fields[1], "hour", 0...23, names: [:], in: text)
        daysOfMonth = try Self.field(fields[2], "day-of-month", 1...31, names: [:], in: text)
        months = try Self.field(fields[3], "month", 1...12, names: Self.monthNames, in: text)
        var weekdays = try Self.field(fields[4], "day-of-week", 0...7, names: Self.dayNames, in: text)
        if weekdays.remove(7) != nil { weekdays.insert(0) }
        daysOfWeek = weekdays
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    public var description: String { text }

    static let monthNames = ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
                             "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12]
    static let dayNames = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]

    private static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>,
                              names: [String: Int], in expression: String) throws -> Set<Int> {
        func fail(_ why: String) -> ParseError {
            ParseError(message: "\"\(expression)\": \(name) field \"\(text)\": \(why)")
        }
        func value(_ token: Substring) throws -> Int {
            if let number = Int(token) {
                guard range.contains(number) else { throw fail("\(number) is outside \(range.lowerBound)-\(range.upperBound)") }
                return number
            }
            if let named = names[token.lowercased()] { return named }
            throw fail("\"\(token)\" is not a number\(names.isEmpty ? "" : " or a name")")
        }
        var result = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw fail("empty list element") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw fail("more than one step") }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else { throw fail("step \"\(pieces[1])\" must be a positive number") }
                step = s
            }
            let base = pieces[0]
            var low: Int, high: Int
            if base == "*" {
                low = range.lowerBound
                high = range.upperBound == 7 ? 6 : range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw fail("range \(low)-\(high) runs backwards") }
            } else {
                low = try value(base)
                // "5/15" means from 5 to the end in steps of 15, as in Vixie cron.
                high = pieces.count == 2 ? (range.upperBound == 7 ? 6 : range.upperBound) : low
            }
            result.formUnion(stride(from: low, through: high, by: step))
        }
        return result
    }

    /// Whether a civil UTC date (weekday 0 = Sunday) matches the day fields.
    func matchesDay(day: Int, weekday: Int) -> Bool {
        let domOK = daysOfMonth.contains(day)
        let dowOK = daysOfWeek.contains(weekday)
        if dayOfMonthRestricted && dayOfWeekRestricted { return domOK || dowOK }
        return domOK && dowOK
    }

    /// The first time strictly after `seconds` (Unix seconds, UTC) at which the expression
    /// fires, on a whole minute; nil when none comes within ten years (e.g. "0 0 31 2 *").
    public func nextFire(after seconds: Int64) -> Int64? {
        var minute = Self.floorDiv(seconds, 60) + 1
        let limit = minute + 10 * 366 * 24 * 60
        while minute < limit {
            let dayNumber = Self.floorDiv(minute, 1440)
            let civil = UTCCalendar.civil(fromDays: dayNumber)
            guard months.contains(civil.month) else {
                let next = civil.month == 12 ? (civil.year + 1, 1) : (civil.year, civil.month + 1)
                minute = UTCCalendar.days(year: next.0, month: next.1, day: 1) * 1440
                continue
            }
            guard matchesDay(day: civil.day, weekday: UTCCalendar.weekday(days: dayNumber)) else {
                minute = (dayNumber + 1) * 1440
                continue
            }
            let minuteOfDay = Int(minute - dayNumber * 1440)
            guard hours.contains(minuteOfDay / 60) else {
                minute = dayNumber * 1440 + Int64(minuteOfDay / 60 + 1) * 60
                continue
            }
            guard minutes.contains(minuteOfDay % 60) else {
                minute += 1
                continue
            }
            return minute * 60
        }
        return nil
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}

/// Proleptic Gregorian calendar arithmetic on days since 1970-01-01, in UTC.
public enum UTCCalendar {
    /// Howard Hinnant's days_from_civil.
    public static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func civil(fromDays z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (Int(y), Int(m), Int(d))
    }

    /// 0 = Sunday; 1970-01-01 was a Thursday.
    public static func weekday(days: Int64) -> Int {
        Int(((days % 7) + 11) % 7)
    }

    /// "YYYYMMDD_HHMMSS" for log file names.
    public static func stamp(_ seconds: Int64) -> String {
        let days = CronExpression.floorDiv(seconds, 86400)
        let (y, m, d) = civil(fromDays: days)
        let s = Int(seconds - days * 86400)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)\(two(m))\(two(d))_\(two(s / 3600))\(two(s / 60 % 60))\(two(s % 60))"
    }

    /// "YYYY-MM-DD HH:MM:SS UTC" for messages.
    public static func format(_ seconds: Int64) -> String {
        let days = CronExpression.floorDiv(seconds, 86400)
        let (y, m, d) = civil(fromDays: days)
        let s = Int(seconds - days * 86400)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d)) \(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60)) UTC"
    }
}
