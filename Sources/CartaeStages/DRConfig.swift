#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ResticBackends
import ResticMaintenance
import ResticRepository

/// Everything the disaster-recovery commands need, from the environment and a `.env` file
/// (the environment wins). Built in one pass that collects every problem, so a bad setup is
/// reported in one message before anything is touched.
public struct DRConfig: Sendable {
    public var repository: String
    public var password: String
    public var host: String
    public var postgres: PostgresSettings?
    public var redis: RedisSettings?
    public var volumes: [String]
    public var keepDaily: Int
    public var keepWeekly: Int
    public var keepMonthly: Int
    public var checkSubset: String
    public var pushgatewayURL: String?
    public var logDir: String
    public var backupSchedule: CronExpression
    public var checkSchedule: CronExpression
    public var pruneSchedule: CronExpression

    public struct PostgresSettings: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var databases: [String]
    }

    public struct RedisSettings: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var password: String?
        public var dataDir: String?
    }

    /// The stages this configuration enables: a stage is on when its main variable is set.
    public var configuredStages: [StageKind] {
        StageKind.allCases.filter {
            switch $0 {
            case .postgres: return postgres != nil
            case .redis: return redis != nil
            case .volumes: return !volumes.isEmpty
            }
        }
    }

    public static let defaultSchedules = (backup: "0 2 * * *", check: "0 3 * * 0", prune: "0 4 1 * *")
}

/// Every configuration problem at once; the message lists them one per line.
public struct DRConfigError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public var description: String {
        "invalid configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

extension DRConfig {
    /// Reads `envFile` (missing is fine unless `explicit`), overlays `environment`, validates.
    /// `stages` are the stages the command is about to run: `nil` for commands that only need
    /// the repository, `StageKind.allCases` for `all` (only configured ones must be complete),
    /// or one named stage (then its variables are required).
    public static func load(environment: [String: String], envFile: String?, explicit: Bool,
                            stages: [StageKind]?, named: Bool) throws -> DRConfig {
        var fileValues: [String: String] = [:]
        var problems: [String] = []
        if let envFile {
            if let data = readFile(envFile) {
                let parsed = DotEnv.parse(String(decoding: data, as: UTF8.self))
                fileValues = parsed.values
                problems += parsed.problems.map { "\(envFile): \($0)" }
            } else if explicit {
                problems.append("--env-file: cannot read \(envFile)")
            }
        }
        var merged = fileValues
        for (key, value) in environment { merged[key] = value }
        var reader = ConfigReader(values: merged.filter { !$0.value.isEmpty })
        let config = reader.build(stages: stages, named: named)
        problems += reader.problems
        guard problems.isEmpty, let config else { throw DRConfigError(problems: problems) }
        return config
    }
}

/// Reads and checks one variable at a time, noting every problem.
struct ConfigReader {
    let values: [String: String]
    var problems: [String] = []

    init(values: [String: String]) {
        self.values = values
    }

