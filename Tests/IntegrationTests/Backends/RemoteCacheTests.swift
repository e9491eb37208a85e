import Foundation
import Testing

/// The local cache of a remote repository: index, snapshot and key files are fetched once, a
/// repeated command or an unchanged backup downloads none of them again, `--no-cache` does.
@Suite("cache of remote repositories")
struct RemoteCacheTests {
    /// GET requests the proxy forwarded since `start`, as (path, bytes received).
    static func gets(_ proxy: FaultProxy, since start: Int) -> [(path: String, bytes: Int)] {
        proxy.logLines.dropFirst(start).compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 5, parts[0] == "ok", parts[1] == "GET" else { return nil }
            return (String(parts[2]), Int(parts[4]) ?? 0)
        }
    }

    /// A REST server behind a proxy that logs every request, and a cache folder of its own.
    struct ProxiedServer {
        let dir: URL
        let server: ServerProcess
        let proxy: FaultProxy
        var repo: String { "rest:http://127.0.0.1:\(proxy.port)/repo" }
        var cache: [String: String] { ["XDG_CACHE_HOME": dir.appendingPathComponent("cache").path] }

        func stop() {
            proxy.stop()
            server.stop()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    static func proxiedServer() throws -> ProxiedServer {
        let dir = try TempDir.make()
        let server = try Servers.rest(root: dir.appendingPathComponent("served").path)
        var options = FaultProxy.Options()
        options.logAll = true
        do {
            return ProxiedServer(dir: dir, server: server, proxy: try FaultProxy(upstreamPort: server.port, options: options))
        } catch {
            server.stop()
            throw error
        }
    }

    @Test func secondRunDownloadsAlmostNothing() async throws {
        let setup = try Self.proxiedServer()
        defer { setup.stop() }
        let (dir, proxy, repo, cache) = (setup.dir, setup.proxy, setup.repo, setup.cache)
        @discardableResult
        func ours(_ arguments: [String]) throws -> Harness.Result {
            let result = try Harness.ours(arguments, repo: repo, password: WriteRepo.password, environment: cache)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result
        }
        func metadataGets(since start: Int) -> [String] {
            Self.gets(proxy, since: start).map(\.path).filter {
                $0.contains("/index/") || $0.contains("/snapshots/") || $0.contains("/keys/")
            }.filter { !$0.hasSuffix("/") }  // listings are always asked for
        }

        try ours(["init"])
        let tree = try TreeGenerator.make(in: dir, seed: 61)
        try ours(["backup", tree.root])

        // What the backup wrote went into the cache too: listing snapshots reads no file.
        var mark = proxy.logLines.count
        try ours(["snapshots"])
        #expect(metadataGets(since: mark).isEmpty, "\(metadataGets(since: mark))")

        mark = proxy.logLines.count
        try ours(["snapshots", "--no-cache"])
        #expect(metadataGets(since: mark).contains { $0.contains("/snapshots/") })

        // An unchanged backup downloads no index, snapshot or key file, and little else.
        mark = proxy.logLines.count
        try ours(["backup", tree.root])
        #expect(metadataGets(since: mark).isEmpty, "\(metadataGets(since: mark))")
        let received = Self.gets(proxy, since: mark).reduce(0) { $0 + $1.bytes }
        #expect(received < 64 * 1024, "an unchanged backup received \(received) bytes")

        // Copies in the cache are plain files of their repository's names.
        let cached = try FileManager.default.subpathsOfDirectory(atPath: cache["XDG_CACHE_HOME"]! + "/cartae-restic")
        #expect(cached.contains { $0.hasSuffix("/snapshots") } && cached.contains { $0.contains("/index/") })
    }

    /// `--json` summaries and `-v` report the traffic of the run; the proxy in front of the
    /// server counts the same requests and payload bytes independently.
    @Test func summariesReportRequestsAndBytes() async throws {
        let setup = try Self.proxiedServer()
        defer { setup.stop() }
        let (dir, proxy, repo, cache) = (setup.dir, setup.proxy, setup.repo, setup.cache)
        func run(_ arguments: [String]) throws -> (result: Harness.Result, proxied: (requests: Int, sent: Int, received: Int)) {
            let mark = proxy.logLines.count
            let result = try Harness.ours(arguments, repo: repo, password: WriteRepo.password, environment: cache)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            var proxied = (requests: 0, sent: 0, received: 0)
            for line in proxy.logLines.dropFirst(mark) {
                let parts = line.split(separator: " ")
                guard parts.count == 5, parts[0] == "ok" else { continue }
                proxied.requests += 1
                proxied.sent += Int(parts[3]) ?? 0
                proxied.received += Int(parts[4]) ?? 0
            }
            return (result, proxied)
        }
        func summary(_ result: Harness.Result) throws -> [String: Any] {
            let line = try #require(result.out.split(separator: "\n").last { $0.contains("\"summary\"") })
            return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }

        _ = try run(["init"])
        let tree = try TreeGenerator.make(in: dir, seed: 62)
        let (backup, uploaded) = try run(["backup", "--json", "-q", tree.root])
        let backupSummary = try summary(backup)
        #expect(backupSummary["backend_requests"] as? Int == uploaded.requests, "\(backupSummary) vs proxy \(uploaded)")
        #expect(backupSummary["backend_bytes_sent"] as? Int == uploaded.sent, "\(backupSummary) vs proxy \(uploaded)")
        #expect(backupSummary["backend_bytes_received"] as? Int == uploaded.received)
        #expect(uploaded.sent > tree.bytes / 2, "the backup uploaded only \(uploaded.sent) bytes")
        #expect(backupSummary["cache_misses"] is Int && backupSummary["backend_retries"] as? Int == 0)

        let (restore, downloaded) = try run(["restore", "--json", "latest", "--target", dir.appendingPathComponent("out").path])
        let restoreSummary = try summary(restore)
        #expect(restoreSummary["backend_requests"] as? Int == downloaded.requests, "\(restoreSummary) vs proxy \(downloaded)")
        #expect(restoreSummary["backend_bytes_received"] as? Int == downloaded.received)
        #expect(downloaded.received > tree.bytes / 2)

        // -v: one line on standard error, whatever the command prints on standard output.
        let (listing, listed) = try run(["-v", "snapshots"])
        let line = try #require(listing.stderr.split(separator: "\n").first { $0.hasPrefix("backend: ") })
        #expect(line.hasPrefix("backend: \(listed.requests) requests, "), "\(line) vs proxy \(listed)")
        #expect(line.contains("; cache: ") && !listing.out.contains("backend: "))
    }
}
