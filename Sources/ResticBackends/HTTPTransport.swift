import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL
import ResticCore
import CartaeSync

/// TLS and timeout settings of an HTTP client; backends with equal settings share one client.
public struct HTTPSettings: Hashable, Sendable {
    /// PEM files whose certificates replace the system's roots of trust (`--cacert`).
    public var caCertificateFiles: [String]
    /// Skips certificate verification (`--insecure-tls`).
    public var insecureTLS: Bool
    public var connectTimeout: Duration
    /// Longest pause inside a transfer before the connection counts as stalled.
    public var stallTimeout: Duration

    public init(caCertificateFiles: [String] = [], insecureTLS: Bool = false,
                connectTimeout: Duration = .seconds(10), stallTimeout: Duration = .seconds(60)) {
        self.caCertificateFiles = caCertificateFiles
        self.insecureTLS = insecureTLS
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
    }
}

/// The process's HTTP clients: created on first use, one per distinct `HTTPSettings` (normally
/// exactly one), and shut down once at process end by `shutdown()`.
public enum HTTPBackends {
    private static let clients = Locked<[HTTPSettings: HTTPClient]>([:])

    static func client(_ settings: HTTPSettings) throws -> HTTPClient {
        try clients.withLock { clients in
            if let existing = clients[settings] { return existing }
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                    configuration: try configuration(settings))
            clients[settings] = client
            return client
        }
    }

    /// Closes every client this process opened; call once before exiting.
    public static func shutdown() async {
        let open = clients.withLock { clients in
            let all = Array(clients.values)
            clients.removeAll()
            return all
        }
        for client in open { try? await client.shutdown() }
    }

    static func configuration(_ settings: HTTPSettings) throws -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if settings.insecureTLS {
            tls.certificateVerification = .none
        } else if !settings.caCertificateFiles.isEmpty {
            var roots: [NIOSSLCertificate] = []
            for file in settings.caCertificateFiles {
                do {
                    roots += try NIOSSLCertificate.fromPEMFile(file)
                } catch {
                    throw ResticError.invalid("--cacert: cannot load certificates from \(file): \(error)")
                }
            }
            if roots.isEmpty { throw ResticError.invalid("--cacert: \(file(settings)) holds no PEM certificate") }
            tls.trustRoots = .certificates(roots)
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeAmount(settings.connectTimeout), read: timeAmount(settings.stallTimeout),
                           write: timeAmount(settings.stallTimeout)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        // Failed connects surface at once; RetryBackend decides what deserves another try.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    private static func file(_ settings: HTTPSettings) -> String {
        settings.caCertificateFiles.joined(separator: ", ")
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// One request as the backends build it.
struct HTTPRequestSpec: Sendable {
    var method: HTTPMethod
    var url: String
    var headers: [(String, String)] = []
    var body: [UInt8]?
}

/// A whole response, body collected.
struct HTTPReply: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first(name: name) }
    var contentLength: Int? { header("content-length").flatMap { Int($0) } }
    var bodyText: String { String(decoding: body.prefix(2048), as: UTF8.self) }
}

/// Sends requests on a shared client, counts them, and turns transport failures into
/// `ResticError`s classified for retry. Messages name the object, never a credential.
struct HTTPTransport: Sendable {
    let client: HTTPClient
    let statistics: BackendStatistics
    /// Upper bound on one request, however slowly bytes keep trickling in.
    let deadline: Duration

    init(settings: HTTPSettings, statistics: BackendStatistics, deadline: Duration = .seconds(3600)) throws {
        client = try HTTPBackends.client(settings)
        self.statistics = statistics
        self.deadline = deadline
    }

    /// Sends `spec`; `what` names the object for error messages; `limit` caps the body size.
    func send(_ spec: HTTPRequestSpec, what: String, limit: Int = 1 << 30) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: spec.url)
        request.method = spec.method
        for (name, value) in spec.headers { request.headers.add(name: name, value: value) }
        if let body = spec.body {
            request.body = .bytes(body)
        }
        statistics.recordRequest(sent: spec.body?.count ?? 0)
        do {
            let response = try await client.execute(request, timeout: HTTPBackends.timeAmount(deadline))
            var buffer = try await response.body.collect(upTo: limit)
            let body = buffer.readBytes(length: buffer.readableBytes) ?? []
            statistics.recordReceived(body.count)
            return HTTPReply(status: Int(response.status.code), headers: response.headers, body: body)
        } catch {
            throw Self.failure(error, what: what)
        }
    }

    /// Classifies a transport error: configuration and certificate problems are permanent,
    /// everything that a new connection may fix (timeouts, resets, refusals) is temporary.
    static func failure(_ error: any Error, what: String) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let error = error as? ResticError { return error }
        if error is NIOTooManyBytesError {
            return ResticError.corrupt("\(what): the server sent a larger response than expected")
        }
        if let client = error as? HTTPClientError {
            if client == .cancelled { return CancellationError() }
            let permanent: [HTTPClientError] = [.invalidURL, .emptyHost, .emptyScheme, .missingSocketPath,
                                                .alreadyShutdown, .redirectLimitReached, .redirectCycleDetected,
                                                .invalidRedirectConfiguration, .invalidHTTPVersionConfiguration]
            if permanent.contains(client) {
                return ResticError(.other, "\(what): \(client)")
            }
            return ResticError(.temporary, "\(what): \(describe(client))")
        }
        if let ssl = error as? NIOSSLError {
            if case .handshakeFailed = ssl { return tlsFailure(ssl, what: what) }
            if ssl == .unableToValidateCertificate || ssl == .noCertificateToValidate {
                return tlsFailure(ssl, what: what)
            }
        }
        if error is NIOSSLExtraError { return tlsFailure(error, what: what) }
        return ResticError(.temporary, "\(what): \(error)")
    }

    private static func tlsFailure(_ error: any Error, what: String) -> ResticError {
        ResticError(.other, "\(what): TLS handshake failed: \(error) (for a private CA pass its certificate with --cacert FILE; --insecure-tls skips verification)")
    }

    private static func describe(_ error: HTTPClientError) -> String {
        switch error {
        case .readTimeout: return "the server stopped sending (read timeout)"
        case .writeTimeout: return "the server stopped receiving (write timeout)"
        case .connectTimeout: return "connection timed out"
        case .remoteConnectionClosed: return "the server closed the connection"
        case .deadlineExceeded: return "the request took too long"
        default: return "\(error)"
        }
    }
}

/// Maps an HTTP status that is not a success to an error classified for retry.
enum HTTPStatusFailure {
    static func error(_ reply: HTTPReply, what: String, detail: String? = nil) -> ResticError {
        let text = detail.map { ": \($0)" } ?? ""
        let status = reply.status
        switch status {
        case 404:
            return ResticError(.notFound, "\(what): not found (HTTP 404)\(text)")
        case 401, 403:
            return ResticError(.other, "\(what): access denied (HTTP \(status))\(text)")
        case 408, 429, 500...599:
            return ResticError(.temporary, "\(what): server error (HTTP \(status))\(text)")
        default:
            return ResticError(.other, "\(what): unexpected HTTP status \(status)\(text)")
        }
    }
}
