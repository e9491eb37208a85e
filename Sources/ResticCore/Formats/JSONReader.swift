/// A strict pull parser over UTF-8 JSON bytes, following Go's `encoding/json` decoder.
///
/// Why not `JSONSerialization`/`JSONDecoder`: they lose `UInt64` precision, are slow on Linux for
/// million-blob indexes, and decode strings with Swift's (not Go's) replacement rules. The reader
/// works on a borrowed buffer, so it must not outlive the `withUnsafeBytes` call that made it.
///
/// Go semantics kept: whitespace is space/tab/CR/LF; raw control characters in strings are
/// errors; invalid UTF-8 becomes one U+FFFD per byte; `\u` surrogate pairs combine, lone ones
/// become U+FFFD; trailing non-space data is an error; nesting is limited to 10000 levels.
/// Object keys match exactly (Go's case-insensitive fallback is not copied).
struct JSONReader {
    let buf: UnsafeRawBufferPointer
    var pos = 0
    /// Names the document in error messages, e.g. "tree" or "index".
    var what: String

    // The current object key: a range of `buf`, or `keyDecoded` when it had escapes.
    private var keyStart = 0
    private var keyEnd = 0
    private var keyDecoded: [UInt8]?

    /// Number of `\u` escapes in the last string read that produced U+FFFD. Go's encoder writes
    /// `\ufffd` only for invalid input bytes, so this tells lossy strings apart.
    var lastStringReplacementEscapes = 0

    static let maxDepth = 10000

    init(_ buf: UnsafeRawBufferPointer, what: String) {
        self.buf = buf
        self.what = what
    }

    func syntaxError(_ message: String) -> FormatError {
        .malformedJSON("\(what): \(message) at byte \(pos)")
    }

    func typeError(_ message: String) -> FormatError {
        .invalidField("\(what): \(message) at byte \(pos)")
    }

