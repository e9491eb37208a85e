import ResticCore

/// An http(s) URL split the way the backends need it. The user info is kept apart from the
/// rest, so `redacted` (used in every message) never carries a user name or password.
struct HTTPURL: Sendable, Equatable {
    var scheme: String
    var user: String?
    var password: String?
    /// `host` or `host:port` as written; IPv6 literals keep their brackets.
    var hostPort: String
    /// "" or "/a/b", without a trailing slash, percent-escapes kept as written.
    var path: String

    var base: String { "\(scheme)://\(hostPort)\(path)" }
    var redacted: String { base }

    /// Parses `http(s)://[user[:password]@]host[:port][/path]`; `what` names the flag for errors.
    static func parse(_ text: String, what: String) throws -> HTTPURL {
        guard let schemeEnd = text.range(of: "://") else {
            throw ResticError.invalid("\(what): invalid URL \"\(redact(text))\": expected http:// or https://")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw ResticError.invalid("\(what): unsupported URL scheme \"\(scheme)\" (use http or https)")
        }
        var rest = text[schemeEnd.upperBound...]
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            rest = rest[slash...]
        } else {
            rest = rest[rest.endIndex...]
        }
        var user: String?
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let info = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                user = try percentDecode(info[..<colon], what: what)
                password = try percentDecode(info[info.index(after: colon)...], what: what)
            } else {
                user = try percentDecode(info, what: what)
            }
        }
        guard !authority.isEmpty else {
            throw ResticError.invalid("\(what): invalid URL \"\(redact(text))\": host is missing")
        }
        if rest.contains("?") || rest.contains("#") {
            throw ResticError.invalid("\(what): invalid URL \"\(redact(text))\": a query or fragment is not allowed")
        }
        var path = String(rest)
        while path.hasSuffix("/") { path.removeLast() }
        return HTTPURL(scheme: scheme, user: user, password: password, hostPort: String(authority), path: path)
    }

    /// The text with any `user:password@` part replaced, for error messages about bad input.
    static func redact(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        guard let at = afterScheme[..<authorityEnd].lastIndex(of: "@") else { return text }
        return String(text[..<schemeEnd.upperBound]) + "***@" + afterScheme[afterScheme.index(after: at)...]
    }

    static func percentDecode(_ text: Substring, what: String) throws -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard iterator.count >= 2,
                      let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16) else {
                    throw ResticError.invalid("\(what): invalid percent-escape in the URL's user info")
                }
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// RFC 3986 escaping as AWS's canonical requests want it: unreserved characters stay, every
/// other byte becomes %XX (upper case); `/` stays only where `keepSlash` says so.
enum URIEncoding {
    static func encode(_ text: String, keepSlash: Bool) -> String {
        let hex: [Character] = Array("0123456789ABCDEF")
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }
}
