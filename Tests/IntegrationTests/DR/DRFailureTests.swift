import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension DRIntegration {
    @Suite struct Failures {
        /// A wrong database password: no snapshot, exit 1, backup_success 0 pushed for postgres.
        @Test func wrongDatabasePasswordWritesNoSnapshot() throws {
            let servers = try DRServers.shared()
            try DRData.createShop(servers)
            let sandbox = try DRSandbox(databases: ["shop"], extra: ["POSTGRES_PASSWORD": "not-the-password"])
            defer { sandbox.cleanUp() }
            try servers.wipeMetrics()
            let result = try sandbox.dr(["backup", "postgres"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("password authentication failed"))
            #expect(!result.stderr.contains("not-the-password"))
            #expect(try sandbox.snapshots(tagged: "postgres").isEmpty)
            #expect(try servers.metric("backup_success", ["stage": "postgres", "database": "shop"]) == 0)
            #expect(try servers.metric("backup_size_bytes", ["stage": "postgres", "database": "shop"]) == 0)
        }

        /// In `all`, the failing stage does not stop the others: exit 3, their snapshots exist.
        @Test func oneFailingStageDoesNotStopTheOthers() throws {
            let servers = try DRServers.shared()
            try DRData.createShop(servers)
            try DRData.fillRedis(servers)
            let volume = try TempDir.make("cartae-dr-volume").path
            defer { try? FileManager.default.removeItem(atPath: volume) }
            try DRSandbox.makeVolume(volume + "/v")
            let sandbox = try DRSandbox(databases: ["shop"], volumes: [volume + "/v"], extra: ["POSTGRES_PASSWORD": "wrong"])
            defer { sandbox.cleanUp() }
            try servers.wipeMetrics()
            let result = try sandbox.dr(["backup", "all"])
            #expect(result.status == 3, "\(result.out)\n\(result.stderr)")
            #expect(try sandbox.snapshots(tagged: "postgres").isEmpty)
            #expect(try sandbox.snapshots(tagged: "redis").count == 1)
            #expect(try sandbox.snapshots(tagged: "volumes").count == 1)
            let metrics = try servers.metrics()
            #expect(try servers.metric("backup_success", ["stage": "postgres"]) == 0, "\(metrics)")
            #expect(try servers.metric("backup_success", ["stage": "redis"]) == 1)

            // Every stage failing is exit 1.
            let none = try sandbox.dr(["backup", "all"], ["REDIS_PORT": String(try DRServers.freePort()), "BACKUP_VOLUMES": volume + "/missing"])
            #expect(none.status == 1, "\(none.out)\n\(none.stderr)")
        }

        /// pg_dump failing, printing nothing, or printing something pg_restore cannot read:
        /// each writes no snapshot and exits 1 (a stand-in pg_dump comes first in PATH).
        @Test(arguments: [("fail", "pg_dump exited with status 1"), ("empty", "pg_dump produced no output"),
                          ("garbage", "pg_restore --list cannot read the dump")])
        func badDumpsWriteNoSnapshot(_ mode: String, _ message: String) throws {
            let servers = try DRServers.shared()
            try DRData.createShop(servers)
            let sandbox = try DRSandbox(databases: ["shop"])
            defer { sandbox.cleanUp() }
            let bin = sandbox.dir.appendingPathComponent("bin").path
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try """
                #!/bin/sh
                [ "$1" = "--version" ] && { echo "pg_dump (PostgreSQL) 15.0"; exit 0; }
                case "$FAKE_DUMP" in
                  fail) printf 'PGDMP partial'; echo "pg_dump: error: simulated failure" >&2; exit 1 ;;
                  empty) exit 0 ;;
                  garbage) head -c 200000 /dev/urandom; exit 0 ;;
                esac
                """.write(toFile: bin + "/pg_dump", atomically: true, encoding: .utf8)
            chmod(bin + "/pg_dump", 0o755)
            let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            let result = try sandbox.dr(["backup", "postgres"], ["PATH": path, "FAKE_DUMP": mode])
            #expect(result.status == 1, "\(result.out)\n\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stderr.contains("no snapshot written"))
            #expect(try sandbox.snapshots().isEmpty)
            // The interrupted run leaves at most unreferenced data, which restic accepts.
            let check = try Harness.restic(["check"], repo: sandbox.repo, password: DRSandbox.password)
            #expect(check.status == 0, "\(check.out)\n\(check.stderr)")
        }

        /// Missing or malformed settings: one message listing all of them, exit 1, nothing touched.
        @Test func configurationProblemsAreListedBeforeAnythingIsTouched() throws {
            let sandbox = try DRSandbox(databases: ["shop"], extra: ["POSTGRES_PORT": "not-a-port", "KEEP_DAILY": "seven",
                                                                      "BACKUP_SCHEDULE": "0 2 * *", "BACKUP_VOLUMES": "relative"])
            defer { sandbox.cleanUp() }
            let result = try Harness.ours(["dr", "backup", "all", "--env-file", "/dev/null"], repo: sandbox.repo, password: nil,
                                          environment: sandbox.environment)
            #expect(result.status == 1)
            for fragment in ["RESTIC_PASSWORD or RESTIC_PASSWORD_FILE: missing", "POSTGRES_PORT: \"not-a-port\"",
                             "KEEP_DAILY: \"seven\"", "BACKUP_SCHEDULE: \"0 2 * *\"", "BACKUP_VOLUMES: \"relative\"",
                             "invalid configuration (5 problems)"] {
                #expect(result.stderr.contains(fragment), "\(fragment) missing from:\n\(result.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: sandbox.repo))
        }

        /// With SYNC refused, the RDB comes from a BGSAVE and its file instead.
        @Test func redisFallsBackToBackgroundSave() throws {
            let servers = try DRServers.shared()
            let dir = try TempDir.make("cartae-dr-redis2").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let port = try DRServers.freePort()
            let process = try DRServers.spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
                                                               "--save", "", "--rename-command", "SYNC", "", "--rename-command", "PSYNC", ""],
                                              log: dir + "/stdout.log")
            defer { process.stop() }
            try DRServers.waitForPort(port, "redis-server", log: dir + "/stdout.log")
            let cli = { (words: [String]) throws -> Harness.Result in try Harness.run("redis-cli", ["-p", String(port)] + words) }
            for i in 0..<100 { _ = try cli(["SET", "key\(i)", "value\(i)"]) }
            let sandbox = try DRSandbox(databases: [], extra: ["REDIS_PORT": String(port), "REDIS_PASSWORD": "", "REDIS_DATA_DIR": dir])
            defer { sandbox.cleanUp() }
            _ = servers
            let result = try sandbox.dr(["backup", "redis"])
            #expect(result.status == 0, "\(result.out)\n\(result.stderr)")
            #expect(result.stderr.contains("falling back to BGSAVE"))
            #expect(result.out.contains("100 keys") && result.out.contains("via bgsave"))
            let meta = try Harness.restic(["dump", "latest", "/redis/dump.meta.json"], repo: sandbox.repo, password: DRSandbox.password)
            #expect(meta.out.contains("\"method\" : \"bgsave\"") || meta.out.contains("\"method\":\"bgsave\""))
        }
    }
}
