/// restic's include/exclude patterns: slash-separated glob components (`*`, `?`, `[a-z]`, `\`
/// escapes) where `**` spans any number of components. An absolute pattern must match from the
/// first component; a relative one may match a run of components anywhere in the path, so
/// `foo` matches `/a/foo` and everything below it.
public struct PathPattern: Sendable, Hashable {
    public let text: String
    let parts: [[UInt8]]
    let absolute: Bool
    let caseInsensitive: Bool

    public init(_ text: String, caseInsensitive: Bool = false) {
        self.text = text
        self.caseInsensitive = caseInsensitive
        let normalized = caseInsensitive ? text.lowercased() : text
        absolute = normalized.hasPrefix("/")
        parts = normalized.split(separator: "/").map { Array($0.utf8) }
    }

    /// True when the pattern matches `path` (absolute, components separated by `/`).
    public func matches(_ path: String) -> Bool {
        let text = caseInsensitive ? path.lowercased() : path
        let components = text.split(separator: "/").map { Array($0.utf8) }
        return Self.match(parts[...], components, anchored: absolute)
    }

    /// True when some path below `path` could still match, so a directory must be entered.
    public func mayMatchBelow(_ path: String) -> Bool {
        guard absolute else { return true }
        let text = caseInsensitive ? path.lowercased() : path
        let components = text.split(separator: "/").map { Array($0.utf8) }
        for (i, component) in components.enumerated() {
            guard i < parts.count else { return true }
            if parts[i] == Array("**".utf8) { return true }
            if !Glob.match(parts[i], component) { return false }
        }
        return true
    }

    static func match(_ pattern: ArraySlice<[UInt8]>, _ path: [[UInt8]], anchored: Bool) -> Bool {
        if let star = pattern.firstIndex(of: Array("**".utf8)) {
            // Expand `**` into 0...n single-component wildcards, as restic does.
            let before = pattern[pattern.startIndex..<star], after = pattern[(star + 1)...]
            let room = path.count - before.count - after.count
            guard room >= 0 else { return false }
            for extra in 0...room {
                var expanded = Array(before)
                expanded.append(contentsOf: Array(repeating: Array("*".utf8), count: extra))
                expanded.append(contentsOf: after)
                if match(expanded[...], path, anchored: anchored) { return true }
            }
            return false
        }
        guard !pattern.isEmpty else { return path.isEmpty }
        guard pattern.count <= path.count else { return false }
        let maxOffset = anchored ? 0 : path.count - pattern.count
        for offset in stride(from: maxOffset, through: 0, by: -1) {
            var ok = true
            for (i, part) in pattern.enumerated() where !Glob.match(part, path[offset + i]) {
                ok = false
                break
            }
            if ok { return true }
        }
        return false
    }
}

/// One path component against one glob component, as Go's `filepath.Match`.
enum Glob {
    static func match(_ pattern: [UInt8], _ name: [UInt8]) -> Bool {
        var p = 0, n = 0
        var starP = -1, starN = 0
        while n < name.count {
            if p < pattern.count {
                switch pattern[p] {
                case UInt8(ascii: "*"):
                    starP = p; starN = n; p += 1
                    continue
                case UInt8(ascii: "?"):
                    p += 1; n += 1
                    continue
                case UInt8(ascii: "["):
                    if let (matched, next) = matchClass(pattern, p, name[n]), matched {
                        p = next; n += 1
                        continue
                    }
                case UInt8(ascii: "\\") where p + 1 < pattern.count:
                    if pattern[p + 1] == name[n] { p += 2; n += 1; continue }
                default:
                    if pattern[p] == name[n] { p += 1; n += 1; continue }
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starN += 1
            n = starN
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// Matches `[...]` at `start`; returns whether `c` is in the class and the index after it.
    static func matchClass(_ pattern: [UInt8], _ start: Int, _ c: UInt8) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < pattern.count && (pattern[i] == UInt8(ascii: "^") || pattern[i] == UInt8(ascii: "!")) {
            negate = true; i += 1
        }
        var matched = false
        var first = true
        while i < pattern.count && (first || pattern[i] != UInt8(ascii: "]")) {
            first = false
            var low = pattern[i]
            if low == UInt8(ascii: "\\") && i + 1 < pattern.count { i += 1; low = pattern[i] }
            var high = low
            if i + 2 < pattern.count && pattern[i + 1] == UInt8(ascii: "-") && pattern[i + 2] != UInt8(ascii: "]") {
                high = pattern[i + 2]
                i += 2
            }
            if low <= c && c <= high { matched = true }
            i += 1
        }
        guard i < pattern.count else { return nil }  // unterminated class never matches
        return (matched != negate, i + 1)
    }
}
