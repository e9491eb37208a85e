import Foundation

/// Reads `.env` files as docker compose and most dotenv loaders do: `KEY=VALUE` lines, an
/// optional `export ` prefix, `#` comments, values in single quotes (taken literally) or double
/// quotes (with `\n`, `\t`, `\"`, `\\` escapes), unquoted values trimmed and cut at ` #`.
public enum DotEnv {
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// The variables of a `.env` text, later lines overriding earlier ones; every malformed
    /// line is reported, none stops the parse.
    public static func parse(_ text: String) -> (values: [String: String], problems: [Problem]) {
        var values: [String: String] = [:]
        var problems: [Problem] = []
        // "\r\n" is one Character in Swift, so line ends are normalised before splitting.
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n")
        var lines = normalised.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        var number = 0
        while let raw = lines.popFirst() {
            number += 1
            var line = Substring(raw)
            line = line.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count).drop { $0 == " " } }
            guard let equals = line.firstIndex(of: "=") else {
                problems.append(Problem(line: number, message: "expected KEY=VALUE"))
                continue
            }
            let key = line[..<equals].trimmingSpaces
            guard isValidName(key) else {
                problems.append(Problem(line: number, message: "invalid variable name \"\(key)\""))
                continue
            }
            var rest = line[line.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            guard let quote = rest.first, quote == "\"" || quote == "'" else {
                if let comment = rest.range(of: " #") { rest = rest[..<comment.lowerBound] }
                values[key] = rest.trimmingSpaces
                continue
            }
            // A quoted value may span lines; collect until the closing quote.
            var body = String(rest.dropFirst())
            let startLine = number
            while !hasClosingQuote(body, quote) {
                guard let next = lines.popFirst() else { break }
                number += 1
                body += "\n" + next
            }
            guard let closing = closingQuoteIndex(body, quote) else {
                problems.append(Problem(line: startLine, message: "unterminated \(quote == "'" ? "single" : "double") quote"))
                continue
            }
            let inner = String(body[..<closing])
            let after = body[body.index(after: closing)...].trimmingSpaces
            if !after.isEmpty && !after.hasPrefix("#") {
                problems.append(Problem(line: startLine, message: "unexpected text after the closing quote"))
                continue
            }
            values[key] = quote == "'" ? inner : unescape(inner)
        }
        return (values, problems)
    }

    /// Shell-style variable names: a letter or underscore, then letters, digits, underscores.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic && first.isASCII else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    private static func hasClosingQuote(_ body: String, _ quote: Character) -> Bool {
        closingQuoteIndex(body, quote) != nil
    }

    private static func closingQuoteIndex(_ body: String, _ quote: Character) -> String.Index? {
        var index = body.startIndex
        while index < body.endIndex {
            let c = body[index]
            if c == "\\" && quote == "\"" {
                index = body.index(after: index)
                if index < body.endIndex { index = body.index(after: index) }
                continue
            }
            if c == quote { return index }
            index = body.index(after: index)
        }
        return nil
    }

    private static func unescape(_ text: String) -> String {
        var out = ""
        var escaping = false
        for c in text {
            if escaping {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                default: out.append(c)
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        if escaping { out.append("\\") }
        return out
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
