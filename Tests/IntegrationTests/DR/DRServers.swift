import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real servers the `dr` tests share, started once on loopback ports in a temp folder:
/// PostgreSQL 15 (initdb and run as the `postgres` user when root, md5 auth), Redis with a
/// password, and a Prometheus Pushgateway. All are stopped when the test process exits.
final class DRServers: @unchecked Sendable {
    static let pgPassword = "pg-secret-pw"
    static let redisPassword = "redis-secret-pw"

    let root: String
    let pgBin: String
    let pgPort: Int
    let redisDir: String
    private(set) var redisPort: Int
    private var redis: DRChild?
    let pushgatewayPort: Int
    private var pushgateway: DRChild?
    private var postgres: DRChild?

    private static let instance: Result<DRServers, HarnessError> = {
        do {
            let servers = try DRServers()
            atexit { DRServers.stopShared() }
            return .success(servers)
        } catch let error as HarnessError {
            return .failure(error)
        } catch {
            return .failure(HarnessError("\(error)"))
        }
    }()

    static func shared() throws -> DRServers { try instance.get() }

    private static func stopShared() {
        if case .success(let servers) = instance { servers.stopAll() }
    }

    private init() throws {
        for (tool, package) in [("redis-server", "redis-server"), ("redis-cli", "redis-server"), ("psql", "postgresql"),
                                ("pg_dump", "postgresql"), ("pg_restore", "postgresql"),
                                ("prometheus-pushgateway", "prometheus-pushgateway"), ("curl", "curl")] {
            try Harness.requireTool(tool, package: package)
        }
        guard let bin = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql").sorted().last else {
            throw HarnessError("PostgreSQL server binaries not found in /usr/lib/postgresql: apt-get install -y postgresql")
        }
        pgBin = "/usr/lib/postgresql/\(bin)/bin"
        root = try TempDir.make("cartae-dr-servers").path
        chmod(root, 0o755)
        pgPort = try DRServers.freePort()
        redisDir = root + "/redis"
        redisPort = try DRServers.freePort()
        pushgatewayPort = try DRServers.freePort()
        try FileManager.default.createDirectory(atPath: redisDir, withIntermediateDirectories: true)
        try startPostgres()
        try startRedis()
        // Debian's build persists to one shared file by default; each test gateway starts empty.
        pushgateway = try DRServers.spawn("prometheus-pushgateway", ["--web.listen-address=127.0.0.1:\(pushgatewayPort)",
                                                                     "--persistence.file=", "--web.enable-admin-api"],
                                          log: root + "/pushgateway.log")
        try DRServers.waitForPort(pushgatewayPort, "prometheus-pushgateway", log: root + "/pushgateway.log")
    }

    // MARK: PostgreSQL

    private func asPostgres(_ arguments: [String]) throws -> Harness.Result {
        if getuid() == 0 { return try Harness.run("runuser", ["-u", "postgres", "--"] + arguments) }
        return try Harness.run(arguments[0], Array(arguments.dropFirst()))
    }

    private func startPostgres() throws {
        let dir = root + "/pg"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try (Self.pgPassword + "\n").write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
        if getuid() == 0 { _ = try Harness.run("chown", ["-R", "postgres", dir]) }
        let initdb = try asPostgres([pgBin + "/initdb", "-D", dir + "/data", "-U", "postgres", "--auth=md5",
                                     "--pwfile=\(dir)/pw", "--no-sync"])
        guard initdb.status == 0 else { throw HarnessError("initdb failed: \(initdb.stderr)") }
        // In the foreground, not through pg_ctl: a daemon would inherit the descriptor Foundation's
        // Process watches, and waiting for pg_ctl would never end.
        let server = [pgBin + "/postgres", "-D", dir + "/data", "-p", String(pgPort), "-k", dir,
                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
        postgres = try Self.spawn(getuid() == 0 ? "runuser" : server[0],
                                  getuid() == 0 ? ["-u", "postgres", "--"] + server : Array(server.dropFirst()), log: dir + "/log")
        try Self.waitForPort(pgPort, "postgres", log: dir + "/log")
        for _ in 0..<200 where (try? psql("SELECT 1;")) != "1" { usleep(25_000) }
    }

    /// Runs SQL as postgres (through stdin, so several statements work) and returns stdout.
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try Harness.run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                              "-p", String(pgPort), "-U", "postgres", "-d", database],
                                     environment: ["PGPASSWORD": Self.pgPassword], input: Data(sql.utf8))
        guard result.status == 0 else { throw HarnessError("psql failed: \(result.stderr)") }
        return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Row count and an MD5 over every row of a table, in key order.
    func tableDigest(_ table: String, database: String) throws -> String {
        try psql("SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \(table) t;", database: database)
    }

    // MARK: Redis

    func startRedis(extra: [String] = []) throws {
        redis = try Self.spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--dir", redisDir,
                                                "--save", "", "--appendonly", "no", "--requirepass", Self.redisPassword,
                                                "--repl-diskless-sync-delay", "0", "--logfile", redisDir + "/redis.log"] + extra,
                               log: root + "/redis-stdout.log")
        try Self.waitForPort(redisPort, "redis-server", log: redisDir + "/redis.log")
        // Wait until the dataset is loaded (PING answers LOADING before).
        for _ in 0..<200 where (try? redisCLI(["PING"])) != "PONG" { usleep(25_000) }
    }

    /// SHUTDOWN NOSAVE, so dump.rdb stays as it is.
    func stopRedis() throws {
        _ = try? redisCLI(["SHUTDOWN", "NOSAVE"])
        redis?.wait()
        redis = nil
    }

    @discardableResult
    func redisCLI(_ words: [String], database: Int = 0) throws -> String {
        let result = try Harness.run("redis-cli", ["-h", "127.0.0.1", "-p", String(redisPort), "-n", String(database)] + words,
                                     environment: ["REDISCLI_AUTH": Self.redisPassword])
        guard result.status == 0 else { throw HarnessError("redis-cli \(words.first ?? "") failed: \(result.stderr)") }
        return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Key count and a digest of every key's type and value in one database. Sets and hashes
    /// are sorted first: their DUMP follows hash-table order, which a reload may change.
    func redisDigest(database: Int = 0) throws -> String {
        let script = """
            local keys = redis.call('KEYS', '*') table.sort(keys) local parts = {}
            for _, k in ipairs(keys) do
              local t = redis.call('TYPE', k).ok local v
              if t == 'set' then v = redis.call('SMEMBERS', k) table.sort(v) v = table.concat(v, ',')
              elseif t == 'hash' then
                local flat = redis.call('HGETALL', k) v = {}
                for i = 1, #flat, 2 do v[#v + 1] = flat[i] .. '=' .. flat[i + 1] end
                table.sort(v) v = table.concat(v, ',')
              else v = redis.call('DUMP', k) end
              parts[#parts + 1] = k .. ':' .. t .. '=' .. redis.sha1hex(v)
            end
            return #keys .. ':' .. redis.sha1hex(table.concat(parts, ','))
            """
        return try redisCLI(["EVAL", script, "0"], database: database)
    }

    // MARK: Pushgateway

    var pushgatewayURL: String { "http://127.0.0.1:\(pushgatewayPort)" }

    func metrics() throws -> String {
        let result = try Harness.run("curl", ["-sf", pushgatewayURL + "/metrics"])
        guard result.status == 0 else { throw HarnessError("curl /metrics failed: \(result.stderr)") }
        return result.out
    }

    /// The value of the first sample of `name` whose labels include all of `labels`.
    func metric(_ name: String, _ labels: [String: String]) throws -> Double? {
        for line in try metrics().split(separator: "\n") where line.hasPrefix(name + "{") {
            let text = String(line)
            guard labels.allSatisfy({ text.contains("\($0.key)=\"\($0.value)\"") }),
                  let value = text.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            return value
        }
        return nil
    }

    /// Forgets every pushed group, so a test sees only its own pushes.
    func wipeMetrics() throws {
        let result = try Harness.run("curl", ["-sf", "-X", "PUT", pushgatewayURL + "/api/v1/admin/wipe"])
        guard result.status == 0 else { throw HarnessError("pushgateway wipe failed (status \(result.status))") }
    }

    // MARK: environment for `dr`

    /// Everything `dr` needs except the repository and its password (given by Harness.ours).
    func environment(databases: [String], volumes: [String], logDir: String) -> [String: String] {
        ["POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": String(pgPort), "POSTGRES_USER": "postgres",
         "POSTGRES_PASSWORD": Self.pgPassword, "POSTGRES_DB": databases.joined(separator: ","),
         "REDIS_HOST": "127.0.0.1", "REDIS_PORT": String(redisPort), "REDIS_PASSWORD": Self.redisPassword,
         "REDIS_DATA_DIR": redisDir, "BACKUP_VOLUMES": volumes.joined(separator: ","),
         "PUSHGATEWAY_URL": pushgatewayURL, "LOG_DIR": logDir, "RESTIC_HOST": "dr-test-host"]
    }

    // MARK: processes

    func stopAll() {
        try? stopRedis()
        pushgateway?.stop()
        _ = try? asPostgres([pgBin + "/pg_ctl", "-D", root + "/pg/data", "-m", "immediate", "-w", "stop"])
        postgres?.wait()
        try? FileManager.default.removeItem(atPath: root)
    }

    static func spawn(_ tool: String, _ arguments: [String], log: String,
                      environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DRChild {
        try DRChild(try Harness.which(tool), arguments, log: log, environment: environment)
    }

    static func waitForPort(_ port: Int, _ name: String, log: String) throws {
        for _ in 0..<400 {
            if accepts(port) { return }
            usleep(25_000)
        }
        throw HarnessError("\(name) did not listen on \(port): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw HarnessError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// A server or `dr schedule` run in the background, its output appended to a log. It starts
/// through `PosixProcess`, with an empty signal mask: Foundation's Process passes on the
/// blocked signals of the thread that starts it, so its children never see SIGTERM.
final class DRChild: @unchecked Sendable {
    private let process: PosixProcess
    var pid: pid_t { process.processIdentifier }

    init(_ path: String, _ arguments: [String], log: String, environment: [String: String]) throws {
        let output = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw HarnessError("open \(log): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        let input = try PosixProcess.nullDevice()
        defer { close(input) }
        process = try PosixProcess(path, arguments, environment: environment, stdin: input, stdout: output, stderr: output)
    }

    var isRunning: Bool { process.isRunning }

    /// The exit code (or 128 + signal), once ended.
    var exitCode: Int32? {
        if process.isRunning { return nil }
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    func signal(_ number: Int32) { if isRunning { kill(pid, number) } }

    @discardableResult
    func wait(timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// SIGTERM, then SIGKILL after a second.
    func stop() {
        signal(SIGTERM)
        if !wait(timeout: 1) {
            signal(SIGKILL)
            wait()
        }
    }
}
