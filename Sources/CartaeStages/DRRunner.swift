import Foundation
import ResticCore
import ResticRepository

/// Options of `dr restore`.
public struct DRRestoreOptions: Sendable {
    /// `latest` or a snapshot ID (prefix).
    public var snapshot = "latest"
    /// Database to restore into instead of the backed-up one (one database only).
    public var targetDatabase: String?
    /// Folder for volumes (`<target>/<path>`) and, without `redisDirectory`, for `<target>/redis/dump.rdb`.
    public var target: String?
    public var redisDirectory: String?
    public var verify = false

    public init() {}
}

/// Runs the stages one after another, each on its own: a failing stage is reported and the
/// next one still runs. Metrics go to the Pushgateway after every stage, success or failure.
public struct DRRunner: Sendable {
    public let context: DRContext
    public let repository: DRRepository
    public let metrics: MetricsPusher

    public init(context: DRContext, repository: DRRepository) {
        self.context = context
        self.repository = repository
        metrics = MetricsPusher(url: context.config.pushgatewayURL, instance: context.config.host, console: context.console)
    }

    public func backup(_ stages: [StageKind]) async -> DRRunResult {
        var reports: [StageReport] = []
        // Opened once: unlocking the key costs a deliberate half second of scrypt.
        var opened: Result<Repository, Error>?
        for stage in stages {
            if Task.isCancelled { break }
            context.console.info("== backup \(stage.rawValue)")
            var stageReports: [StageReport] = []
            if opened == nil { opened = await capture { try await repository.openOrCreate(console: context.console) } }
            var repo: Repository?
            switch opened {
            case .success(let value)?:
                repo = value
            case .failure(let error)?:
                stageReports = units(stage).map {
                    StageReport(stage: stage, item: $0, succeeded: false, message: "repository: \(Self.describe(error))", durationSeconds: 0)
                }
            case nil:
                break
            }
            if let repo {
                for item in units(stage) {
                    let report = await StageTimer.measure(stage, item: item) { try await backupUnit(stage, item: item, repository: repo) }
                    announce(report)
                    stageReports.append(report)
                }
            }
            let size: UInt64? = if let repo { try? await DRRepository.totalSize(repo) } else { nil }
            await metrics.push(stage: stage.rawValue, text: MetricsPusher.backupExposition(stage: stage, reports: stageReports, repositoryBytes: size))
            reports += stageReports
        }
        return DRRunResult(reports: reports)
    }

    public func restore(_ stages: [StageKind], options: DRRestoreOptions) async -> DRRunResult {
        var reports: [StageReport] = []
        let repo: Repository
        do {
            repo = try await repository.open()
        } catch {
            return DRRunResult(reports: stages.map {
                StageReport(stage: $0, succeeded: false, message: "repository: \(Self.describe(error))", durationSeconds: 0)
            })
        }
        var stages = stages
        if options.snapshot != "latest" && stages.count > 1 {
            // A snapshot ID names one stage's snapshot: restore that stage only.
            do {
                let record = try await repo.findSnapshot(options.snapshot)
                stages = stages.filter { record.snapshot.tags.contains($0.tag) }
                if stages.isEmpty { throw StageError("snapshot \(record.id.shortHex) carries no stage tag (\(record.snapshot.tags.joined(separator: ",")))") }
            } catch {
                return DRRunResult(reports: [StageReport(stage: stages[0], succeeded: false, message: Self.describe(error), durationSeconds: 0)])
            }
        }
        for stage in stages {
            if Task.isCancelled { break }
            context.console.info("== restore \(stage.rawValue)")
            var items = units(stage)
            if stage == .postgres, options.snapshot != "latest" {
                // The snapshot names its database in its db= tag.
                let record = try? await repo.findSnapshot(options.snapshot)
                items = [record?.snapshot.tags.first { $0.hasPrefix("db=") }.map { String($0.dropFirst(3)) }]
            }
            for item in items {
                let report = await StageTimer.measure(stage, item: item) {
                    try await restoreUnit(stage, item: item, repository: repo, options: options)
                }
                announce(report)
                reports.append(report)
            }
        }
        return DRRunResult(reports: reports)
    }

    /// One report per database for postgres, one for the other stages.
    func units(_ stage: StageKind) -> [String?] {
        stage == .postgres ? (context.config.postgres?.databases ?? []).map { $0 } : [nil]
    }

    private func backupUnit(_ stage: StageKind, item: String?, repository repo: Repository) async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64) {
        switch stage {
        case .postgres:
            guard let settings = context.config.postgres, let item else { throw StageError("POSTGRES_DB is not set") }
            return try await PostgresStage(context: context, settings: settings).backup(database: item, repository: repo)
        case .redis:
            guard let settings = context.config.redis else { throw StageError("REDIS_HOST is not set") }
            return try await RedisStage(context: context, settings: settings).backup(repository: repo)
        case .volumes:
            guard !context.config.volumes.isEmpty else { throw StageError("BACKUP_VOLUMES is not set") }
            return try await VolumesStage(context: context, volumes: context.config.volumes).backup(repository: repo)
        }
    }

    private func restoreUnit(_ stage: StageKind, item: String?, repository repo: Repository,
                             options: DRRestoreOptions) async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64) {
        let host = context.config.host
        switch stage {
        case .postgres:
            guard let settings = context.config.postgres else { throw StageError("POSTGRES_DB is not set") }
            guard let database = item else {
                // Only a named snapshot without a db= tag (or an unknown ID) gets here.
                _ = try await DRRepository.find(repo, reference: options.snapshot, host: host, tags: [StageKind.postgres.tag])
                throw StageError("snapshot \(options.snapshot) has no db= tag")
            }
            let record = try await DRRepository.find(repo, reference: options.snapshot, host: host, tags: PostgresStage.tags(database))
            if options.targetDatabase != nil && settings.databases.count > 1 && options.snapshot == "latest" {
                throw StageError("--target-db needs one database, POSTGRES_DB lists \(settings.databases.count) (name a snapshot instead)")
            }
            return try await PostgresStage(context: context, settings: settings)
                .restore(record: record, repository: repo, database: database, target: options.targetDatabase ?? database)
        case .redis:
            guard let settings = context.config.redis else { throw StageError("REDIS_HOST is not set") }
            let record = try await DRRepository.find(repo, reference: options.snapshot, host: host, tags: RedisStage.tags)
            let directory = options.redisDirectory ?? options.target.map { $0 + "/redis" }
            return try await RedisStage(context: context, settings: settings)
                .restore(record: record, repository: repo, directory: directory, verify: options.verify)
        case .volumes:
            let record = try await DRRepository.find(repo, reference: options.snapshot, host: host, tags: VolumesStage.tags)
            return try await VolumesStage(context: context, volumes: context.config.volumes)
                .restore(record: record, repository: repo, target: options.target, verify: options.verify)
        }
    }

    private func announce(_ report: StageReport) {
        var report = report
        // A unit cut short by SIGINT/SIGTERM fails in whatever step it was in (often a child
        // killed by signal 9); say what actually happened.
        if !report.succeeded && Task.isCancelled { report.message = "interrupted" }
        if report.succeeded {
            context.console.info("\(report.label): \(report.message)")
        } else {
            context.console.warning("\(report.label): FAILED: \(report.message)")
        }
    }

    static func describe(_ error: Error) -> String {
        (error as? ResticError)?.message ?? "\(error)"
    }
}
