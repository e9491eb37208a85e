import Foundation
import Testing

/// HTTPS with a private certificate: refused by default, accepted with `--cacert`, and with
/// `--insecure-tls` when the user opts out of verification.
@Suite("TLS to the repository server")
struct TLSTests {
    @Test func privateCertificate() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path
        let key = dir.appendingPathComponent("key.pem").path
        try Harness.requireTool("openssl", package: "openssl")
        let made = try Harness.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                               "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        let server = try Servers.rest(root: dir.appendingPathComponent("served").path, extra: ["--cert", cert, "--key", key])
        defer { server.stop() }
        let repo = "rest:https://127.0.0.1:\(server.port)/repo"

        let clock = ContinuousClock()
        let start = clock.now
        let refused = try Harness.ours(["init"], repo: repo, password: WriteRepo.password)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("TLS") && refused.stderr.contains("--cacert"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("retrying"))
        #expect(clock.now - start < .seconds(15), "no retries (they would take a minute)")

        let trusted = try Harness.ours(["--cacert", cert, "init"], repo: repo, password: WriteRepo.password)
        #expect(trusted.status == 0, "init with --cacert: \(trusted.stderr)")
        let insecure = try Harness.ours(["snapshots", "--insecure-tls"], repo: repo, password: WriteRepo.password)
        #expect(insecure.status == 0, "snapshots with --insecure-tls: \(insecure.stderr)")
        let fromEnvironment = try Harness.ours(["snapshots"], repo: repo, password: WriteRepo.password,
                                               environment: ["RESTIC_CACERT": cert])
        #expect(fromEnvironment.status == 0, "snapshots with RESTIC_CACERT: \(fromEnvironment.stderr)")
        // restic trusts the same certificate for the repository we made.
        let restic = try Harness.restic(["--cacert", cert, "snapshots"], repo: repo, password: WriteRepo.password)
        #expect(restic.status == 0, "restic over TLS: \(restic.stderr)")
    }
}
