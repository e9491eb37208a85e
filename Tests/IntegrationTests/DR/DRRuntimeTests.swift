import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension DRIntegration {
    @Suite struct Runtime {
        /// Rows keep changing during the dump: the recorded counts still match the dump (the
        /// restore verifies them) and differ from the table's count afterwards.
        @Test func consistentUnderConcurrentWrites() throws {
            let servers = try DRServers.shared()
            try servers.psql("DROP DATABASE IF EXISTS busy; DROP DATABASE IF EXISTS busy_copy; CREATE DATABASE busy;")
            try servers.psql("""
                CREATE TABLE events (id bigserial PRIMARY KEY, payload text);
                INSERT INTO events (payload) SELECT md5(i::text) FROM generate_series(1, 100000) i;
                CREATE PROCEDURE churn(seconds int) LANGUAGE plpgsql AS $$
                DECLARE stop timestamptz := clock_timestamp() + make_interval(secs => seconds);
                BEGIN
                  WHILE clock_timestamp() < stop LOOP
                    INSERT INTO events (payload) SELECT md5(random()::text) FROM generate_series(1, 50);
                    DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT 10);
                    COMMIT;
                  END LOOP;
                END $$;
                """, database: "busy")
            let sandbox = try DRSandbox(databases: ["busy"])
            defer { sandbox.cleanUp() }

            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: try Harness.which("psql"))
            writer.arguments = ["-X", "-q", "-h", "127.0.0.1", "-p", String(servers.pgPort), "-U", "postgres", "-d", "busy", "-c", "CALL churn(4)"]
            writer.environment = ["PGPASSWORD": DRServers.pgPassword, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
            writer.standardOutput = FileHandle.nullDevice
            try writer.run()
            usleep(500_000)
            let backup = try sandbox.dr(["backup", "postgres"])
            writer.waitUntilExit()
            #expect(backup.status == 0, "\(backup.out)\n\(backup.stderr)")
            #expect(writer.terminationStatus == 0)

            let restore = try sandbox.dr(["restore", "postgres", "latest", "--target-db", "busy_copy"])
            #expect(restore.status == 0, "\(restore.out)\n\(restore.stderr)")
            let restored = try #require(Int(try servers.psql("SELECT count(*) FROM events;", database: "busy_copy")))
            let now = try #require(Int(try servers.psql("SELECT count(*) FROM events;", database: "busy")))
            #expect(restored > 100_000 && now > restored, "restored \(restored), now \(now)")
            let meta = try Harness.restic(["dump", "latest", "/postgres/busy.meta.json"], repo: sandbox.repo, password: DRSandbox.password)
            #expect(meta.out.contains("\"rows\" : \(restored)") || meta.out.contains("\"rows\":\(restored)"), "\(meta.out)")
        }

        /// `dr test`: a PASS row per check with the servers up; a FAIL and exit 1 without Redis.
        @Test func selfTest() throws {
            let servers = try DRServers.shared()
            try DRData.createShop(servers)
            let volume = try TempDir.make("cartae-dr-volume").path
            defer { try? FileManager.default.removeItem(atPath: volume) }
            let sandbox = try DRSandbox(databases: ["shop"], volumes: [volume])
            defer { sandbox.cleanUp() }
            #expect(try sandbox.dr(["backup", "volumes"]).status == 0)
            let good = try sandbox.dr(["test"])
            #expect(good.status == 0, "\(good.out)\n\(good.stderr)")
            for check in ["configuration", "repository", "repository lock", "postgres shop", "redis",
                          "disk space (repository)", "disk space (logs)", "repository check", "pushgateway"] {
                #expect(good.out.split(separator: "\n").contains { $0.hasPrefix(check + " ") && $0.contains(" PASS ") }, "\(check):\n\(good.out)")
            }
            let bad = try sandbox.dr(["test"], ["REDIS_PORT": String(try DRServers.freePort())])
            #expect(bad.status == 1)
            #expect(bad.out.split(separator: "\n").contains { $0.hasPrefix("redis ") && $0.contains(" FAIL ") }, "\(bad.out)")
            #expect(bad.out.contains("1 check failed"))

            let unconfigured = try Harness.ours(["dr", "test", "--env-file", "/dev/null"], repo: nil, password: nil)
            #expect(unconfigured.status == 1)
            #expect(unconfigured.out.contains("configuration") && unconfigured.out.contains("FAIL"))
        }

        /// `dr schedule` waits for its jobs and stops on SIGTERM.
        @Test func scheduleStopsOnSIGTERM() throws {
            let sandbox = try DRSandbox(databases: [], volumes: ["/nonexistent"])
            defer { sandbox.cleanUp() }
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RESTIC_") }
            env.merge(sandbox.environment) { $1 }
            env["RESTIC_REPOSITORY"] = sandbox.repo
            env["RESTIC_PASSWORD"] = DRSandbox.password
            let output = sandbox.dir.appendingPathComponent("schedule.out")
            let process = try DRChild(Harness.binary, ["dr", "schedule", "--env-file", "/dev/null"], log: output.path, environment: env)
            var text = ""
            for _ in 0..<400 {
                text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                if text.contains("prune: 0 4 1 * * (UTC), next at") { break }
                usleep(25_000)
            }
            #expect(text.contains("backup: 0 2 * * * (UTC), next at"), "\(text)")
            #expect(text.contains("check: 0 3 * * 0 (UTC), next at"))
            process.signal(SIGTERM)
            let stopped = process.wait(timeout: 10)
            #expect(stopped)
            if !stopped { process.stop() }
            #expect(process.exitCode == 130)
            #expect((try String(contentsOf: output, encoding: .utf8)).contains("stopping: termination requested"))
        }
    }
}
