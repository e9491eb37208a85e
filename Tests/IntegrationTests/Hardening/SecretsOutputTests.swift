import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ResticBackends
import ResticRepository

/// Every command of the CLI, succeeding and failing, plain, `--json` and `-v`, run with
/// distinctive secrets; none of them may show up in anything the program prints. The one
/// exception is `cat masterkey`, whose whole purpose is to print the master key: its output is
/// still searched for every other secret.
@Suite("secrets stay out of the output")
struct SecretsOutputTests {
    static let password = "Pw-Zebra-7fq2-SECRET"
    static let newPassword = "NewPw-Quokka-3kx9-SECRET"
    static let s3Secret = "S3Secret-Wombat-9d8s/+x"
    static let restPassword = "RestPw-Koala-5t6y"
    static let restEnvPassword = "RestEnvPw-Dingo-2w4e"

    /// Everything the runs printed, labelled by command line.
    final class Transcript {
        var entries: [(label: String, text: String)] = []
        let repo: String

        init(repo: String) { self.repo = repo }

        @discardableResult
        func run(_ arguments: [String], repo: String? = nil, password: String? = SecretsOutputTests.password,
                 environment: [String: String] = [:], input: Data? = nil, label: String? = nil) throws -> Harness.Result {
            let result = try Harness.ours(arguments, repo: repo ?? self.repo, password: password,
                                          environment: environment, input: input)
            entries.append((label ?? arguments.joined(separator: " "), result.out + "\n" + result.stderr))
            ReadPath.expectNoCrash(result)
            return result
        }

        /// The run with `--json` and `-v` added as well.
        func all(_ arguments: [String], ok: Bool = true) throws {
            for extra in [[], ["--json"], ["-v"]] {
                let result = try run(arguments + extra)
                if ok { #expect(result.status == 0, "\(arguments + extra): \(result.stderr)") }
            }
        }
    }

    /// A repository keyed with `password` (cheap scrypt) and a small source folder.
    struct Setup {
        let dir: URL
        let repo: String
        let source: String
        let transcript: Transcript

        init() async throws {
            dir = try TempDir.make("cartae-secrets")
            repo = dir.appendingPathComponent("repo").path
            _ = try await Repository.initialize(LocalBackend(path: repo), password: SecretsOutputTests.password, version: 2,
                                                scrypt: WriteRepo.cheapScrypt)
            source = dir.appendingPathComponent("src").path
            try TreeGenerator.makeDirectory(source)
            try TreeGenerator.write(source + "/a.txt", Array("secrets test\n".utf8))
            try TreeGenerator.write(source + "/b.bin", TreeGenerator.randomBytes(300_000, seed: 7))
            transcript = Transcript(repo: repo)
        }

        /// The master key, read with `cat masterkey` (which is then exempt from the key check).
        func keyMaterial() throws -> [(String, String)] {
            let masterKey = try transcript.run(["cat", "masterkey"], label: "cat masterkey")
            try #require(masterKey.status == 0, "\(masterKey.stderr)")
            return try SecretsOutputTests.keyMaterial(masterKey.stdout)
        }

        /// No secret in anything printed so far.
        func expectClean(_ keyMaterial: [(String, String)], atLeast runs: Int,
                         sourceLocation: SourceLocation = #_sourceLocation) {
            var secrets: [(String, String)] = [
                ("password", SecretsOutputTests.password), ("new password", SecretsOutputTests.newPassword),
                ("S3 secret key", SecretsOutputTests.s3Secret), ("REST password", SecretsOutputTests.restPassword),
                ("REST password from the environment", SecretsOutputTests.restEnvPassword),
                ("REST credentials as a header", Data("alice:\(SecretsOutputTests.restPassword)".utf8).base64EncodedString())]
            secrets += keyMaterial.map { ("master key \($0.0)", $0.1) }
            for (label, text) in transcript.entries {
                for (what, secret) in secrets {
                    if label == "cat masterkey" && what.hasPrefix("master key") { continue }
                    #expect(!text.contains(secret), "\(what) appears in the output of `\(label)`:\n\(text)",
                            sourceLocation: sourceLocation)
                }
            }
            #expect(transcript.entries.count >= runs, "the scan ran only \(transcript.entries.count) commands",
                    sourceLocation: sourceLocation)
        }

