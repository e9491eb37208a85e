import Foundation
import Testing
import ResticCore
@testable import ResticBackends

/// The conformance suite against every backend, each on a real server on loopback.
@Suite("backend conformance")
struct BackendConformanceTests {
    @Test func local() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let opened = try BackendFactory.open(location: "local:" + dir.appendingPathComponent("repo").path)
        try await BackendConformance.run(opened.backend)
        #expect(opened.statistics.requests > 100)
    }

    @Test func rest() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Servers.rest(root: dir.path)
        defer { server.stop() }
        let opened = try BackendFactory.open(location: "rest:http://127.0.0.1:\(server.port)/repo")
        try await BackendConformance.run(opened.backend)
        // The server files packs the way restic's local layout does.
        let packFolders = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/repo/data")
        #expect(packFolders.allSatisfy { $0.count == 2 })
        #expect(opened.statistics.requests > 100)
        #expect(opened.statistics.bytesSent > 1_500_000 && opened.statistics.bytesReceived > 1_500_000)
    }

    @Test func restWithPassword() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Servers.rest(root: dir.path, extra: ["--user", "alice", "--pass", "c0rrect horse"])
        defer { server.stop() }
        let opened = try BackendFactory.open(location: "rest:http://alice:c0rrect%20horse@127.0.0.1:\(server.port)/repo")
        try await BackendConformance.run(opened.backend)

        // A wrong password fails at once, and no message carries it.
        let wrong = try BackendFactory.open(location: "rest:http://alice:wr0ng-guess@127.0.0.1:\(server.port)/repo")
        do {
            _ = try await wrong.backend.repositoryExists()
            Issue.record("a wrong password was accepted")
        } catch let error as ResticError {
            #expect(error.message.contains("access denied (HTTP 401)"))
            #expect(!error.message.contains("wr0ng-guess") && !error.message.contains("alice"))
        }
        #expect(wrong.statistics.requests == 1, "a 401 is not retried")
    }

    @Test func s3WithPrefix() async throws {
        let server = try Servers.s3()
        defer { server.stop() }
        let opened = try BackendFactory.open(location: "s3:http://127.0.0.1:\(server.port)/conformance/some/prefix",
                                             environment: Servers.awsEnvironment)
        try await BackendConformance.run(opened.backend)

        // A bucket root, with list pages of seven keys so continuation tokens are followed.
        var configuration = try S3Configuration.parse("s3:http://127.0.0.1:\(server.port)/second")
        configuration.maxKeys = 7
        let statistics = BackendStatistics()
        let small = try S3Backend(configuration: configuration,
                                  credentials: AWSCredentials(accessKeyID: "k", secretAccessKey: "s"),
                                  statistics: statistics)
        try await BackendConformance.run(RetryBackend(ConnectionLimitBackend(small, connections: 5)))
        configuration.prefix = "pages"
        let pages = try S3Backend(configuration: configuration,
                                  credentials: AWSCredentials(accessKeyID: "k", secretAccessKey: "s"),
                                  statistics: statistics)
        let names = (0..<20).map { BackendConformance.handle(.pack, [UInt8($0)]) }
        for name in names { try await pages.save(name, data: [1]) }
        let before = statistics.requests
        #expect(Set(try await pages.list(.pack).map(\.name)) == Set(names.map(\.name)))
        #expect(statistics.requests - before == 3, "20 keys in pages of 7")
    }

    @Test func s3Errors() async throws {
        let server = try Servers.s3()
        defer { server.stop() }
        let missing = try BackendFactory.open(location: "s3:http://127.0.0.1:\(server.port)/no-such-bucket/repo",
                                              environment: Servers.awsEnvironment)
        // No bucket: no repository, and a load says which bucket is missing, without retries.
        #expect(try await !missing.backend.repositoryExists())
        do {
            _ = try await missing.backend.load(.config)
            Issue.record("a load from a missing bucket succeeded")
        } catch let error as ResticError {
            #expect(error.message.contains("bucket \"no-such-bucket\" does not exist"), "\(error.message)")
            #expect(!error.message.contains("cartae-test-secret"))
        }
        // Refused at once: one HEAD, one GET, no retries.
        #expect(missing.statistics.requests == 2)
        #expect(missing.statistics.retries == 0)
    }

    @Test func retriesHideFaults() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let faulty = FaultyBackend(LocalBackend(path: dir.appendingPathComponent("repo").path), rate: 0.3, seed: 7)
        let policy = RetryPolicy(maxAttempts: 30, initialDelay: .milliseconds(1), multiplier: 1.2,
                                 maxDelay: .milliseconds(5), maxElapsed: .seconds(600), jitter: 0.5)
        let statistics = BackendStatistics()
        let stack = RetryBackend(ConnectionLimitBackend(faulty, connections: 4), policy: policy, statistics: statistics)
        try await BackendConformance.run(stack)
        #expect(faulty.faults > 20, "the decorator injected faults")
        #expect(statistics.retries == faulty.faults)
    }
}
