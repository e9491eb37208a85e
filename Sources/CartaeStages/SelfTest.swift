#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ResticCore
import ResticMaintenance
import ResticRepository

/// `dr test`: everything a backup needs, checked without changing anything but a lock file.
public struct SelfTest: Sendable {
    public enum Status: String, Sendable { case pass = "PASS", fail = "FAIL", skip = "SKIP" }

    public struct Result: Sendable {
        public var check: String
        public var status: Status
        public var detail: String
    }

    /// Less free space than this on the repository or log disk fails the test.
    public static let minimumFreeBytes: UInt64 = 1 << 30

    let context: DRContext
    let repository: DRRepository

    public init(context: DRContext, repository: DRRepository) {
        self.context = context
        self.repository = repository
    }

    /// The table for a configuration that did not load: its problems, everything else skipped.
    public static func configurationFailed(_ error: DRConfigError) -> [Result] {
        [Result(check: "configuration", status: .fail, detail: error.problems.joined(separator: "; "))]
            + ["repository", "repository lock", "postgres", "redis", "disk space", "repository check", "pushgateway"].map {
                Result(check: $0, status: .skip, detail: "configuration incomplete")
            }
    }

    public func run() async -> [Result] {
        var results: [Result] = []
        let config = context.config
        let stages = config.configuredStages
        results.append(Result(check: "configuration", status: .pass, detail: "host \(config.host), stages: "
                              + (stages.isEmpty ? "none" : stages.map(\.rawValue).joined(separator: ", "))))

        var opened: Repository?
        do {
            let repo = try await repository.open()
            opened = repo
            let snapshots = try await repo.list(.snapshot).count
            results.append(Result(check: "repository", status: .pass,
                                  detail: "\(repository.displayLocation) (format v\(repo.version), \(snapshots) snapshots)"))
        } catch {
            results.append(Result(check: "repository", status: .fail, detail: "\(repository.displayLocation): \(DRRunner.describe(error))"))
        }
        if let repo = opened {
            do {
                try await RepositoryLock.withLock(repo, exclusive: false) {}
                let stale = try await RepositoryLock.list(repo).filter { RepositoryLock.isStale($0.1) }.count
                results.append(Result(check: "repository lock", status: .pass,
                                      detail: "locked and unlocked" + (stale > 0 ? " (\(stale) stale locks present)" : "")))
            } catch {
                results.append(Result(check: "repository lock", status: .fail, detail: DRRunner.describe(error)))
            }
        } else {
            results.append(Result(check: "repository lock", status: .skip, detail: "repository not reachable"))
        }

        results += await postgres()
        results.append(await redis())
        results += diskSpace()

        if let repo = opened {
            do {
                let summary = try await Checker(repository: repo).run(readData: .none) { _ in }
                results.append(Result(check: "repository check", status: summary.hasErrors ? .fail : .pass,
                                      detail: summary.hasErrors ? "\(summary.errorCount) errors (run dr check)" : "structure consistent"))
            } catch {
                results.append(Result(check: "repository check", status: .fail, detail: DRRunner.describe(error)))
            }
        } else {
            results.append(Result(check: "repository check", status: .skip, detail: "repository not reachable"))
        }

        let pusher = MetricsPusher(url: config.pushgatewayURL, instance: config.host, console: .silent)
        if config.pushgatewayURL == nil {
            results.append(Result(check: "pushgateway", status: .skip, detail: "PUSHGATEWAY_URL not set"))
        } else {
            switch await pusher.isReachable() {
            case .success: results.append(Result(check: "pushgateway", status: .pass, detail: "\(pusher.displayURL) healthy"))
            case .failure(let error): results.append(Result(check: "pushgateway", status: .fail, detail: error.message))
            }
        }
        return results
    }

    private func postgres() async -> [Result] {
        guard let settings = context.config.postgres else {
            return [Result(check: "postgres", status: .skip, detail: "POSTGRES_DB not set")]
        }
        if let missing = ["psql", "pg_dump", "pg_restore"].first(where: { ChildProcess.which($0) == nil }) {
            return [Result(check: "postgres", status: .fail, detail: "\(missing) not installed")]
        }
        let client = PostgresClient(settings: settings)
        var results: [Result] = []
        for database in settings.databases {
            do {
                let version = try await client.serverVersion(database: database)
                results.append(Result(check: "postgres \(database)", status: .pass,
                                      detail: "\(settings.host):\(settings.port) server \(version)"))
            } catch {
                results.append(Result(check: "postgres \(database)", status: .fail, detail: DRRunner.describe(error)))
            }
        }
        return results
    }

    private func redis() async -> Result {
        guard let settings = context.config.redis else { return Result(check: "redis", status: .skip, detail: "REDIS_HOST not set") }
        guard ChildProcess.which("redis-cli") != nil else { return Result(check: "redis", status: .fail, detail: "redis-cli not installed") }
        let client = RedisClient(settings: settings)
        do {
            let reply = try await client.command(["PING"])
            guard reply == "PONG" else { return Result(check: "redis", status: .fail, detail: "PING answered \(reply)") }
            let keys = try await client.keyCount()
            return Result(check: "redis", status: .pass, detail: "\(settings.host):\(settings.port) answers PING (\(keys) keys)")
        } catch {
            return Result(check: "redis", status: .fail, detail: DRRunner.describe(error))
        }
    }

    private func diskSpace() -> [Result] {
        var places: [(String, String)] = [("disk space (logs)", context.config.logDir)]
        if let path = repository.localPath { places.insert(("disk space (repository)", path), at: 0) }
        return places.map { name, path in
            guard let (free, total) = Self.freeSpace(path) else {
                return Result(check: name, status: .fail, detail: "\(path): cannot stat the file system")
            }
            let detail = "\(path): \(Self.format(free)) free of \(Self.format(total))"
            return Result(check: name, status: free >= Self.minimumFreeBytes ? .pass : .fail,
                          detail: free >= Self.minimumFreeBytes ? detail : detail + " (below \(Self.format(Self.minimumFreeBytes)))")
        }
    }

    /// Free and total bytes of the file system holding `path` (or its nearest existing parent).
    static func freeSpace(_ path: String) -> (UInt64, UInt64)? {
        var current = URL(fileURLWithPath: path).standardizedFileURL.path
        while !FileManager.default.fileExists(atPath: current) && current != "/" {
            current = (current as NSString).deletingLastPathComponent
        }
        var info = statvfs()
        guard statvfs(current, &info) == 0 else { return nil }
        return (UInt64(info.f_bavail) * UInt64(info.f_frsize), UInt64(info.f_blocks) * UInt64(info.f_frsize))
    }

    static func format(_ bytes: UInt64) -> String {
        let gib = Double(bytes) / Double(1 << 30)
        return gib >= 1 ? String(format: "%.1f GiB", gib) : String(format: "%.0f MiB", Double(bytes) / Double(1 << 20))
    }

    /// The PASS/FAIL table as printed by `dr test`.
    public static func table(_ results: [Result]) -> [String] {
        let width = max(5, results.map(\.check.count).max() ?? 5)
        let header = "CHECK".padding(toLength: width, withPad: " ", startingAt: 0) + "  RESULT  DETAIL"
        return [header, String(repeating: "-", count: header.count + 20)] + results.map {
            $0.check.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.status.rawValue + "    " + $0.detail
        }
    }
}
