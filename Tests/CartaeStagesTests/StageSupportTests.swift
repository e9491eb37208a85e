import Foundation
import Synchronization
import Testing
@testable import CartaeStages

@Suite struct MetricsTests {
    static func lines(_ text: String) -> Set<String> { Set(text.split(separator: "\n").map(String.init)) }

    @Test func backupExpositionHasEveryMetricPerUnit() {
        let reports = [
            StageReport(stage: .postgres, item: "app", succeeded: true, message: "", bytes: 4096, durationSeconds: 1.5, finishedAt: 1_700_000_000),
            StageReport(stage: .postgres, item: "crm", succeeded: false, message: "x", bytes: 0, durationSeconds: 0.25, finishedAt: 1_700_000_100),
        ]
        let text = MetricsPusher.backupExposition(stage: .postgres, reports: reports, repositoryBytes: 123_456)
        let lines = Self.lines(text)
        for expected in [
            #"backup_success{stage="postgres",database="app"} 1.0"#,
            #"backup_success{stage="postgres",database="crm"} 0.0"#,
            #"backup_size_bytes{stage="postgres",database="app"} 4096.0"#,
            #"backup_duration_seconds{stage="postgres",database="app"} 1.5"#,
            #"backup_duration_seconds{stage="postgres",database="crm"} 0.25"#,
            #"backup_timestamp{stage="postgres",database="app"} 1700000000.0"#,
            #"backup_total_size_bytes{stage="postgres"} 123456.0"#,
            "# TYPE backup_success gauge",
            "# HELP backup_success 1 if the last backup of the stage succeeded, else 0",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in\n\(text)")
        }
        #expect(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 9)
    }

    @Test func stagesWithoutDatabasesAndUnknownRepositorySize() {
        let report = StageReport(stage: .redis, succeeded: true, message: "", bytes: 10, durationSeconds: 2, finishedAt: 5)
        let text = MetricsPusher.backupExposition(stage: .redis, reports: [report], repositoryBytes: nil)
        #expect(Self.lines(text).contains(#"backup_success{stage="redis"} 1.0"#))
        #expect(!text.contains("backup_total_size_bytes"))
    }

    @Test func maintenanceExposition() {
        let text = MetricsPusher.maintenanceExposition("check", succeeded: false, durationSeconds: 3, finishedAt: 9,
                                                       values: [("errors", "Errors", 2)], repositoryBytes: 7)
        let lines = Self.lines(text)
        #expect(lines.contains(#"check_success{stage="check"} 0.0"#))
        #expect(lines.contains(#"check_errors{stage="check"} 2.0"#))
        #expect(lines.contains(#"check_duration_seconds{stage="check"} 3.0"#))
        #expect(lines.contains(#"backup_total_size_bytes{stage="check"} 7.0"#))
    }

    @Test func groupURLs() {
        let pusher = MetricsPusher(url: "http://127.0.0.1:9091", instance: "db-1.example", console: .silent)
        #expect(pusher.groupURL(stage: "postgres") == "http://127.0.0.1:9091/metrics/job/cartae_dr/instance/db-1.example/stage/postgres")
        let odd = MetricsPusher(url: "http://gw", instance: "a/b c", console: .silent)
        #expect(odd.groupURL(stage: "redis") == "http://gw/metrics/job/cartae_dr/instance@base64/YS9iIGM=/stage/redis")
        #expect(MetricsPusher(url: nil, instance: "h", console: .silent).groupURL(stage: "x") == nil)
    }

    /// Nothing listens on the port: the push reports failure as a warning and returns.
    @Test func unreachableGatewayIsOnlyAWarning() async throws {
        let warnings = WarningLog()
        let port = try LoopbackPort.free()
        let pusher = MetricsPusher(url: "http://127.0.0.1:\(port)", instance: "h",
                                   console: DRConsole(info: { _ in }, warning: { warnings.add($0) }))
        let accepted = await pusher.push(stage: "redis", text: "backup_success 1\n")
        #expect(!accepted)
        #expect(warnings.all.count == 1 && warnings.all[0].hasPrefix("Warning: could not push the redis metrics"))
    }
}

