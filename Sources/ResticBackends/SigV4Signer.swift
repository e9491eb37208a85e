import ResticCore
import ResticCrypto

/// AWS access keys; `description` never shows the secret or the session token.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "AWSCredentials(\(accessKeyID), secret hidden)" }
}

/// AWS Signature Version 4 (header form), as the S3 API reference defines it: canonical
/// request, string to sign, derived signing key, HMAC-SHA256 signature.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The `Authorization` header value for a request.
    /// - Parameters:
    ///   - canonicalURI: the path exactly as sent, already URI-encoded (`/bucket/key`).
    ///   - query: decoded query parameters; they are encoded and sorted here.
    ///   - headers: every header to sign, `host` and `x-amz-date` included.
    ///   - amzDate: `YYYYMMDDTHHMMSSZ`, the value of the `x-amz-date` header.
    public func authorization(method: String, canonicalURI: String, query: [(String, String)],
                              headers: [(String, String)], payloadHash: String, amzDate: String) -> String {
        let (canonical, signedHeaders) = Self.canonicalRequest(method: method, canonicalURI: canonicalURI, query: query,
                                                               headers: headers, payloadHash: payloadHash)
        let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n" + Self.hex(SHA256.digest(Array(canonical.utf8)))
        let signature = Self.hex(HMACSHA256.mac(key: signingKey(date: String(amzDate.prefix(8))),
                                                message: Array(stringToSign.utf8)))
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    /// The canonical request and the `SignedHeaders` list.
    static func canonicalRequest(method: String, canonicalURI: String, query: [(String, String)],
                                 headers: [(String, String)], payloadHash: String) -> (String, String) {
        let encoded: [(name: String, value: String)] = query.map {
            (URIEncoding.encode($0.0, keepSlash: false), URIEncoding.encode($0.1, keepSlash: false))
        }
        let sorted = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        let canonicalQuery = sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(trimmed(value))
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0, default: []].joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let request = [method, canonicalURI.isEmpty ? "/" : canonicalURI, canonicalQuery,
                       canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        return (request, signedHeaders)
    }

    func signingKey(date: String) -> [UInt8] {
        var key = HMACSHA256.mac(key: Array("AWS4\(credentials.secretAccessKey)".utf8), message: Array(date.utf8))
        for part in [region, service, "aws4_request"] {
            key = HMACSHA256.mac(key: key, message: Array(part.utf8))
        }
        return key
    }

    /// Leading and trailing blanks removed, inner runs of blanks collapsed to one space.
    static func trimmed(_ value: String) -> String {
        var out = ""
        var pendingSpace = false
        for character in value {
            if character == " " || character == "\t" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(character)
            }
        }
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }

    /// `YYYYMMDDTHHMMSSZ` for a Unix time in seconds (UTC, proleptic Gregorian calendar).
    public static func amzDate(unixTime: Int64) -> String {
        let days = unixTime >= 0 ? unixTime / 86400 : (unixTime - 86399) / 86400
        let secondOfDay = unixTime - days * 86400
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T" + pad(secondOfDay / 3600, 2)
            + pad(secondOfDay / 60 % 60, 2) + pad(secondOfDay % 60, 2) + "Z"
    }
}
