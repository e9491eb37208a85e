import ResticBackends
import ResticCore
import ResticRepository

/// Opens the configured repository (creating it for the first backup), finds the snapshots
/// of a stage, and measures the repository for the `backup_total_size_bytes` metric.
public struct DRRepository: Sendable {
    public let location: String
    let password: String
    let makeBackend: @Sendable (String) throws -> any Backend

    /// `makeBackend` turns a location into a backend; the default knows local paths.
    public init(config: DRConfig, makeBackend: (@Sendable (String) throws -> any Backend)? = nil) {
        location = config.repository
        password = config.password
        self.makeBackend = makeBackend ?? DRRepository.localBackend
    }

    @Sendable public static func localBackend(_ location: String) throws -> any Backend {
        if location.hasPrefix("local:") { return LocalBackend(path: String(location.dropFirst("local:".count))) }
        if let colon = location.firstIndex(of: ":"), !location.hasPrefix("/"),
           location[..<colon].allSatisfy({ $0.isLetter || $0.isNumber }) {
            throw StageError("repository \(BackendFactory.redacted(location)): only local repositories are supported by dr")
        }
        return LocalBackend(path: location)
    }

    /// The location for messages, without any `user:password@`.
    public var displayLocation: String { BackendFactory.redacted(location) }

    /// The local folder of the repository, for disk-space checks; nil for remote ones.
    public var localPath: String? {
        if location.hasPrefix("local:") { return String(location.dropFirst("local:".count)) }
        return location.hasPrefix("/") || !location.contains(":") ? location : nil
    }

    public func open() async throws -> Repository {
        let backend = try makeBackend(location)
        return try await Repository.open(backend, password: password)
    }

    /// Opens the repository, creating it first when there is none (the first backup).
    public func openOrCreate(console: DRConsole) async throws -> Repository {
        let backend = try makeBackend(location)
        if try await backend.repositoryExists() {
            return try await Repository.open(backend, password: password)
        }
        console.info("creating repository at \(backend.location)")
        return try await Repository.initialize(backend, password: password)
    }

    /// Bytes stored in the repository, all file types together.
    public static func totalSize(_ repository: Repository) async throws -> UInt64 {
        var total: UInt64 = 0
        for type in FileType.allCases where type != .config {
            for file in try await repository.backend.list(type) { total += UInt64(max(0, file.size)) }
        }
        if let size = try? await repository.backend.stat(.config) { total += UInt64(max(0, size)) }
        return total
    }

    /// `latest` (newest of this host carrying every tag) or an ID / unique prefix; an ID must
    /// carry the stage's tags too, so one stage's snapshot is never restored as another's.
    public static func find(_ repository: Repository, reference: String, host: String,
                            tags: [String]) async throws -> SnapshotRecord {
        if reference == "latest" {
            let filter = SnapshotFilter(hosts: [host], tags: [tags.joined(separator: ",")])
            do {
                return try await repository.findSnapshot("latest", filter: filter)
            } catch let error as ResticError where error.kind == .notFound {
                throw StageError("no snapshot of host \(host) tagged \(tags.joined(separator: ",")) found")
            }
        }
        let record = try await repository.findSnapshot(reference)
        guard tags.allSatisfy(record.snapshot.tags.contains) else {
            throw StageError("snapshot \(record.id.shortHex) is not tagged \(tags.joined(separator: ",")) (its tags: \(record.snapshot.tags.joined(separator: ",")))")
        }
        return record
    }
}
