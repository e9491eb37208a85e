/// The few S3 XML documents the backend reads: ListObjectsV2 pages and error bodies. S3's
/// answers are flat and machine-written, so a tag scanner is enough; values are entity-decoded.
enum S3XML {
    struct ListPage: Equatable {
        var objects: [(key: String, size: Int)]
        var isTruncated: Bool
        var nextToken: String?

        static func == (lhs: ListPage, rhs: ListPage) -> Bool {
            lhs.objects.map(\.key) == rhs.objects.map(\.key) && lhs.objects.map(\.size) == rhs.objects.map(\.size)
                && lhs.isTruncated == rhs.isTruncated && lhs.nextToken == rhs.nextToken
        }
    }

    struct ErrorBody: Equatable {
        var code: String
        var message: String
    }

    enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        var description: String {
            switch self { case .invalid(let what): return "invalid S3 listing: \(what)" }
        }
    }

    static func listPage(_ bytes: [UInt8]) throws -> ListPage {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("<ListBucketResult") else { throw ParseError.invalid("no ListBucketResult element") }
        var objects: [(key: String, size: Int)] = []
        for entry in elements("Contents", in: text[...]) {
            guard let key = value("Key", in: entry), let sizeText = value("Size", in: entry),
                  let size = Int(sizeText), size >= 0 else {
                throw ParseError.invalid("an entry without Key or Size")
            }
            objects.append((key, size))
        }
        let truncated = value("IsTruncated", in: text[...]) == "true"
        let token = value("NextContinuationToken", in: text[...])
        if truncated && (token ?? "").isEmpty { throw ParseError.invalid("truncated without a continuation token") }
        return ListPage(objects: objects, isTruncated: truncated, nextToken: token)
    }

    /// The `<Code>` and `<Message>` of an S3 error document, when the body is one.
    static func errorBody(_ bytes: [UInt8]) -> ErrorBody? {
        let text = String(decoding: bytes.prefix(64 * 1024), as: UTF8.self)
        guard let error = elements("Error", in: text[...]).first, let code = value("Code", in: error) else { return nil }
        return ErrorBody(code: code, message: value("Message", in: error) ?? "")
    }

    /// The `<LocationConstraint>` of a GetBucketLocation answer ("" means us-east-1).
    static func locationConstraint(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("<LocationConstraint/>") || text.contains("<LocationConstraint />") { return "" }
        return value("LocationConstraint", in: text[...])
    }

    /// The inner text of every `<name>…</name>` element (attributes allowed on the opening tag).
    static func elements(_ name: String, in text: Substring) -> [Substring] {
        var found: [Substring] = []
        var rest = text
        while let open = rest.range(of: "<" + name) {
            let afterName = rest[open.upperBound...]
            guard let next = afterName.first, next == ">" || next == " " || next == "\t" || next == "\n",
                  let openEnd = afterName.firstIndex(of: ">") else {
                rest = afterName
                continue
            }
            let inner = afterName[afterName.index(after: openEnd)...]
            guard let close = inner.range(of: "</" + name + ">") else { break }
            found.append(inner[..<close.lowerBound])
            rest = inner[close.upperBound...]
        }
        return found
    }

    static func value(_ name: String, in text: Substring) -> String? {
        elements(name, in: text).first.map { decodeEntities($0) }
    }

    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let afterAmp = rest[rest.index(after: amp)...]
            guard let semicolon = afterAmp.firstIndex(of: ";"), afterAmp.distance(from: afterAmp.startIndex, to: semicolon) <= 10 else {
                out.append("&")
                rest = afterAmp
                continue
            }
            let entity = afterAmp[..<semicolon]
            var replacement: String?
            switch entity {
            case "amp": replacement = "&"
            case "lt": replacement = "<"
            case "gt": replacement = ">"
            case "quot": replacement = "\""
            case "apos": replacement = "'"
            default:
                let scalar: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst())
                } else {
                    scalar = nil
                }
                replacement = scalar.flatMap(Unicode.Scalar.init).map { String(Character($0)) }
            }
            if let replacement {
                out += replacement
                rest = afterAmp[afterAmp.index(after: semicolon)...]
            } else {
                out.append("&")
                rest = afterAmp
            }
        }
        out += rest
        return out
    }
}
