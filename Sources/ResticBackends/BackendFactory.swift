import ResticCore

/// A backend stack ready for the repository, and the counters every layer of it feeds.
public struct OpenedBackend: Sendable {
    public let backend: any Backend
    public let statistics: BackendStatistics
}

/// `-o key=value` options that concern backends, parsed once. Keys of backends not in use are
/// ignored as restic does; unknown keys of the backend in use are refused.
public struct BackendOptions: Sendable {
    public private(set) var values: [(key: String, value: String)] = []

    public init(_ options: [String]) throws {
        for option in options {
            guard let equals = option.firstIndex(of: "=") else {
                throw ResticError.invalid("-o \(option): expected key=value")
            }
            values.append((String(option[..<equals]).lowercased(), String(option[option.index(after: equals)...])))
        }
    }

    /// The options under `namespace.` with the namespace removed, in command-line order.
    func scoped(_ namespace: String) -> [(key: String, value: String)] {
        values.compactMap { $0.key.hasPrefix(namespace + ".") ? (String($0.key.dropFirst(namespace.count + 1)), $0.value) : nil }
    }

    func value(_ key: String) -> String? { values.last { $0.key == key }?.value }

    static func connections(_ value: String, key: String) throws -> Int {
        guard let count = Int(value), (1...128).contains(count) else {
            throw ResticError.invalid("-o \(key): invalid value \"\(value)\" (a number from 1 to 128)")
        }
        return count
    }

    /// "30s", "2m", "500ms", "1h"; a bare number means seconds.
    static func duration(_ value: String, key: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where value.hasSuffix(suffix) {
            if let number = Double(value.dropLast(suffix.count)), number >= 0 {
                return .milliseconds(Int64((number * scale * 1000).rounded()))
            }
        }
        if let number = Double(value), number >= 0 { return .milliseconds(Int64((number * 1000).rounded())) }
        throw ResticError.invalid("-o \(key): invalid duration \"\(value)\" (e.g. 30s, 2m, 500ms)")
    }
}

/// Turns a repository location as restic spells it into a decorated backend:
/// `PATH`, `local:PATH`, `rest:http(s)://[user:pass@]host:port/path`,
/// `s3:http(s)://host[:port]/bucket[/prefix]`, `s3:host/bucket[/prefix]`.
public enum BackendFactory {
    static let otherSchemes = ["sftp:", "b2:", "azure:", "gs:", "swift:", "rclone:"]

    /// - Parameters:
    ///   - environment: the process environment (AWS_*, RESTIC_REST_USERNAME/PASSWORD).
    ///   - cacheDirectory: where remote repositories keep their local cache; nil for none.
    ///   - report: told about retries and cache problems (one line each); nil stays silent.
    /// A location fit for messages and logs: an http(s) URL's `user:password@` becomes `***@`.
    public static func redacted(_ location: String) -> String {
        HTTPURL.redact(location)
    }

    public static func open(location: String, options: [String] = [], environment: [String: String] = [:],
                            http: HTTPSettings = HTTPSettings(), cacheDirectory: String? = nil,
                            report: (@Sendable (String) -> Void)? = nil) throws -> OpenedBackend {
        // Outermost layer below the cache: the crash-test hook sees every repository write (off unless set).
        let opened = CrashPoint.wrap(try openUncached(location: location, options: options, environment: environment,
                                                      http: http, report: report))
        // Local repositories are read as fast as a cache would be; only remote ones get one.
        guard let cacheDirectory, location.hasPrefix("rest:") || location.hasPrefix("s3:") else { return opened }
        do {
            let cached = try CachingBackend(opened.backend, directory: cacheDirectory, key: opened.backend.location)
            return OpenedBackend(backend: cached, statistics: opened.statistics)
        } catch {
            report?("unable to open cache in \(cacheDirectory): \(error); continuing without cache")
            return opened
        }
    }

