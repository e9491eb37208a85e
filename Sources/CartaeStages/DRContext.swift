import Foundation
import ResticArchiver
import ResticCore
import ResticRepository

/// What every stage needs: the configuration, where to report, and the snapshot settings.
public struct DRContext: Sendable {
    public var config: DRConfig
    public var console: DRConsole
    public var programVersion: String

    public init(config: DRConfig, console: DRConsole, programVersion: String) {
        self.config = config
        self.console = console
        self.programVersion = programVersion
    }

    /// Snapshot options: the configured host, the stage's tags, restic's default compression.
    func backupOptions(tags: [String]) -> BackupOptions {
        var options = BackupOptions(hostname: config.host)
        options.tags = tags
        options.programVersion = programVersion
        return options
    }

    /// Runs `body` on a freshly indexed repository under a shared lock, as `backup` does.
    func withBackupLock<T: Sendable>(_ repository: Repository, _ body: (IndexedRepository) async throws -> T) async throws -> T {
        try await RepositoryLock.withLock(repository, exclusive: false) {
            try await body(try await repository.loadIndex())
        }
    }

    /// The stored file at `path` of a snapshot, read whole (small metadata files only).
    static func readSmallFile(_ repository: IndexedRepository, snapshot: SnapshotRecord, path: String,
                              limit: UInt64 = 64 << 20) async throws -> [UInt8] {
        guard let node = try await repository.node(at: path, below: snapshot.snapshot.tree), node.type == "file" else {
            throw StageError("snapshot \(snapshot.id.shortHex) has no file \(path)")
        }
        guard node.size <= limit else { throw StageError("\(path) in snapshot \(snapshot.id.shortHex) is too large (\(node.size) bytes)") }
        var bytes: [UInt8] = []
        try await streamContent(repository, node) { bytes += $0 }
        return bytes
    }

    /// Hands a stored file's content to `sink` blob by blob, loading the next blob meanwhile.
    static func streamContent(_ repository: IndexedRepository, _ node: Node,
                              _ sink: ([UInt8]) async throws -> Void) async throws {
        let blobs = node.content ?? []
        guard let first = blobs.first else { return }
        var ahead: Task<[UInt8], Error>? = Task { try await repository.loadBlob(first, .data) }
        for index in blobs.indices {
            guard let current = ahead else { break }
            ahead = index + 1 < blobs.count ? Task { [next = blobs[index + 1]] in try await repository.loadBlob(next, .data) } : nil
            do {
                try await sink(try await current.value)
            } catch {
                ahead?.cancel()
                throw error
            }
        }
    }

    /// A name safe as one path component: anything but letters, digits, `.`, `_`, `-` as %XX.
    static func fileName(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(UnicodeScalar(byte))
            if byte < 128 && (c.isLetter || c.isNumber || c == "_" || c == "-" || (c == "." && !out.isEmpty)) {
                out.append(c)
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out.isEmpty ? "_" : out
    }

    static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func jsonDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    static func rfc3339(_ date: Date = Date()) -> String {
        GoTime(seconds: Int64(date.timeIntervalSince1970), nanoseconds: 0, utcOffset: 0).rfc3339
    }
}

/// Runs an async throwing body and keeps its error, so a child task can hand it over.
func capture<T: Sendable>(_ body: () async throws -> T) async -> Result<T, Error> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}
