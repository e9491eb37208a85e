import Foundation

/// Talks to Redis through `redis-cli`; the password travels in REDISCLI_AUTH, never in argv.
public struct RedisClient: Sendable {
    public let host: String
    public let port: Int
    let password: String?

    public init(host: String, port: Int, password: String?) {
        self.host = host
        self.port = port
        self.password = password
    }

    init(settings: DRConfig.RedisSettings) {
        self.init(host: settings.host, port: settings.port, password: settings.password)
    }

    var environment: [String: String?] { ["REDISCLI_AUTH": password] }
    var address: [String] { ["-h", host, "-p", String(port)] }

    /// Runs one command and returns the raw reply; error replies and connection failures throw.
    public func command(_ words: [String]) async throws -> String {
        let outcome = try await ChildProcess.run("redis-cli", address + words, environment: environment)
        let reply = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let problem = Self.problem(in: reply) ?? Self.problem(in: outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        guard outcome.succeeded, problem == nil else {
            throw StageError("redis-cli \(words.first ?? "") on \(host):\(port): \(problem ?? outcome.failureDescription)")
        }
        return reply
    }

    /// redis-cli prints error replies on stdout and still exits 0 for some of them.
    static func problem(in text: String) -> String? {
        let first = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        for prefix in ["ERR", "NOAUTH", "WRONGPASS", "LOADING", "MISCONF", "NOPERM", "Could not connect", "Error:"] where first.hasPrefix(prefix) {
            return first
        }
        return nil
    }

    /// Whether anything answers on the address (a server that refuses our password is running).
    public func isRunning() async -> Bool {
        guard let outcome = try? await ChildProcess.run("redis-cli", address + ["PING"], environment: environment) else { return false }
        let text = outcome.output + outcome.stderr
        return !text.contains("Could not connect") && !text.contains("Connection refused")
    }

    /// Total keys over all databases, from INFO keyspace.
    public func keyCount() async throws -> Int {
        let info = try await command(["INFO", "keyspace"])
        return Self.keys(inKeyspace: info)
    }

    static func keys(inKeyspace info: String) -> Int {
        var total = 0
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("db") {
            guard let field = line.split(separator: ":").last?.split(separator: ",").first(where: { $0.hasPrefix("keys=") }),
                  let count = Int(field.dropFirst("keys=".count)) else { continue }
            total += count
        }
        return total
    }

    /// One field of an INFO section ("rdb_bgsave_in_progress" → "0").
    static func field(_ name: String, in info: String) -> String? {
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// A CONFIG GET value, nil when the command is refused (e.g. renamed away).
    func config(_ name: String) async -> String? {
        guard let reply = try? await command(["CONFIG", "GET", name]) else { return nil }
        let lines = reply.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        return lines.count >= 2 ? String(lines[1]) : nil
    }

    /// Asks for a BGSAVE and waits until it has finished successfully.
    func backgroundSave(timeout: Duration = .seconds(3600)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            do {
                let reply = try await command(["BGSAVE"])
                if reply.contains("started") || reply.contains("scheduled") { break }
                throw StageError("BGSAVE answered: \(reply)")
            } catch let error as StageError where error.message.contains("in progress") {
                // Someone else's save is running; ours starts after it.
                try await Task.sleep(for: .milliseconds(200))
                guard clock.now < deadline else { throw StageError("BGSAVE: timed out waiting for a running save") }
            }
        }
        while true {
            try await Task.sleep(for: .milliseconds(100))
            let info = try await command(["INFO", "persistence"])
            if Self.field("rdb_bgsave_in_progress", in: info) == "0" {
                guard Self.field("rdb_last_bgsave_status", in: info) == "ok" else {
                    throw StageError("BGSAVE failed on \(host):\(port) (rdb_last_bgsave_status: \(Self.field("rdb_last_bgsave_status", in: info) ?? "?"))")
                }
                return
            }
            guard clock.now < deadline else { throw StageError("BGSAVE: still running after \(timeout)") }
        }
    }
}
