import class Foundation.JSONSerialization
import class Foundation.NSNumber
import struct Foundation.Data
import NIOHTTP1
import ResticCore

/// A repository behind restic's REST protocol (rest-server, `rclone serve restic`). Objects are
/// addressed flat (`/data/<id>`, `/keys/<id>`, `/config`); the server files packs under
/// `data/XX/` itself, so restic and cartae-restic share one repository on the same server.
public struct RESTBackend: Backend {
    public let location: String
    public let connections: Int
    let url: HTTPURL
    let transport: HTTPTransport
    private let credentials: [(String, String)]

    static let v2MediaType = "application/vnd.x.restic.rest.v2"

    /// `address` is the part after `rest:`; user and password come from the URL unless given.
    public init(address: String, username: String? = nil, password: String? = nil, connections: Int = 5,
                settings: HTTPSettings = HTTPSettings(), statistics: BackendStatistics = BackendStatistics()) throws {
        var url = try HTTPURL.parse(address, what: "rest")
        if let username { url.user = username }
        if let password { url.password = password }
        self.url = url
        self.location = "rest:" + url.redacted
        self.connections = max(1, connections)
        self.transport = try HTTPTransport(settings: settings, statistics: statistics)
        if let user = url.user {
            let token = Base64.encodeString(Array("\(user):\(url.password ?? "")".utf8))
            credentials = [("Authorization", "Basic " + token)]
        } else {
            credentials = []
        }
    }

    private func objectURL(_ handle: FileHandle) -> String {
        handle.type == .config ? url.base + "/config" : url.base + "/\(handle.type.folderName)/\(handle.name)"
    }

    private func what(_ handle: FileHandle) -> String { "\(location): \(handle)" }

    private func send(_ method: HTTPMethod, _ target: String, what: String, headers: [(String, String)] = [],
                      body: [UInt8]? = nil) async throws -> HTTPReply {
        try await transport.send(HTTPRequestSpec(method: method, url: target, headers: credentials + headers, body: body),
                                 what: what)
    }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        let reply = try await send(.POST, objectURL(handle), what: what(handle),
                                   headers: [("Content-Type", "application/octet-stream")], body: data)
        guard (200...299).contains(reply.status) else {
            throw HTTPStatusFailure.error(reply, what: "\(what(handle)): save", detail: serverText(reply))
        }
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
        let reply = try await send(.GET, objectURL(handle), what: what(handle), headers: headers)
        return try RangeReply.bytes(reply, offset: offset, length: length, ranged: ranged, what: what(handle))
    }

    public func stat(_ handle: FileHandle) async throws -> Int {
        let reply = try await send(.HEAD, objectURL(handle), what: what(handle))
        guard reply.status == 200 else { throw HTTPStatusFailure.error(reply, what: what(handle)) }
        guard let size = reply.contentLength else {
            throw ResticError(.temporary, "\(what(handle)): the server sent no Content-Length")
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
        let what = "\(location): list \(type.folderName)"
        let reply = try await send(.GET, url.base + "/\(type.folderName)/", what: what,
                                   headers: [("Accept", Self.v2MediaType)])
        if reply.status == 404 { return [] }
        guard reply.status == 200 else { throw HTTPStatusFailure.error(reply, what: what, detail: serverText(reply)) }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(reply.body))
        } catch {
            throw ResticError(.temporary, "\(what): the server sent an invalid listing: \(error)")
        }
        if (reply.header("content-type") ?? "").hasPrefix(Self.v2MediaType), let entries = json as? [[String: Any]] {
            var found: [FileInfo] = []
            for entry in entries {
                guard let name = entry["name"] as? String, let size = (entry["size"] as? NSNumber)?.intValue else {
                    throw ResticError(.temporary, "\(what): the server sent an invalid listing entry")
                }
                if ObjectID(hex: name) != nil { found.append(FileInfo(name: name, size: size)) }
            }
            return found
        }
        // Protocol v1 servers list bare names; each size costs one HEAD.
        guard let names = json as? [String] else {
            throw ResticError(.temporary, "\(what): the server sent an invalid listing")
        }
        var found: [FileInfo] = []
        for name in names where ObjectID(hex: name) != nil {
            do {
                found.append(FileInfo(name: name, size: try await stat(FileHandle(type, name))))
            } catch let error as ResticError where error.kind == .notFound {
                continue  // removed between listing and stat
            }
        }
        return found
    }

    public func remove(_ handle: FileHandle) async throws {
        let reply = try await send(.DELETE, objectURL(handle), what: what(handle))
        // Gone already is what remove wants, and makes a retried delete harmless.
        guard (200...299).contains(reply.status) || reply.status == 404 else {
            throw HTTPStatusFailure.error(reply, what: "\(what(handle)): remove", detail: serverText(reply))
        }
    }

    public func repositoryExists() async throws -> Bool {
        let reply = try await send(.HEAD, objectURL(.config), what: what(.config))
        switch reply.status {
        case 200: return true
        case 404: return false
        default: throw HTTPStatusFailure.error(reply, what: what(.config))
        }
    }

    public func create() async throws {
        if try await repositoryExists() {
            throw ResticError.invalid("\(location): a repository already exists there (config file present)")
        }
        let reply = try await send(.POST, url.base + "/?create=true", what: "\(location): create repository")
        guard (200...299).contains(reply.status) else {
            throw HTTPStatusFailure.error(reply, what: "\(location): create repository", detail: serverText(reply))
        }
    }

    private func serverText(_ reply: HTTPReply) -> String? {
        let text = reply.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}

/// Reads the body of a (possibly ranged) GET and checks it holds exactly the bytes asked for.
enum RangeReply {
    static func bytes(_ reply: HTTPReply, offset: Int, length: Int?, ranged: Bool, what: String) throws -> [UInt8] {
        var body: [UInt8]
        switch reply.status {
        case 206:
            body = reply.body
        case 200:
            // A server that ignores Range sends the whole file.
            body = reply.body
            if ranged {
                guard offset <= body.count else { throw shortRead(what, offset: offset, length: length, size: body.count) }
                let end = length.map { min(body.count, offset + $0) } ?? body.count
                body = Array(body[offset..<end])
            }
        case 416:
            let size = reply.header("content-range").flatMap(totalSize) ?? 0
            throw shortRead(what, offset: offset, length: length, size: size)
        default:
            throw HTTPStatusFailure.error(reply, what: what)
        }
        if let expected = reply.contentLength, reply.status == 206 || !ranged, expected != reply.body.count {
            throw ResticError(.temporary, "\(what): received \(reply.body.count) of \(expected) bytes")
        }
        if let length, body.count != length {
            let total = reply.header("content-range").flatMap(totalSize)
            if let total, total < offset + length {
                throw shortRead(what, offset: offset, length: length, size: total)
            }
            if reply.status == 200 { throw shortRead(what, offset: offset, length: length, size: reply.body.count) }
            throw ResticError(.temporary, "\(what): received \(body.count) of \(length) bytes at offset \(offset)")
        }
        return body
    }

    static func shortRead(_ what: String, offset: Int, length: Int?, size: Int) -> ResticError {
        ResticError.corrupt("\(what): short read (\(length.map(String.init) ?? "all") bytes at offset \(offset) requested, the file has \(size) bytes)")
    }

    /// The total size from `Content-Range: bytes a-b/total` (or `bytes */total`).
    static func totalSize(_ header: String) -> Int? {
        guard let slash = header.lastIndex(of: "/") else { return nil }
        return Int(header[header.index(after: slash)...].trimmingCharacters(in: .whitespaces))
    }
}
