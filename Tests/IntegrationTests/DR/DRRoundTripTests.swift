import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension DRIntegration {
    @Suite struct RoundTrip {
        /// `dr backup all`, lose everything, `dr restore all latest`, compare: rows and their
        /// digests, every Redis value, the volume tree; restic itself checks the repository.
        @Test func backupLoseEverythingRestore() throws {
            let servers = try DRServers.shared()
            try DRData.createShop(servers)
            try DRData.createCRM(servers)
            try DRData.fillRedis(servers)
            let volume = try TempDir.make("cartae-dr-volume").appendingPathComponent("appdata").path
            defer { try? FileManager.default.removeItem(atPath: (volume as NSString).deletingLastPathComponent) }
            try DRSandbox.makeVolume(volume)
            let sandbox = try DRSandbox(databases: ["shop", "crm"], volumes: [volume])
            defer { sandbox.cleanUp() }
            try servers.wipeMetrics()

            let tables = [("shop", "orders"), ("shop", "customers"), ("shop", "\"odd schema\".\"Mixed Case\""), ("crm", "contacts")]
            let pgBefore = try tables.map { try servers.tableDigest($0.1, database: $0.0) }
            let redisBefore = try [0, 1].map { try servers.redisDigest(database: $0) }
            let volumeBefore = try Harness.manifest(volume) as? NSDictionary

            let backupStart = Date()
            let backup = try sandbox.dr(["backup", "all"])
            let backupSeconds = Date().timeIntervalSince(backupStart)
            #expect(backup.status == 0, "\(backup.out)\n\(backup.stderr)")

            let snapshots = try sandbox.snapshots()
            #expect(snapshots.count == 4)
            let tagSets = Set(snapshots.compactMap { ($0["tags"] as? [String])?.sorted().joined(separator: ",") })
            #expect(tagSets == ["db=shop,postgres", "db=crm,postgres", "redis", "volumes"])
            #expect(snapshots.allSatisfy { $0["hostname"] as? String == "dr-test-host" })
            let check = try Harness.restic(["check", "--read-data"], repo: sandbox.repo, password: DRSandbox.password)
            #expect(check.status == 0, "\(check.out)\n\(check.stderr)")

            for (labels, name) in [(["stage": "postgres", "database": "shop"], "shop"), (["stage": "postgres", "database": "crm"], "crm"),
                                   (["stage": "redis"], "redis"), (["stage": "volumes"], "volumes")] {
                #expect(try servers.metric("backup_success", labels) == 1, "\(name)")
                #expect(try (servers.metric("backup_size_bytes", labels) ?? 0) > 0, "\(name)")
                #expect(try (servers.metric("backup_timestamp", labels) ?? 0) > 1_600_000_000, "\(name)")
                #expect(try servers.metric("backup_duration_seconds", labels) != nil, "\(name)")
            }
            #expect(try (servers.metric("backup_total_size_bytes", ["stage": "volumes"]) ?? 0) > 2_000_000)

            // Redis refuses a restore over its live data folder while it runs.
            let refused = try sandbox.dr(["restore", "redis"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("shutdown nosave") && refused.stderr.contains("systemctl"))

            // Lose everything.
            try servers.psql("DROP TABLE orders CASCADE; DROP SCHEMA \"odd schema\" CASCADE; TRUNCATE customers;", database: "shop")
            try servers.psql("DROP DATABASE crm;")
            try servers.redisCLI(["FLUSHALL"])
            try servers.stopRedis()
            try FileManager.default.removeItem(atPath: volume)

            let restoreStart = Date()
            let restore = try sandbox.dr(["restore", "all", "latest"])
            let restoreSeconds = Date().timeIntervalSince(restoreStart)
            #expect(restore.status == 0, "\(restore.out)\n\(restore.stderr)")
            #expect(restore.out.contains("rows verified"))
            try servers.startRedis()

            #expect(try tables.map { try servers.tableDigest($0.1, database: $0.0) } == pgBefore)
            #expect(try [0, 1].map { try servers.redisDigest(database: $0) } == redisBefore)
            #expect(redisBefore[0].hasPrefix("\(DRData.redisKeys):"))
            #expect(try Harness.manifest(volume) as? NSDictionary == volumeBefore)
            print("DR round trip: backup all \(String(format: "%.2f", backupSeconds)) s, restore all \(String(format: "%.2f", restoreSeconds)) s")
        }

        /// Restores into scratch targets leave the live data alone: a copy database, a scratch
        /// Redis folder verified by a throwaway redis-server, volumes below a target folder.
        @Test func restoreIntoScratchTargets() throws {
            let servers = try DRServers.shared()
            try DRData.createShop(servers)
            try DRData.fillRedis(servers)
            let volume = try TempDir.make("cartae-dr-volume").appendingPathComponent("site").path
            defer { try? FileManager.default.removeItem(atPath: (volume as NSString).deletingLastPathComponent) }
            try DRSandbox.makeVolume(volume, seed: 7)
            let sandbox = try DRSandbox(databases: ["shop"], volumes: [volume])
            defer { sandbox.cleanUp() }
            let backup = try sandbox.dr(["backup", "all"])
            #expect(backup.status == 0, "\(backup.out)\n\(backup.stderr)")

            let scratch = sandbox.dir.appendingPathComponent("scratch").path
            try servers.psql("DROP DATABASE IF EXISTS shop_copy;")
            let restore = try sandbox.dr(["restore", "all", "latest", "--target", scratch, "--target-db", "shop_copy", "--verify"])
            #expect(restore.status == 0, "\(restore.out)\n\(restore.stderr)")
            #expect(restore.out.contains("a throwaway redis-server loaded \(DRData.redisKeys + 1) keys"))
            #expect(try servers.tableDigest("orders", database: "shop_copy") == servers.tableDigest("orders", database: "shop"))
            #expect(FileManager.default.fileExists(atPath: scratch + "/redis/dump.rdb"))
            let copied = try Harness.manifest(scratch + volume) as? NSDictionary
            #expect(copied == (try Harness.manifest(volume) as? NSDictionary))

            // A snapshot ID restores that snapshot's stage only.
            let shopID = try #require(try sandbox.snapshots(tagged: "postgres").first?["id"] as? String)
            try servers.psql("DROP DATABASE shop_copy;")
            let byID = try sandbox.dr(["restore", "all", String(shopID.prefix(8)), "--target-db", "shop_copy"])
            #expect(byID.status == 0, "\(byID.out)\n\(byID.stderr)")
            #expect(byID.out.contains("postgres (shop)") && !byID.out.contains("redis"))
            #expect(try servers.tableDigest("customers", database: "shop_copy") == servers.tableDigest("customers", database: "shop"))
        }

        /// The check and prune runs push their own metrics.
        @Test func checkAndPrunePushTheirResults() throws {
            let servers = try DRServers.shared()
            let volume = try TempDir.make("cartae-dr-volume").path
            defer { try? FileManager.default.removeItem(atPath: volume) }
            try DRSandbox.makeVolume(volume + "/v")
            let sandbox = try DRSandbox(databases: [], volumes: [volume + "/v"], extra: ["CHECK_SUBSET": "100%", "KEEP_DAILY": "1",
                                                                                         "KEEP_WEEKLY": "0", "KEEP_MONTHLY": "0"])
            defer { sandbox.cleanUp() }
            try servers.wipeMetrics()
            for round in 0..<2 {
                try Data("round \(round)".utf8).write(to: URL(fileURLWithPath: volume + "/v/round.txt"))
                #expect(try sandbox.dr(["backup", "volumes"], ["POSTGRES_DB": ""]).status == 0)
            }
            let check = try sandbox.dr(["check"])
            #expect(check.status == 0, "\(check.out)\n\(check.stderr)")
            #expect(try servers.metric("check_success", ["stage": "check"]) == 1)
            #expect(try servers.metric("check_errors", ["stage": "check"]) == 0)
            #expect(try (servers.metric("check_packs_read", ["stage": "check"]) ?? 0) > 0)
            let prune = try sandbox.dr(["prune"])
            #expect(prune.status == 0, "\(prune.out)\n\(prune.stderr)")
            #expect(prune.out.contains("removed 1 snapshots, kept 1"))
            #expect(try servers.metric("prune_success", ["stage": "prune"]) == 1)
            #expect(try servers.metric("prune_removed_snapshots", ["stage": "prune"]) == 1)
            #expect(try sandbox.snapshots().count == 1)
            #expect(try Harness.restic(["check"], repo: sandbox.repo, password: DRSandbox.password).status == 0)
        }
    }
}
