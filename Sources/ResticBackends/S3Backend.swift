#if canImport(Glibc)
import Glibc
#endif
import NIOHTTP1
import ResticCore
import ResticCrypto
import CartaeSync

/// A repository in an S3 bucket (AWS or any S3-compatible service), in restic's layout:
/// `<prefix>/config`, `<prefix>/data/XX/<id>`, `<prefix>/keys/<id>`, … Requests are signed with
/// SigV4; uploads carry their real SHA-256 and MD5, so the service refuses a damaged body.
public struct S3Backend: Backend {
    public let location: String
    public let connections: Int
    let configuration: S3Configuration
    let credentials: AWSCredentials?
    let transport: HTTPTransport
    /// The signing region; it changes once if the service names another one for the bucket.
    private let region: RegionState

    private final class RegionState: Sendable {
        let value: Locked<String>
        init(_ region: String) { value = Locked(region) }
    }

    public init(configuration: S3Configuration, credentials: AWSCredentials?, environment: [String: String] = [:],
                settings: HTTPSettings = HTTPSettings(), statistics: BackendStatistics = BackendStatistics()) throws {
        self.configuration = configuration
        self.credentials = credentials
        self.connections = max(1, configuration.connections)
        self.transport = try HTTPTransport(settings: settings, statistics: statistics)
        self.region = RegionState(configuration.initialRegion(environment: environment))
        let scheme = configuration.useHTTP ? "http" : "https"
        let prefix = configuration.prefix.isEmpty ? "" : "/" + configuration.prefix
        location = "s3:\(scheme)://\(configuration.endpoint)/\(configuration.bucket)\(prefix)"
    }

    /// The region requests are currently signed for.
    public var currentRegion: String { region.value.withLock { $0 } }

    func key(_ handle: FileHandle) -> String {
        configuration.prefix.isEmpty ? handle.relativePath : configuration.prefix + "/" + handle.relativePath
    }

    private func what(_ handle: FileHandle) -> String { "\(location): \(handle)" }

    // MARK: requests

    /// Builds, signs and sends one request; `key` nil addresses the bucket itself.
    func send(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
              body: [UInt8]? = nil, what: String) async throws -> HTTPReply {
        let payloadHash = body.map { SigV4Signer.hex(SHA256.digest($0)) } ?? SigV4Signer.emptyPayloadHash
        for attempt in 0..<2 {
            let signingRegion = currentRegion
            let spec = signed(method, key: key, query: query, headers: headers, body: body,
                              payloadHash: payloadHash, region: signingRegion)
            let reply = try await transport.send(spec, what: what)
            // A bucket in another region answers with its region; sign for it and ask again.
            if attempt == 0, [301, 307, 400].contains(reply.status),
               let hinted = reply.header("x-amz-bucket-region"), !hinted.isEmpty, hinted != signingRegion {
                region.value.withLock { $0 = hinted }
                continue
            }
            return reply
        }
        throw ResticError(.other, "\(what): the service keeps redirecting to another region")
    }

