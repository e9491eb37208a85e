import Foundation
import ResticCore

enum TimeFormat {
    /// restic's "2006-01-02 15:04:05" in the local time zone.
    static func local(_ time: GoTime) -> String {
        let date = time.date
        let offset = TimeZone.current.secondsFromGMT(for: date)
        let shifted = time.seconds + Int64(offset)
        var days = shifted / 86400
        var rest = shifted % 86400
        if rest < 0 { rest += 86400; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, Int(rest / 3600), Int(rest % 3600 / 60), Int(rest % 60))
    }

    /// Go's default `time.Time.String()` in the local zone: "2006-01-02 15:04:05.999999999 -0700 MST".
    static func goString(_ time: GoTime) -> String {
        let date = time.date
        let offset = TimeZone.current.secondsFromGMT(for: date)
        var fraction = ""
        if time.nanoseconds != 0 {
            fraction = String(format: ".%09d", Int(time.nanoseconds))
            while fraction.hasSuffix("0") { fraction.removeLast() }
        }
        let sign = offset < 0 ? "-" : "+"
        let zone = String(format: "%@%02d%02d", sign, abs(offset) / 3600, abs(offset) % 3600 / 60)
        let name = TimeZone.current.abbreviation(for: date) ?? zone
        return local(time) + fraction + " " + zone + " " + (name == "GMT" ? "UTC" : name)
    }

    static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let (y, m, d) = GoTime.civilFromDays(days)
        return (Int(y), m, d)
    }
}

enum SizeFormat {
    /// restic's human-readable sizes: "1.234 MiB", "512 B". A unit is used only when the value
    /// is strictly above it, as restic's formatBytes does: 1024 → "1024 B", 4096 → "4.000 KiB".
    static func bytes(_ value: UInt64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        for exponent in stride(from: units.count, through: 1, by: -1) where value > UInt64(1) << (10 * exponent) {
            return String(format: "%.3f %@", Double(value) / Double(UInt64(1) << (10 * exponent)), units[exponent - 1])
        }
        return "\(value) B"
    }
}

extension TimeFormat {
    /// Parses restic's `--time` format "2006-01-02 15:04:05" in the local time zone.
    static func parseLocal(_ text: String) -> GoTime? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        let clock = parts[1].split(separator: ":").compactMap { Int($0) }
        guard date.count == 3, clock.count == 3, (1...12).contains(date[1]), (1...31).contains(date[2]),
              (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2]) else { return nil }
        let days = daysFromCivil(date[0], date[1], date[2])
        let naive = days * 86400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2])
        // The zone's offset at that wall-clock time: look it up near the instant, then refine.
        var offset = TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(naive)))
        offset = TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(naive - Int64(offset))))
        return GoTime(seconds: naive - Int64(offset), nanoseconds: 0, utcOffset: Int32(offset))
    }

    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        GoTime.daysFromCivil(Int64(year), month, day)
    }
}
