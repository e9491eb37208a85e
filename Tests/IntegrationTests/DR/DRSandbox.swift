import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every `dr` test runs in this serialized suite: they share one PostgreSQL, Redis and
/// Pushgateway, and some stop and restart Redis.
@Suite(.serialized) enum DRIntegration {}

/// One test's repository, log folder and `dr` environment over the shared servers.
struct DRSandbox {
    static let password = "dr-test-password"
    let servers: DRServers
    let dir: URL
    let repo: String
    var environment: [String: String]

    init(databases: [String], volumes: [String] = [], extra: [String: String] = [:]) throws {
        servers = try DRServers.shared()
        dir = try TempDir.make("cartae-dr")
        repo = dir.appendingPathComponent("repo").path
        environment = servers.environment(databases: databases, volumes: volumes, logDir: dir.appendingPathComponent("logs").path)
            .merging(extra) { $1 }
    }

    /// Runs `cartae-restic dr ARGS --env-file /dev/null` (the environment is the whole config).
    @discardableResult
    func dr(_ arguments: [String], _ extra: [String: String] = [:]) throws -> Harness.Result {
        try Harness.ours(["dr"] + arguments + ["--env-file", "/dev/null"], repo: repo, password: Self.password,
                         environment: environment.merging(extra) { $1 })
    }

    /// The repository's snapshots as restic lists them.
    func snapshots() throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: repo + "/config") else { return [] }
        let result = try Harness.restic(["snapshots", "--json"], repo: repo, password: Self.password)
        guard result.status == 0 else { throw HarnessError("restic snapshots: \(result.stderr)") }
        return (try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]]) ?? []
    }

    func snapshots(tagged tag: String) throws -> [[String: Any]] {
        try snapshots().filter { ($0["tags"] as? [String])?.contains(tag) == true }
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: dir)
    }

    /// A folder with nested files, a 2 MiB random file, a symlink and odd modes.
    static func makeVolume(_ path: String, seed: UInt8 = 1) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: path + "/uploads/2024", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: path + "/config", withIntermediateDirectories: true)
        try Data("name: app\nseed: \(seed)\n".utf8).write(to: URL(fileURLWithPath: path + "/config/app.yml"))
        var generator = SeededBytes(seed: UInt64(seed))
        try Data(generator.bytes(2 << 20)).write(to: URL(fileURLWithPath: path + "/uploads/2024/photo.bin"))
        try Data(String(repeating: "log line\n", count: 5000).utf8).write(to: URL(fileURLWithPath: path + "/uploads/app.log"))
        try fm.createSymbolicLink(atPath: path + "/current", withDestinationPath: "uploads/2024")
        chmod(path + "/config/app.yml", 0o600)
        chmod(path + "/uploads", 0o750)
    }
}

/// Deterministic bytes (xorshift) so two runs make the same files.
struct SeededBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }
}

/// Test data: two databases with tables of 100k+ rows, and a Redis dataset of every type.
enum DRData {
    static func createShop(_ servers: DRServers, name: String = "shop") throws {
        try servers.psql("DROP DATABASE IF EXISTS \(name); CREATE DATABASE \(name);")
        try servers.psql("""
            CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, created timestamptz);
            INSERT INTO customers SELECT i, 'customer ' || i, '2024-01-01'::timestamptz + i * interval '1 minute'
              FROM generate_series(1, 2000) i;
            CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers(id), amount numeric(10,2), note text);
            INSERT INTO orders (customer, amount, note)
              SELECT 1 + i % 2000, (i % 997) / 7.0, md5(i::text) FROM generate_series(1, 150000) i;
            CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100;
            CREATE SCHEMA "odd schema";
            CREATE TABLE "odd schema"."Mixed Case" (v text);
            INSERT INTO "odd schema"."Mixed Case" VALUES ('a'), ('b'), (NULL);
            """, database: name)
    }

    static func createCRM(_ servers: DRServers) throws {
        try servers.psql("DROP DATABASE IF EXISTS crm; CREATE DATABASE crm;")
        try servers.psql("""
            CREATE TABLE contacts (id int PRIMARY KEY, email text UNIQUE, score float8);
            INSERT INTO contacts SELECT i, 'user' || i || '@example.com', i * 0.5 FROM generate_series(1, 100000) i;
            """, database: "crm")
    }

    static func fillRedis(_ servers: DRServers) throws {
        try servers.redisCLI(["FLUSHALL"])
        try servers.redisCLI(["EVAL", """
            for i = 1, 500 do redis.call('SET', 'str:' .. i, 'value-' .. i) end
            for i = 1, 50 do redis.call('RPUSH', 'list:' .. i, 'a', 'b', 'c', i) end
            for i = 1, 50 do redis.call('HSET', 'hash:' .. i, 'f1', 'v1', 'f2', i) end
            for i = 1, 300 do redis.call('SADD', 'bigset', 'member' .. i) end
            for i = 1, 300 do redis.call('ZADD', 'bigzset', i, 'member' .. i) end
            for i = 1, 300 do redis.call('RPUSH', 'biglist', string.rep('x', 40) .. i) end
            redis.call('SET', 'counter', 12345)
            redis.call('SET', 'long', string.rep('compressible ', 500))
            redis.call('XADD', 'events', '*', 'kind', 'signup')
            redis.call('SET', 'session', 'abc', 'EX', 100000)
            return 1
            """, "0"])
        try servers.redisCLI(["SET", "other-db-key", "1"], database: 1)
    }

    static let redisKeys = 500 + 50 + 50 + 7
}