    var atEnd: Bool { pos >= buf.count }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < buf.count {
            let c = buf[pos]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos += 1
        }
    }

    /// The next non-whitespace byte, not consumed; nil at the end of input.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return pos < buf.count ? buf[pos] : nil
    }

    @inline(__always)
    mutating func expect(_ c: UInt8) throws {
        guard peek() == c else {
            throw syntaxError(atEnd ? "unexpected end of input, expected '\(Character(Unicode.Scalar(c)))'"
                                    : "expected '\(Character(Unicode.Scalar(c)))'")
        }
        pos += 1
    }

    /// Requires that only whitespace is left.
    mutating func finish() throws {
        skipWhitespace()
        guard atEnd else { throw syntaxError("unexpected data after the top-level value") }
    }

    /// Consumes `null` if it is the next value.
    mutating func consumeNull() throws -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard pos + n <= buf.count else { throw syntaxError("truncated literal") }
        let p = word.utf8Start
        for j in 0..<n where buf[pos + j] != p[j] {
            throw syntaxError("invalid literal")
        }
        pos += n
    }

    /// A short description of the next value's JSON type, for type errors.
    mutating func nextKind() -> String {
        switch peek() {
        case nil: return "end of input"
        case UInt8(ascii: "{"): return "object"
        case UInt8(ascii: "["): return "array"
        case UInt8(ascii: "\""): return "string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "bool"
        case UInt8(ascii: "n"): return "null"
        default: return "number"
        }
    }

    // MARK: objects and arrays

    mutating func beginObject() throws {
        guard peek() == UInt8(ascii: "{") else {
            if atEnd { throw syntaxError("unexpected end of input, expected an object") }
            throw typeError("expected an object, found \(nextKind())")
        }
        pos += 1
    }

    /// Moves to the next member of the current object, reading its key and the ':'.
    /// Returns false (and consumes '}') when the object ends.
    mutating func nextKey(_ first: inout Bool) throws -> Bool {
        let c = peek()
        if c == UInt8(ascii: "}") { pos += 1; return false }
        if !first {
            guard c == UInt8(ascii: ",") else {
                throw syntaxError(c == nil ? "unexpected end of input in object" : "expected ',' or '}' in object")
            }
            pos += 1
            guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a key after ','") }
        } else if c != UInt8(ascii: "\"") {
            throw syntaxError(c == nil ? "unexpected end of input in object" : "expected a key or '}'")
        }
        first = false
        try readKey()
        try expect(UInt8(ascii: ":"))
        return true
    }

    private mutating func readKey() throws {
        pos += 1  // opening quote
        let start = pos
        while pos < buf.count {
            let c = buf[pos]
            if c == 0x22 {
                keyStart = start; keyEnd = pos; keyDecoded = nil
                pos += 1
                return
            }
            if c == 0x5C || c < 0x20 || c >= 0x80 { break }
            pos += 1
        }
        pos = start - 1
        keyDecoded = try readString()
    }

    /// True when the current key is exactly `name`.
    @inline(__always)
    func keyIs(_ name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        let p = name.utf8Start
        if let k = keyDecoded {
            guard k.count == n else { return false }
            for j in 0..<n where k[j] != p[j] { return false }
            return true
        }
        guard keyEnd - keyStart == n else { return false }
        for j in 0..<n where buf[keyStart + j] != p[j] { return false }
        return true
    }

    /// The current key as text, for error messages.
    var currentKey: String {
        if let k = keyDecoded { return String(decoding: k, as: UTF8.self) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: buf[keyStart..<keyEnd]), as: UTF8.self)
    }

    mutating func beginArray() throws {
        guard peek() == UInt8(ascii: "[") else {
            if atEnd { throw syntaxError("unexpected end of input, expected an array") }
            throw typeError("expected an array, found \(nextKind())")
        }
        pos += 1
    }

    /// Moves to the next array element; returns false (and consumes ']') when the array ends.
    mutating func nextElement(_ first: inout Bool) throws -> Bool {
        let c = peek()
        if c == UInt8(ascii: "]") { pos += 1; return false }
        if !first {
            guard c == UInt8(ascii: ",") else {
                throw syntaxError(c == nil ? "unexpected end of input in array" : "expected ',' or ']' in array")
            }
            pos += 1
            if peek() == UInt8(ascii: "]") { throw syntaxError("trailing ',' in array") }
        } else if c == nil {
            throw syntaxError("unexpected end of input in array")
        }
        first = false
        return true
    }

    // MARK: skipping and raw values

    /// Skips one value of any type, checking its syntax (iteratively, so deep nesting cannot
    /// exhaust the stack).
    mutating func skipValue() throws {
        var stack: [UInt8] = []  // '{' or '['
        var expectingKey = false
        repeat {
            if expectingKey {
                guard peek() == 0x22 else { throw syntaxError("expected a key") }
                _ = try readString()
                try expect(UInt8(ascii: ":"))
                expectingKey = false
            }
            guard let c = peek() else { throw syntaxError("unexpected end of input") }
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                pos += 1
                guard stack.count < Self.maxDepth else { throw syntaxError("nesting too deep") }
                stack.append(c)
                let close: UInt8 = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if peek() == close {
                    pos += 1
                    stack.removeLast()
                } else {
                    expectingKey = c == UInt8(ascii: "{")
                    continue
                }
            case 0x22: _ = try readString()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: _ = try scanNumber()
            }
            // After a complete value: close finished containers or move to the next member.
            while let top = stack.last {
                let close: UInt8 = top == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                let n = peek()
                if n == close {
                    pos += 1
                    stack.removeLast()
                } else if n == UInt8(ascii: ",") {
                    pos += 1
                    expectingKey = top == UInt8(ascii: "{")
                    break
                } else {
                    throw syntaxError(n == nil ? "unexpected end of input" : "expected ',' or '\(Character(Unicode.Scalar(close)))'")
                }
            }
        } while !stack.isEmpty
    }

    /// Skips one value and returns its exact bytes (like Go's `json.RawMessage`).
    mutating func readRawValue() throws -> [UInt8] {
        skipWhitespace()
        let start = pos
        try skipValue()
        return Array(buf[start..<pos])
    }

    /// Scans a number token by the JSON grammar and returns its byte range.
    mutating func scanNumber() throws -> Range<Int> {
        skipWhitespace()
        let start = pos
        func digit(_ i: Int) -> Bool { i < buf.count && buf[i] >= 0x30 && buf[i] <= 0x39 }
        if pos < buf.count && buf[pos] == UInt8(ascii: "-") { pos += 1 }
        guard digit(pos) else {
            throw syntaxError(pos >= buf.count ? "unexpected end of input" : "invalid character")
        }
        if buf[pos] == 0x30 {
            pos += 1
        } else {
            while digit(pos) { pos += 1 }
        }
        if pos < buf.count && buf[pos] == UInt8(ascii: ".") {
            pos += 1
            guard digit(pos) else { throw syntaxError("invalid number") }
            while digit(pos) { pos += 1 }
        }
        if pos < buf.count && (buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E")) {
            pos += 1
            if pos < buf.count && (buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard digit(pos) else { throw syntaxError("invalid number") }
            while digit(pos) { pos += 1 }
        }
        return start..<pos
    }
}
