import Foundation
import Testing
@testable import CartaeStages

@Suite struct CronExpressionTests {
    /// Unix seconds of a UTC "YYYY-MM-DD HH:MM".
    static func t(_ text: String) -> Int64 {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).compactMap { Int($0) }
        return UTCCalendar.days(year: parts[0], month: parts[1], day: parts[2]) * 86400 + Int64(parts[3] * 3600 + parts[4] * 60)
    }

    @Test(arguments: [
        ("0 2 * * *", "2024-01-01 00:00", "2024-01-01 02:00"),
        ("0 2 * * *", "2024-01-01 02:00", "2024-01-02 02:00"),    // strictly after
        ("0 3 * * 0", "2024-06-01 12:00", "2024-06-02 03:00"),    // 2024-06-02 is a Sunday
        ("0 3 * * 7", "2024-06-02 03:00", "2024-06-09 03:00"),    // 7 is Sunday too
        ("0 4 1 * *", "2024-01-31 23:59", "2024-02-01 04:00"),
        ("0 4 1 * *", "2024-12-15 00:00", "2025-01-01 04:00"),
        ("0 0 29 2 *", "2023-03-01 00:00", "2024-02-29 00:00"),   // next leap day
        ("*/15 * * * *", "2024-01-01 10:07", "2024-01-01 10:15"),
        ("5/20 * * * *", "2024-01-01 10:46", "2024-01-01 11:05"),
        ("30 9 * jan-mar mon-fri", "2024-03-28 09:30", "2024-03-29 09:30"),
        ("30 9 * jan-mar mon-fri", "2024-03-29 09:30", "2025-01-01 09:30"),   // April is outside
        ("0 0 13 * fri", "2024-09-01 00:00", "2024-09-06 00:00"), // either day field matches (Friday the 6th)
        ("@weekly", "2024-06-05 00:00", "2024-06-09 00:00"),
        ("@monthly", "2024-06-05 00:00", "2024-07-01 00:00"),
        ("59 23 31 12 *", "2023-12-31 23:59", "2024-12-31 23:59"),
    ])
    func nextFire(_ expression: String, _ after: String, _ expected: String) throws {
        let cron = try CronExpression(parsing: expression)
        #expect(cron.nextFire(after: Self.t(after)) == Self.t(expected))
    }

    @Test func impossibleDatesNeverFire() throws {
        #expect(try CronExpression(parsing: "0 0 31 2 *").nextFire(after: Self.t("2024-01-01 00:00")) == nil)
        #expect(try CronExpression(parsing: "0 0 30 2 *").nextFire(after: Self.t("2024-01-01 00:00")) == nil)
    }

    @Test(arguments: [
        ("0 2 * *", "expected 5 fields"),
        ("60 2 * * *", "minute field \"60\": 60 is outside 0-59"),
        ("0 24 * * *", "hour field \"24\": 24 is outside 0-23"),
        ("0 0 0 * *", "day-of-month field \"0\": 0 is outside 1-31"),
        ("0 0 * 13 *", "month field \"13\": 13 is outside 1-12"),
        ("0 0 * * 8", "day-of-week field \"8\": 8 is outside 0-7"),
        ("0 0 * * mon-sun", "day-of-week field \"mon-sun\": range 1-0 runs backwards"),
        ("*/0 * * * *", "step \"0\" must be a positive number"),
        ("a * * * *", "\"a\" is not a number"),
        ("1,,2 * * * *", "empty list element"),
    ])
    func parseErrors(_ text: String, _ fragment: String) {
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(parsing: text) }
        do {
            _ = try CronExpression(parsing: text)
        } catch {
            #expect("\(error)".contains(fragment), "\(error)")
        }
    }

    /// Cross-check against a minute-by-minute walk with Foundation's Gregorian calendar.
    @Test(arguments: ["0 2 * * *", "0 3 * * 0", "0 4 1 * *", "*/7 1-3 * * 1,3,5", "15 12 1,15 * 2", "0 0 * 2 *", "45 23 28-31 * *"])
    func matchesABruteForceWalk(_ text: String) throws {
        let cron = try CronExpression(parsing: text)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var start = Self.t("2023-12-30 17:33")
        for _ in 0..<4 {
            guard let fast = cron.nextFire(after: start) else { Issue.record("no fire for \(text)"); return }
            var minute = (start / 60 + 1) * 60
            while true {
                let c = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: Date(timeIntervalSince1970: Double(minute)))
                if cron.minutes.contains(c.minute!) && cron.hours.contains(c.hour!) && cron.months.contains(c.month!)
                    && cron.matchesDay(day: c.day!, weekday: c.weekday! - 1) { break }
                minute += 60
            }
            #expect(fast == minute, "\(text) after \(UTCCalendar.format(start))")
            start = fast
        }
    }

    @Test func calendarHelpers() {
        #expect(UTCCalendar.days(year: 1970, month: 1, day: 1) == 0)
        #expect(UTCCalendar.days(year: 2000, month: 3, day: 1) == 11017)
        #expect(UTCCalendar.civil(fromDays: 19723) == (2024, 1, 1))
        #expect(UTCCalendar.weekday(days: 19723) == 1)   // 2024-01-01 was a Monday
        #expect(UTCCalendar.weekday(days: -1) == 3)      // 1969-12-31 was a Wednesday
        #expect(UTCCalendar.stamp(Self.t("2024-06-02 03:04") + 5) == "20240602_030405")
        #expect(UTCCalendar.format(Self.t("2024-06-02 03:04")) == "2024-06-02 03:04:00 UTC")
    }
}