final class WarningLog: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite struct StageHelperTests {
    @Test func exitCodes() {
        func report(_ ok: Bool) -> StageReport { StageReport(stage: .redis, succeeded: ok, message: "", durationSeconds: 0) }
        #expect(DRRunResult(reports: [report(true), report(true)]).exitCode == 0)
        #expect(DRRunResult(reports: [report(true), report(false)]).exitCode == 3)
        #expect(DRRunResult(reports: [report(false), report(false)]).exitCode == 1)
    }

    @Test func stageNames() {
        #expect(StageKind.parse("all") == [.postgres, .redis, .volumes])
        #expect(StageKind.parse("redis") == [.redis])
        #expect(StageKind.parse("mysql") == nil)
        #expect(PostgresStage.tags("app") == ["postgres", "db=app"])
        #expect(PostgresStage.paths("my db/x") == ("postgres/my%20db%2Fx.dump", "postgres/my%20db%2Fx.meta.json"))
        #expect(DRContext.fileName(".hidden") == "%2Ehidden")
        #expect(PostgresRestoreRun.conninfo("it's") == #"dbname='it\'s'"#)
    }

    static let listing = """
        ;
        ; Archive created at 2024-06-01 10:00:00 UTC
        ;     dbname: app
        ;     TOC Entries: 13
        ;     Compression: 0
        ;     Format: CUSTOM
        ;     Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
        ;     Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
        ;
        215; 1259 16386 TABLE public t1 postgres
        3347; 0 16386 TABLE DATA public t1 postgres
        3348; 0 16394 TABLE DATA public my table postgres
        """

    static func outcome(_ text: String, exit: Int32 = 0) -> ProcessOutcome {
        ProcessOutcome(name: "pg_restore", exitCode: exit, stdout: Array(text.utf8), stderr: exit == 0 ? "" : "pg_restore: error: input file is too short")
    }

    @Test func pgRestoreListingIsChecked() throws {
        let tables = [PostgresClient.TableCount(schema: "public", table: "t1", rows: 5),
                      PostgresClient.TableCount(schema: "public", table: "my table", rows: 0)]
        let result = try PostgresStage.checkListing(Self.outcome(Self.listing), tables: tables)
        #expect(result.dumpedFrom == "15.18 (Debian 15.18-0+deb12u1)")
        #expect(result.entries == 13)
        #expect(throws: StageError.self) {
            try PostgresStage.checkListing(Self.outcome(Self.listing), tables: tables + [.init(schema: "public", table: "t9", rows: 1)])
        }
        #expect(throws: StageError.self) { try PostgresStage.checkListing(Self.outcome("", exit: 1), tables: []) }
        do {
            _ = try PostgresStage.checkListing(Self.outcome("", exit: 1), tables: [])
        } catch {
            #expect("\(error)" == "pg_restore --list cannot read the dump (pg_restore exited with status 1: pg_restore: error: input file is too short): no snapshot written")
        }
    }

    @Test func redisReplies() {
        #expect(RedisClient.keys(inKeyspace: "# Keyspace\r\ndb0:keys=206,expires=1,avg_ttl=99\r\ndb2:keys=1,expires=0,avg_ttl=0\r\n") == 207)
        #expect(RedisClient.keys(inKeyspace: "# Keyspace\n") == 0)
        #expect(RedisClient.field("rdb_bgsave_in_progress", in: "# Persistence\nloading:0\nrdb_bgsave_in_progress:1\n") == "1")
        #expect(RedisClient.problem(in: "NOAUTH Authentication required.") == "NOAUTH Authentication required.")
        #expect(RedisClient.problem(in: "PONG") == nil)
    }

    @Test func tableCountsDecode() throws {
        let counts = try PostgresClient.decodeCounts(#"[{"rows": 3, "table": "b", "schema": "public"}, {"rows": 100000, "table": "a", "schema": "public"}]"#)
        #expect(counts == [.init(schema: "public", table: "a", rows: 100000), .init(schema: "public", table: "b", rows: 3)])
        #expect(throws: StageError.self) { try PostgresClient.decodeCounts("ERROR") }
    }
}