    private func signed(_ method: HTTPMethod, key: String?, query: [(String, String)], headers: [(String, String)],
                        body: [UInt8]?, payloadHash: String, region: String) -> HTTPRequestSpec {
        let scheme = configuration.useHTTP ? "http" : "https"
        let endpoint = Self.normalizedHost(configuration.endpoint, https: !configuration.useHTTP)
        let host: String
        var path: String
        if configuration.usesVirtualHost {
            host = configuration.bucket + "." + endpoint
            path = "/"
        } else {
            host = endpoint
            path = "/" + URIEncoding.encode(configuration.bucket, keepSlash: false)
            if key != nil { path += "/" }
        }
        if let key { path += URIEncoding.encode(key, keepSlash: true) }
        let queryString = query
            .map { URIEncoding.encode($0.0, keepSlash: false) + "=" + URIEncoding.encode($0.1, keepSlash: false) }
            .joined(separator: "&")
        var all = headers
        all.append(("Host", host))
        all.append(("x-amz-date", SigV4Signer.amzDate(unixTime: Int64(time(nil)))))
        all.append(("x-amz-content-sha256", payloadHash))
        if let credentials {
            if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }
            let signer = SigV4Signer(credentials: credentials, region: region)
            let amzDate = all.first { $0.0 == "x-amz-date" }?.1 ?? ""
            all.append(("Authorization", signer.authorization(method: method.rawValue, canonicalURI: path, query: query,
                                                              headers: all, payloadHash: payloadHash, amzDate: amzDate)))
        }
        let url = "\(scheme)://\(host)\(path)" + (queryString.isEmpty ? "" : "?" + queryString)
        return HTTPRequestSpec(method: method, url: url, headers: all, body: body)
    }

    /// The host as clients send it in `Host`: default ports dropped.
    static func normalizedHost(_ endpoint: String, https: Bool) -> String {
        let defaultPort = https ? ":443" : ":80"
        return endpoint.hasSuffix(defaultPort) ? String(endpoint.dropLast(defaultPort.count)) : endpoint
    }

    /// Turns an S3 error answer into an error classified for retry, with S3's own code and message.
    func failure(_ reply: HTTPReply, what: String) -> ResticError {
        let body = S3XML.errorBody(reply.body)
        let detail = body.map { "\($0.code): \($0.message)" }
        switch body?.code {
        case "NoSuchBucket":
            return ResticError(.other, "\(location): bucket \"\(configuration.bucket)\" does not exist")
        case "NoSuchKey":
            return ResticError(.notFound, "\(what): not found")
        case "InvalidAccessKeyId", "SignatureDoesNotMatch":
            return ResticError(.other, "\(what): the service refused the credentials (\(body?.code ?? "")); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        case "AuthorizationHeaderMalformed", "PermanentRedirect":
            let hint = reply.header("x-amz-bucket-region").map { "; the bucket is in \($0), use -o s3.region=\($0)" } ?? ""
            return ResticError(.other, "\(what): wrong region \(currentRegion)\(hint)")
        case "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "BadDigest",
             "XAmzContentSHA256Mismatch", "IncompleteBody", "RequestTimeTooSkewed":
            return ResticError(.temporary, "\(what): \(detail ?? "HTTP \(reply.status)")")
        default:
            return HTTPStatusFailure.error(reply, what: what, detail: detail)
        }
    }

    // MARK: Backend

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        var headers = [("Content-Type", "application/octet-stream"),
                       ("Content-MD5", Base64.encodeString(MD5.digest(data)))]
        if let storageClass = configuration.storageClass { headers.append(("x-amz-storage-class", storageClass)) }
        let reply = try await send(.PUT, key: key(handle), headers: headers, body: data, what: what(handle))
        guard reply.status == 200 else { throw failure(reply, what: "\(what(handle)): save") }
    }

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        if length == 0 {
            _ = try await stat(handle)
            return []
        }
        var headers: [(String, String)] = []
        let ranged = offset > 0 || length != nil
        if ranged {
            headers.append(("Range", "bytes=\(offset)-" + (length.map { String(offset + $0 - 1) } ?? "")))
        }
        let reply = try await send(.GET, key: key(handle), headers: headers, what: what(handle))
        guard reply.status == 200 || reply.status == 206 || reply.status == 416 else {
            throw failure(reply, what: what(handle))
        }
        return try RangeReply.bytes(reply, offset: offset, length: length, ranged: ranged, what: what(handle))
    }

    public func stat(_ handle: FileHandle) async throws -> Int {
        let reply = try await send(.HEAD, key: key(handle), what: what(handle))
        guard reply.status == 200 else { throw failure(reply, what: what(handle)) }
        guard let size = reply.contentLength else {
            throw ResticError(.temporary, "\(what(handle)): the service sent no Content-Length")
        }
        return size
    }

    public func list(_ type: FileType) async throws -> [FileInfo] {
        if type == .config {
            do {
                return [FileInfo(name: "config", size: try await stat(.config))]
            } catch let error as ResticError where error.kind == .notFound {
                return []
            }
        }
        let folder = (configuration.prefix.isEmpty ? "" : configuration.prefix + "/") + type.folderName + "/"
        let what = "\(location): list \(type.folderName)"
        var found: [FileInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", folder)]
            if let token { query.append(("continuation-token", token)) }
            if configuration.maxKeys != 1000 { query.append(("max-keys", String(configuration.maxKeys))) }
            let reply = try await send(.GET, key: nil, query: query, what: what)
            guard reply.status == 200 else { throw failure(reply, what: what) }
            let page: S3XML.ListPage
            do {
                page = try S3XML.listPage(reply.body)
            } catch {
                throw ResticError(.temporary, "\(what): \(error)")
            }
            for object in page.objects where object.key.hasPrefix(folder) {
                let relative = object.key.dropFirst(folder.count)
                let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
                // Packs sit one folder deeper (data/XX/id); everything else directly in its folder.
                guard parts.count == (type == .pack ? 2 : 1), let name = parts.last,
                      ObjectID(hex: String(name)) != nil else { continue }
                found.append(FileInfo(name: String(name), size: object.size))
            }
            token = page.isTruncated ? page.nextToken : nil
        } while token != nil
        return found
    }

    public func remove(_ handle: FileHandle) async throws {
        let reply = try await send(.DELETE, key: key(handle), what: what(handle))
        guard (200...299).contains(reply.status) || reply.status == 404 && S3XML.errorBody(reply.body)?.code != "NoSuchBucket" else {
            throw failure(reply, what: "\(what(handle)): remove")
        }
    }

    public func repositoryExists() async throws -> Bool {
        let reply = try await send(.HEAD, key: key(.config), what: what(.config))
        switch reply.status {
        case 200: return true
        case 404: return false
        default: throw failure(reply, what: what(.config))
        }
    }

    /// Creates the bucket when it is missing, then checks that no repository is there yet.
    public func create() async throws {
        let what = "\(location): bucket \(configuration.bucket)"
        let head = try await send(.HEAD, key: nil, what: what)
        switch head.status {
        case 200:
            break
        case 404:
            var body: [UInt8]?
            let signingRegion = currentRegion
            if signingRegion != "us-east-1" {
                body = Array("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(signingRegion)</LocationConstraint></CreateBucketConfiguration>".utf8)
            }
            let reply = try await send(.PUT, key: nil, body: body, what: "\(what): create")
            let code = S3XML.errorBody(reply.body)?.code
            guard reply.status == 200 || code == "BucketAlreadyOwnedByYou" else {
                throw failure(reply, what: "\(what): create")
            }
        default:
            throw failure(head, what: what)
        }
        if try await repositoryExists() {
            throw ResticError.invalid("\(location): a repository already exists there (config file present)")
        }
    }
}
