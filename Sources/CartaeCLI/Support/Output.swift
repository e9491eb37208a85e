import Foundation

/// Writes command output: data to standard output, messages and warnings to standard error.
enum Output {
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func write(_ bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// A table as restic prints it: left-aligned columns padded to the widest cell.
    static func table(_ header: [String], _ rows: [[String]], footer: String? = nil) -> [String] {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (i, cell) in cells.enumerated() {
                out += i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) + "  "
            }
            while out.hasSuffix(" ") { out.removeLast() }
            return out
        }
        let ruler = String(repeating: "-", count: max(line(header).count, widths.reduce(0, +) + 2 * (widths.count - 1)))
        var lines = [line(header), ruler]
        lines += rows.map(line)
        lines.append(ruler)
        if let footer { lines.append(footer) }
        return lines
    }
}
