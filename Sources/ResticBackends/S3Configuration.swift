import Foundation
import ResticCore

/// Where an S3 repository lives and how to reach it, parsed from restic's location syntax
/// (`s3:https://host[:port]/bucket[/prefix]`, `s3:host/bucket[/prefix]`) and `-o s3.*`.
public struct S3Configuration: Sendable, Equatable {
    public enum BucketLookup: String, Sendable {
        /// Virtual-host style for Amazon's endpoints, path style everywhere else (restic's default).
        case auto
        case dns
        case path
    }

    /// `host` or `host:port` of the service.
    public var endpoint: String
    public var useHTTP: Bool
    public var bucket: String
    /// Key prefix inside the bucket, without leading or trailing slash ("" = bucket root).
    public var prefix: String
    /// Signing region; nil means "from AWS_DEFAULT_REGION, the endpoint's name, or us-east-1".
    public var region: String?
    public var bucketLookup: BucketLookup = .auto
    public var storageClass: String?
    public var connections: Int = 5
    /// Keys per ListObjectsV2 page (S3 caps it at 1000); small values exercise continuation in tests.
    var maxKeys = 1000

    public init(endpoint: String, useHTTP: Bool = false, bucket: String, prefix: String = "") {
        self.endpoint = endpoint
        self.useHTTP = useHTTP
        self.bucket = bucket
        self.prefix = prefix
    }

    /// Parses a whole `s3:…` location as restic does.
    public static func parse(_ location: String) throws -> S3Configuration {
        guard location.hasPrefix("s3:") else { throw ResticError.invalid("s3: invalid location \"\(location)\"") }
        var text = String(location.dropFirst(3))
        if text.hasPrefix("http://") || text.hasPrefix("https://") {
            let url = try HTTPURL.parse(text, what: "s3")
            if url.user != nil {
                throw ResticError.invalid("s3: credentials in the URL are not supported; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            guard url.path.count > 1 else { throw ResticError.invalid("s3: bucket name not found in \(url.redacted)") }
            let (bucket, prefix) = split(String(url.path.dropFirst()))
            return try make(endpoint: url.hostPort, useHTTP: url.scheme == "http", bucket: bucket, prefix: prefix)
        }
        if text.hasPrefix("//") { text.removeFirst(2) }
        let (endpoint, rest) = split(text)
        let (bucket, prefix) = split(rest)
        return try make(endpoint: endpoint, useHTTP: false, bucket: bucket, prefix: prefix)
    }

    private static func split(_ text: String) -> (String, String) {
        guard let slash = text.firstIndex(of: "/") else { return (text, "") }
        return (String(text[..<slash]), String(text[text.index(after: slash)...]))
    }

    private static func make(endpoint: String, useHTTP: Bool, bucket: String, prefix: String) throws -> S3Configuration {
        guard !endpoint.isEmpty, !bucket.isEmpty else {
            throw ResticError.invalid("s3: invalid format, host/region or bucket name not found")
        }
        let parts = prefix.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") { throw ResticError.invalid("s3: the prefix \"\(prefix)\" must not contain \"..\"") }
        return S3Configuration(endpoint: endpoint, useHTTP: useHTTP, bucket: bucket, prefix: parts.joined(separator: "/"))
    }

    /// Applies `-o s3.region=…`, `s3.bucket-lookup=…`, `s3.storage-class=…`, `s3.connections=…`.
    public mutating func apply(option key: String, value: String) throws {
        switch key {
        case "region":
            region = value.isEmpty ? nil : value
        case "bucket-lookup":
            guard let lookup = BucketLookup(rawValue: value) else {
                throw ResticError.invalid("-o s3.bucket-lookup: invalid value \"\(value)\" (use auto, dns or path)")
            }
            bucketLookup = lookup
        case "storage-class":
            storageClass = value.isEmpty ? nil : value
        case "connections":
            connections = try BackendOptions.connections(value, key: "s3.connections")
        case "list-objects-v1":
            // ListObjectsV2 is all this backend speaks; restic's switch for old servers is refused openly.
            if value == "true" { throw ResticError.invalid("-o s3.list-objects-v1: not supported (ListObjectsV2 only)") }
        default:
            throw ResticError.invalid("-o s3.\(key): unknown option (known: s3.region, s3.bucket-lookup, s3.storage-class, s3.connections)")
        }
    }

    /// The region requests are signed for before the service says otherwise.
    func initialRegion(environment: [String: String]) -> String {
        if let region { return region }
        if let region = environment["AWS_DEFAULT_REGION"], !region.isEmpty { return region }
        if let region = environment["AWS_REGION"], !region.isEmpty { return region }
        return Self.regionFromEndpoint(endpoint) ?? "us-east-1"
    }

    /// `s3.eu-west-1.amazonaws.com`, `s3-eu-west-1.amazonaws.com`, `s3.dualstack.eu-west-1.amazonaws.com`.
    static func regionFromEndpoint(_ endpoint: String) -> String? {
        let host = endpoint.split(separator: ":").first.map(String.init) ?? endpoint
        guard host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") else { return nil }
        let labels = host.split(separator: ".").map(String.init)
        guard let first = labels.first else { return nil }
        if first.hasPrefix("s3-"), first != "s3-external-1" { return String(first.dropFirst(3)) }
        guard first == "s3", labels.count >= 4 else { return nil }
        let candidate = labels[1] == "dualstack" ? labels[2] : labels[1]
        return candidate == "amazonaws" ? nil : candidate
    }

    /// Whether the bucket goes into the host name (virtual-host style) rather than the path.
    var usesVirtualHost: Bool {
        switch bucketLookup {
        case .dns: return true
        case .path: return false
        case .auto:
            let host = endpoint.split(separator: ":").first.map(String.init) ?? endpoint
            // Dotted names break the wildcard certificate, so they stay path style.
            return (host.hasSuffix("amazonaws.com") || host.hasSuffix("amazonaws.com.cn")) && !bucket.contains(".")
                && bucket == bucket.lowercased()
        }
    }
}

/// Finds AWS credentials as restic's S3 backend does, minus instance metadata: environment
/// first, then the shared credentials file; nil means anonymous (unsigned) requests.
public enum AWSCredentialSource {
    public static func resolve(environment: [String: String]) throws -> AWSCredentials? {
        let key = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        switch (key, secret) {
        case let (key?, secret?):
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)
        case (_?, nil):
            throw ResticError.invalid("s3: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, _?):
            throw ResticError.invalid("s3: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (nil, nil):
            return try sharedFile(environment: environment)
        }
    }

    static func sharedFile(environment: [String: String]) throws -> AWSCredentials? {
        let home = environment["HOME"] ?? ""
        let path = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? (home.isEmpty ? "" : home + "/.aws/credentials")
        guard !path.isEmpty, let data = FileManager.default.contents(atPath: path) else { return nil }
        let profile = environment["AWS_PROFILE"] ?? "default"
        return parse(String(decoding: data, as: UTF8.self), profile: profile)
    }

    /// Reads one profile of an INI-style credentials file.
    static func parse(_ text: String, profile: String) -> AWSCredentials? {
        var section = ""
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard section == profile, let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values[name] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard let key = values["aws_access_key_id"], let secret = values["aws_secret_access_key"],
              !key.isEmpty, !secret.isEmpty else { return nil }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }
}