    mutating func build(stages: [StageKind]?, named: Bool) -> DRConfig? {
        let repository = values["RESTIC_REPOSITORY"] ?? values["RESTIC_BACKUP_PATH"]
        if repository == nil { problems.append("RESTIC_REPOSITORY (or RESTIC_BACKUP_PATH): missing") }
        let password = readPassword()
        let host = values["RESTIC_HOST"] ?? KeyRing.currentHostName()

        let wanted = Set(stages ?? [])
        var postgres: DRConfig.PostgresSettings?
        if let list = values["POSTGRES_DB"] {
            let databases = list.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            if databases.isEmpty { problems.append("POSTGRES_DB: no database name in \"\(list)\"") }
            if Set(databases).count != databases.count { problems.append("POSTGRES_DB: a database is listed twice") }
            postgres = DRConfig.PostgresSettings(host: values["POSTGRES_HOST"] ?? "localhost",
                                                 port: port("POSTGRES_PORT", default: 5432),
                                                 user: values["POSTGRES_USER"] ?? "postgres",
                                                 password: values["POSTGRES_PASSWORD"], databases: databases)
        } else if named && wanted.contains(.postgres) {
            problems.append("POSTGRES_DB: missing (required for the postgres stage)")
        }
        var redis: DRConfig.RedisSettings?
        if let redisHost = values["REDIS_HOST"] {
            redis = DRConfig.RedisSettings(host: redisHost, port: port("REDIS_PORT", default: 6379),
                                           password: values["REDIS_PASSWORD"], dataDir: values["REDIS_DATA_DIR"])
            if let dir = values["REDIS_DATA_DIR"], !dir.hasPrefix("/") {
                problems.append("REDIS_DATA_DIR: \"\(dir)\" is not an absolute path")
            }
        } else if named && wanted.contains(.redis) {
            problems.append("REDIS_HOST: missing (required for the redis stage)")
        }
        var volumes: [String] = []
        if let list = values["BACKUP_VOLUMES"] {
            volumes = list.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            for path in volumes where !path.hasPrefix("/") {
                problems.append("BACKUP_VOLUMES: \"\(path)\" is not an absolute path")
            }
            if volumes.isEmpty { problems.append("BACKUP_VOLUMES: no path in \"\(list)\"") }
        } else if named && wanted.contains(.volumes) {
            problems.append("BACKUP_VOLUMES: missing (required for the volumes stage)")
        }
        if stages != nil && !named && postgres == nil && redis == nil && volumes.isEmpty {
            problems.append("no stage is configured: set POSTGRES_DB, REDIS_HOST and/or BACKUP_VOLUMES")
        }

        let keepDaily = count("KEEP_DAILY", default: 7)
        let keepWeekly = count("KEEP_WEEKLY", default: 4)
        let keepMonthly = count("KEEP_MONTHLY", default: 12)
        let checkSubset = values["CHECK_SUBSET"] ?? "10%"
        do {
            _ = try CheckSubset(parsing: checkSubset)
        } catch {
            problems.append("CHECK_SUBSET: \"\(checkSubset)\" is not a subset (use n/t, x%, or a size like 500M)")
        }
        let pushgateway = values["PUSHGATEWAY_URL"]
        if let url = pushgateway {
            let valid = (url.hasPrefix("http://") || url.hasPrefix("https://")) && URL(string: url)?.host?.isEmpty == false
            if !valid { problems.append("PUSHGATEWAY_URL: \"\(BackendFactory.redacted(url))\" is not an http(s) URL") }
        }
        let backup = schedule("BACKUP_SCHEDULE", default: DRConfig.defaultSchedules.backup)
        let check = schedule("CHECK_SCHEDULE", default: DRConfig.defaultSchedules.check)
        let prune = schedule("PRUNE_SCHEDULE", default: DRConfig.defaultSchedules.prune)

        guard let repository, let password, let backup, let check, let prune else { return nil }
        return DRConfig(repository: repository, password: password, host: host, postgres: postgres, redis: redis,
                        volumes: volumes, keepDaily: keepDaily, keepWeekly: keepWeekly, keepMonthly: keepMonthly,
                        checkSubset: checkSubset, pushgatewayURL: pushgateway.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
                        logDir: values["LOG_DIR"] ?? "./logs",
                        backupSchedule: backup, checkSchedule: check, pruneSchedule: prune)
    }

    /// RESTIC_PASSWORD, or the first line of RESTIC_PASSWORD_FILE; the value is never echoed.
    mutating func readPassword() -> String? {
        if let password = values["RESTIC_PASSWORD"] { return password }
        guard let file = values["RESTIC_PASSWORD_FILE"] else {
            problems.append("RESTIC_PASSWORD or RESTIC_PASSWORD_FILE: missing")
            return nil
        }
        guard let data = readFile(file) else {
            problems.append("RESTIC_PASSWORD_FILE: cannot read \(file)")
            return nil
        }
        let password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if password.isEmpty { problems.append("RESTIC_PASSWORD_FILE: \(file) is empty") }
        return password
    }

    mutating func port(_ name: String, default value: Int) -> Int {
        guard let text = values[name] else { return value }
        guard let port = Int(text), (1...65535).contains(port) else {
            problems.append("\(name): \"\(text)\" is not a port number (1-65535)")
            return value
        }
        return port
    }

    mutating func count(_ name: String, default value: Int) -> Int {
        guard let text = values[name] else { return value }
        guard let number = Int(text), number >= 0 else {
            problems.append("\(name): \"\(text)\" is not a non-negative whole number")
            return value
        }
        return number
    }

    mutating func schedule(_ name: String, default text: String) -> CronExpression? {
        do {
            return try CronExpression(parsing: values[name] ?? text)
        } catch {
            problems.append("\(name): \(error)")
            return nil
        }
    }
}

/// A whole file's bytes, nil when it cannot be read. Unlike `FileManager.contents(atPath:)`
/// this reads devices and pipes too (`--env-file /dev/null`, a password on a FIFO).
func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { return bytes }
        bytes += buffer[0..<n]
    }
}