    static func openUncached(location: String, options: [String], environment: [String: String], http: HTTPSettings,
                             report: (@Sendable (String) -> Void)?) throws -> OpenedBackend {
        let options = try BackendOptions(options)
        let statistics = BackendStatistics()
        var http = http
        var policy = RetryPolicy.standard
        for (key, value) in options.scoped("retry") {
            switch key {
            case "max-attempts": policy.maxAttempts = try BackendOptions.connections(value, key: "retry.max-attempts")
            case "max-time": policy.maxElapsed = try BackendOptions.duration(value, key: "retry.max-time")
            default: throw ResticError.invalid("-o retry.\(key): unknown option (known: retry.max-attempts, retry.max-time)")
            }
        }
        for (key, value) in options.scoped("http") {
            switch key {
            case "timeout": http.stallTimeout = try BackendOptions.duration(value, key: "http.timeout")
            case "connect-timeout": http.connectTimeout = try BackendOptions.duration(value, key: "http.connect-timeout")
            default: throw ResticError.invalid("-o http.\(key): unknown option (known: http.timeout, http.connect-timeout)")
            }
        }
        let generalConnections = try options.value("connections").map { try BackendOptions.connections($0, key: "connections") }

        if location.hasPrefix("rest:") {
            var connections = generalConnections ?? 5
            for (key, value) in options.scoped("rest") {
                guard key == "connections" else {
                    throw ResticError.invalid("-o rest.\(key): unknown option (known: rest.connections)")
                }
                connections = try BackendOptions.connections(value, key: "rest.connections")
            }
            let rest = try RESTBackend(address: String(location.dropFirst(5)),
                                       username: environment["RESTIC_REST_USERNAME"].flatMap { $0.isEmpty ? nil : $0 },
                                       password: environment["RESTIC_REST_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 },
                                       connections: connections, settings: http, statistics: statistics)
            return decorated(rest, connections: connections, policy: policy, statistics: statistics, report: report)
        }
        if location.hasPrefix("s3:") {
            var configuration = try S3Configuration.parse(location)
            if let generalConnections { configuration.connections = generalConnections }
            for (key, value) in options.scoped("s3") { try configuration.apply(option: key, value: value) }
            let s3 = try S3Backend(configuration: configuration,
                                   credentials: try AWSCredentialSource.resolve(environment: environment),
                                   environment: environment, settings: http, statistics: statistics)
            return decorated(s3, connections: configuration.connections, policy: policy, statistics: statistics,
                             report: report)
        }
        for scheme in otherSchemes where location.hasPrefix(scheme) {
            throw ResticError.invalid("repository \(HTTPURL.redact(location).split(separator: "@").last ?? ""): backend \"\(scheme.dropLast())\" is not supported (use a local path, rest: or s3:)")
        }
        let path = location.hasPrefix("local:") ? String(location.dropFirst(6)) : location
        guard !path.isEmpty else { throw ResticError.invalid("repository location is empty") }
        var connections = generalConnections
        for (key, value) in options.scoped("local") {
            guard key == "connections" else {
                throw ResticError.invalid("-o local.\(key): unknown option (known: local.connections)")
            }
            connections = try BackendOptions.connections(value, key: "local.connections")
        }
        var backend: any Backend = MeteredBackend(LocalBackend(path: path), statistics: statistics)
        // Local files are limited only on request: the engine's defaults are tuned for disks.
        if let connections { backend = ConnectionLimitBackend(backend, connections: connections) }
        return OpenedBackend(backend: backend, statistics: statistics)
    }

    /// Retry outside, limit inside: a request waiting out its backoff holds no connection.
    static func decorated(_ backend: any Backend, connections: Int, policy: RetryPolicy, statistics: BackendStatistics,
                          report: (@Sendable (String) -> Void)?) -> OpenedBackend {
        let limited = ConnectionLimitBackend(backend, connections: connections)
        let retried = RetryBackend(limited, policy: policy, statistics: statistics, report: report)
        return OpenedBackend(backend: retried, statistics: statistics)
    }
}
