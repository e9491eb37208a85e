import ResticCore

/// restic's `--keep-within` durations: `NyNmNdNh` (years, months, days, hours; `m` is months),
/// applied as calendar arithmetic on the snapshot's wall-clock time.
public struct KeepDuration: Sendable, Equatable, CustomStringConvertible {
    public var years = 0, months = 0, days = 0, hours = 0

    public init(years: Int = 0, months: Int = 0, days: Int = 0, hours: Int = 0) {
        self.years = years
        self.months = months
        self.days = days
        self.hours = hours
    }

    /// Parses "1y2m3d4h" (any subset, in any order, each number followed by its unit).
    public init(parsing text: String) throws {
        guard !text.isEmpty else { throw ResticError.invalid("invalid duration \"\": empty") }
        var number = ""
        var seen = false
        for character in text {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number) else {
                throw ResticError.invalid("invalid duration \"\(text)\": expected a number before \"\(character)\"")
            }
            // A repeated unit replaces the earlier value, as restic's parser does ("1d2d" is 2d).
            switch character {
            case "y": years = value
            case "m": months = value
            case "d": days = value
            case "h": hours = value
            default: throw ResticError.invalid("invalid duration \"\(text)\": unknown unit \"\(character)\" (use y, m, d, h)")
            }
            number = ""
            seen = true
        }
        guard number.isEmpty, seen else {
            throw ResticError.invalid("invalid duration \"\(text)\": a number needs a unit (y, m, d, h)")
        }
    }

    public var isZero: Bool { years == 0 && months == 0 && days == 0 && hours == 0 }

    public var description: String {
        var out = ""
        if years != 0 { out += "\(years)y" }
        if months != 0 { out += "\(months)m" }
        if days != 0 { out += "\(days)d" }
        if hours != 0 { out += "\(hours)h" }
        return out.isEmpty ? "0h" : out
    }
}