        func remove() { try? FileManager.default.removeItem(at: dir) }
    }

    @Test("every command that succeeds, plain, --json and -v")
    func succeedingCommands() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let t = s.transcript
        let source = s.source

        // init itself (a calibrated key each, so only twice).
        for extra in [["-v"], ["--json"]] {
            let initialized = try t.run(["init"] + extra, repo: s.dir.appendingPathComponent("init\(extra[0])").path)
            #expect(initialized.status == 0, "\(initialized.stderr)")
        }
        try t.all(["backup", source])
        let pathSnapshot = try #require(WriteRepo.files(s.repo, "snapshots").first)
        try t.run(["backup", "--stdin", "--stdin-filename", "in.txt"], input: Data("from stdin".utf8))
        try t.run(["backup", "--json", "--stdin-from-command", "--", "/bin/echo", "from a command"])
        let index = try #require(WriteRepo.files(s.repo, "index").first)
        let key = try #require(WriteRepo.files(s.repo, "keys").first)
        for arguments in [["snapshots"], ["ls", "latest"], ["ls", "-l", pathSnapshot, source], ["cat", "config"],
                          ["cat", "snapshot", pathSnapshot], ["cat", "index", index], ["cat", "key", key],
                          ["cat", "tree", "latest"], ["dump", pathSnapshot, source + "/a.txt"], ["list", "blobs"],
                          ["list", "packs"], ["list", "index"], ["list", "snapshots"], ["list", "keys"], ["list", "locks"],
                          ["stats"], ["stats", "--mode", "raw-data"], ["check"], ["check", "--read-data"], ["key", "list"],
                          ["version"]] {
            try t.all(arguments)
        }
        let keyMaterial = try s.keyMaterial()
        try t.run(["restore", "latest", "--target", s.dir.appendingPathComponent("restored").path])
        try t.run(["restore", "latest", "--json", "-v", "--target", s.dir.appendingPathComponent("restored2").path])
        try t.all(["forget", "--keep-last", "2", "--dry-run"])
        try t.run(["forget", "--keep-last", "2", "-v"])
        try t.run(["prune", "--dry-run", "-v"])
        try t.run(["prune", "--json"])
        try t.all(["repair", "index"])
        try t.all(["repair", "snapshots", "--dry-run"])
        try t.all(["unlock"])
        try t.run(["unlock", "--remove-all", "-v"])
        s.expectClean(keyMaterial, atLeast: 85)
    }

    @Test("failing runs: wrong password, no repository, bad flags, unreachable S3 and REST servers")
    func failingCommands() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let t = s.transcript
        let source = s.source
        #expect(try t.run(["backup", "-q", source]).status == 0)
        try t.run(["backup", "-v", "--stdin-from-command", "--", "/bin/sh", "-c", "exit 7"])
        for arguments in [["snapshots"], ["backup", source], ["restore", "latest", "--target", s.dir.path + "/never"],
                          ["check"], ["key", "list"], ["cat", "masterkey"], ["prune"]] {
            for extra in [[], ["--json", "-v"]] {
                let wrong = try t.run(arguments + extra, password: Self.newPassword)
                #expect(wrong.status == 12, "\(arguments + extra) with a wrong password: \(wrong.status) \(wrong.stderr)")
            }
        }
        try t.run(["snapshots", "--json"], password: Self.password + "x")
        for arguments in [["snapshots"], ["backup", source], ["check", "-v"], ["key", "passwd", "--new-password-file", "/nonexistent"]] {
            let missing = try t.run(arguments, repo: s.dir.appendingPathComponent("nothing-here").path)
            #expect(missing.status == 10 || missing.status == 1, "\(arguments): \(missing.status) \(missing.stderr)")
        }
        for arguments in [["snapshots", "--no-such-flag"], ["backup", "--compression", "sometimes", source],
                          ["forget", "--keep-last", "many"], ["ls", "deadbeef"], ["cat", "blob", "00"], ["restore", "latest"]] {
            #expect(try t.run(arguments).status == 1, "\(arguments)")
        }
        let port = try DRServers.freePort()
        let fast = ["-o", "retry.max-attempts=1", "--no-cache"]
        let s3 = "s3:http://127.0.0.1:\(port)/bucket/prefix"
        let s3Env = ["AWS_ACCESS_KEY_ID": "AKIAFAKEWOMBAT", "AWS_SECRET_ACCESS_KEY": Self.s3Secret]
        let rest = "rest:http://alice:\(Self.restPassword)@127.0.0.1:\(port)/repo"
        let restEnv = ["RESTIC_REST_USERNAME": "bob", "RESTIC_REST_PASSWORD": Self.restEnvPassword]
        for (location, environment) in [(s3, s3Env), (rest, [:]), ("rest:http://127.0.0.1:\(port)/", restEnv)] {
            for arguments in [["snapshots"], ["init"], ["backup", "-v", source], ["check", "--json"]] {
                let remote = try t.run(fast + arguments, repo: location, environment: environment)
                #expect(remote.status != 0, "\(location) \(arguments) should fail: \(remote.out)")
            }
        }
        // A malformed REST URL is reported without its user info.
        try t.run(["snapshots"], repo: "rest:http://alice:\(Self.restPassword)@127.0.0.1:\(port)/repo?x")
        try t.run(["snapshots"], repo: "rest:http://alice:\(Self.restPassword)@/repo")
        s.expectClean(try s.keyMaterial(), atLeast: 40)
    }

    @Test("key add, remove and passwd, with the new password from a file and from standard input")
    func keyCommands() async throws {
        let s = try await Setup()
        defer { s.remove() }
        let t = s.transcript
        let key = try #require(WriteRepo.files(s.repo, "keys").first)
        let keyMaterial = try s.keyMaterial()
        let passwordFile = s.dir.appendingPathComponent("new-password").path
        try (Self.newPassword + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        #expect(try t.run(["key", "add", "--json", "-v", "--new-password-file", passwordFile]).status == 0)
        #expect(try t.run(["key", "add"], input: Data("\(Self.newPassword)\n\(Self.newPassword)\n".utf8)).status == 0)
        #expect(try t.run(["key", "add"], input: Data("\(Self.newPassword)\nsomething else\n".utf8)).status == 1)
        #expect(try t.run(["key", "remove", "-v", WriteRepo.files(s.repo, "keys").first { $0 != key } ?? "none"]).status == 0)
        #expect(try t.run(["key", "passwd", "-v", "--new-password-file", passwordFile]).status == 0)
        #expect(try t.run(["key", "list", "--json"], password: Self.newPassword).status == 0)
        #expect(try t.run(["snapshots"], password: Self.password).status == 12)
        s.expectClean(keyMaterial, atLeast: 8)
    }

    /// The master key's parts as `cat masterkey` prints them (base64) and as hex.
    static func keyMaterial(_ json: Data) throws -> [(String, String)] {
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let mac = try #require(object["mac"] as? [String: Any])
        var parts: [(String, String)] = []
        for (name, value) in [("encrypt", object["encrypt"]), ("mac.k", mac["k"]), ("mac.r", mac["r"])] {
            let base64 = try #require(value as? String)
            let bytes = try #require(Data(base64Encoded: base64))
            #expect(bytes.count >= 16)
            parts.append((name, base64))
            parts.append((name + " (hex)", bytes.map { String(format: "%02x", $0) }.joined()))
        }
        return parts
    }
}
