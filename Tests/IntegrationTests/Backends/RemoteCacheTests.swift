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

    @Test func secondRunDownloadsAlmostNothing() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Servers.rest(root: dir.appendingPathComponent("served").path)
        defer { server.stop() }
        var options = FaultProxy.Options()
        options.logAll = true
        let proxy = try FaultProxy(upstreamPort: server.port, options: options)
        defer { proxy.stop() }
        let repo = "rest:http://127.0.0.1:\(proxy.port)/repo"
        let cache = ["XDG_CACHE_HOME": dir.appendingPathComponent("cache").path]
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
}
