import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `init` and `key list|add|remove|passwd`, judged by restic 0.14 opening what we wrote.
@Suite("init and key commands")
struct InitAndKeyTests {
    /// restic's `cat config` of a repository.
    static func config(_ repo: String, password: String = WriteRepo.password) throws -> (version: Int, polynomial: UInt64, id: String) {
        let result = try Harness.restic(["cat", "config"], repo: repo, password: password)
        guard result.status == 0,
              let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any],
              let version = (object["version"] as? NSNumber)?.intValue,
              let hex = object["chunker_polynomial"] as? String, let polynomial = UInt64(hex, radix: 16),
              let id = object["id"] as? String else {
            throw HarnessError("restic cat config failed (\(result.status)): \(result.stderr)")
        }
        return (version, polynomial, id)
    }

    @Test("init makes v1, v2 and default (v2) repositories that restic opens, each with its own irreducible degree-53 polynomial")
    func initVersions() throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        var polynomials: Set<UInt64> = []
        for (arguments, expected) in [([String](), 2), (["--repository-version", "1"], 1),
                                      (["--repository-version", "2"], 2), (["--repository-version", "latest"], 2)] {
            let repo = dir.appendingPathComponent("repo-\(polynomials.count)").path
            let result = try Harness.ours(["init"] + arguments, repo: repo)
            try #require(result.status == 0, "init \(arguments) failed: \(result.stderr)")
            #expect(result.out.contains("created restic repository"))
            let config = try Self.config(repo)
            #expect(config.version == expected, "init \(arguments)")
            #expect(GF2.degree(config.polynomial) == 53)
            #expect(GF2.isIrreducible(config.polynomial), "polynomial \(String(config.polynomial, radix: 16))")
            polynomials.insert(config.polynomial)
        }
        #expect(polynomials.count == 4, "every init draws its own polynomial")
    }

    @Test("the test's own irreducibility check accepts restic's fixture polynomials and rejects reducible ones")
    func irreducibilityOracle() {
        #expect(GF2.isIrreducible(0x365e3848c8a78f))
        #expect(GF2.isIrreducible(0x33e858cf44c86b))
        #expect(!GF2.isIrreducible(0x365e3848c8a78e))  // divisible by x
        #expect(!GF2.isIrreducible(GF2.mulMod(0x3DA3358B4DC173, 0x3, UInt64.max >> 1)))  // (p)·(x+1)
    }

    @Test("init refuses an unknown repository version and an existing repository")
    func initRefusals() throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = dir.appendingPathComponent("repo").path
        let bad = try Harness.ours(["init", "--repository-version", "3"], repo: repo)
        #expect(bad.status == 1)
        #expect(!FileManager.default.fileExists(atPath: repo + "/config"))
        try #require(try Harness.ours(["init"], repo: repo).status == 0)
        let again = try Harness.ours(["init"], repo: repo)
        #expect(again.status == 1, "init over an existing repository must fail")
        #expect(try Self.config(repo).version == 2)
    }

    @Test("a new key file is calibrated like restic's (scrypt N ≥ 2^14 power of two, r = 8) and opens with restic")
    func keyCalibration() throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = dir.appendingPathComponent("repo").path
        try #require(try Harness.ours(["init", "--repository-version", "1"], repo: repo).status == 0)
        let keys = WriteRepo.files(repo, "keys")
        try #require(keys.count == 1)
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(repo)/keys/\(keys[0])"))
        let key = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let n = (key["N"] as? NSNumber)?.intValue ?? 0
        #expect(n >= 1 << 14 && n & (n - 1) == 0, "N = \(n)")
        #expect((key["r"] as? NSNumber)?.intValue == 8)
        #expect(((key["p"] as? NSNumber)?.intValue ?? 0) >= 1)
        #expect(key["kdf"] as? String == "scrypt")
        #expect((key["salt"] as? String).flatMap { Data(base64Encoded: $0) }?.count == 64)
        #expect(ReadPath.sha256(data) == keys[0], "key file name = SHA-256 of its bytes")
        #expect(try Self.config(repo).version == 1)
    }

    @Test("repository files are written 0600 and folders 0700 by init, backup and key add")
    func fileModes() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = dir.appendingPathComponent("repo").path
        try #require(try Harness.ours(["init"], repo: repo).status == 0)
        let source = dir.appendingPathComponent("small")
        try TreeGenerator.makeDirectory(source.path)
        try TreeGenerator.write(source.appendingPathComponent("a.txt").path, Array("hello".utf8))
        let (backup, _) = try WriteRepo.backup(repo, [source.path])
        try #require(backup.status == 0, "\(backup.stderr)")
        let passwordFile = dir.appendingPathComponent("pw2").path
        try "second-password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try #require(try Harness.ours(["key", "add", "--new-password-file", passwordFile], repo: repo).status == 0)

        var files = 0, folders = 0
        let enumerator = try #require(FileManager.default.enumerator(atPath: repo))
        var all = [""]
        while let next = enumerator.nextObject() as? String { all.append(next) }
        for relative in all {
            var st = stat()
            try #require(lstat(repo + (relative.isEmpty ? "" : "/" + relative), &st) == 0)
            let mode = st.st_mode & 0o7777
            if st.st_mode & S_IFMT == S_IFDIR {
                folders += 1
                #expect(mode == 0o700, "folder \(relative.isEmpty ? "." : relative) has mode \(String(mode, radix: 8))")
            } else {
                files += 1
                #expect(st.st_mode & S_IFMT == S_IFREG, "\(relative) is not a regular file")
                #expect(mode == 0o600, "file \(relative) has mode \(String(mode, radix: 8))")
            }
        }
        // config, 2 keys, 1 index, 1 snapshot, 2 packs (data + tree); 1 + 5 + 256 folders
        #expect(files == 7, "files: \(all)")
        #expect(folders == 262)
        #expect(WriteRepo.files(repo, "locks").isEmpty)
    }

    @Test("key add: both passwords open the repository with our engine and with restic; key list shows both")
    func keyAddAndList() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let passwordFile = dir.appendingPathComponent("new-password").path
        try "second-password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let add = try Harness.ours(["key", "add", "--new-password-file", passwordFile, "--user", "alice", "--host", "box"], repo: repo)
        try #require(add.status == 0, "\(add.stderr)")
        #expect(WriteRepo.files(repo, "keys").count == 2)
        #expect(WriteRepo.files(repo, "locks").isEmpty, "key add must remove its lock")

        for password in [WriteRepo.password, "second-password"] {
            let ours = try Harness.ours(["snapshots"], repo: repo, password: password)
            #expect(ours.status == 0, "ours with \(password): \(ours.stderr)")
            let restic = try Harness.restic(["snapshots"], repo: repo, password: password)
            #expect(restic.status == 0, "restic with \(password): \(restic.stderr)")
        }
        let wrong = try Harness.ours(["snapshots"], repo: repo, password: "not-a-key")
        #expect(wrong.status == 12)

        let list = try Harness.ours(["key", "list", "--json"], repo: repo)
        try #require(list.status == 0, "\(list.stderr)")
        let keys = try #require(try JSONSerialization.jsonObject(with: list.stdout) as? [[String: Any]])
        #expect(keys.count == 2)
        #expect(Set(keys.compactMap { $0["id"] as? String }) == Set(WriteRepo.files(repo, "keys")))
        #expect(keys.filter { $0["current"] as? Bool == true }.count == 1)
        #expect(keys.contains { $0["userName"] as? String == "alice" && $0["hostName"] as? String == "box" })
        // restic lists the same keys, marking the one its password opened.
        let resticList = try Harness.restic(["key", "list"], repo: repo, password: "second-password")
        try #require(resticList.status == 0)
        let rows = resticList.out.split(separator: "\n").filter {
            ($0.hasPrefix("*") || $0.hasPrefix(" ")) && $0.dropFirst().prefix(8).allSatisfy(\.isHexDigit) && $0.count > 9
        }
        #expect(rows.count == 2, "\(resticList.out)")
        #expect(rows.contains { $0.hasPrefix("*") && $0.contains("alice") && $0.contains("box") })
    }

    @Test("key remove deletes another key (its password then fails with exit 12) and refuses the current one")
    func keyRemove() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(version: 1, in: dir)
        let original = try #require(WriteRepo.files(repo, "keys").first)
        let passwordFile = dir.appendingPathComponent("new-password").path
        try "second-password".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try #require(try Harness.ours(["key", "add", "--new-password-file", passwordFile], repo: repo).status == 0)
        let added = try #require(WriteRepo.files(repo, "keys").first { $0 != original })

        let refuse = try Harness.ours(["key", "remove", original], repo: repo)
        #expect(refuse.status == 1, "removing the key in use must fail")
        #expect(WriteRepo.files(repo, "keys").count == 2)

        let remove = try Harness.ours(["key", "remove", String(added.prefix(8))], repo: repo)
        try #require(remove.status == 0, "\(remove.stderr)")
        #expect(WriteRepo.files(repo, "keys") == [original])
        #expect(WriteRepo.files(repo, "locks").isEmpty)
        #expect(try Harness.ours(["snapshots"], repo: repo, password: "second-password").status == 12)
        #expect(try Harness.restic(["snapshots"], repo: repo, password: "second-password").status != 0)
        #expect(try Harness.restic(["snapshots"], repo: repo).status == 0)
    }

    @Test("key passwd replaces the current key: the old password fails with exit 12, the new one opens for both tools")
    func keyPasswd() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(version: 2, in: dir)
        let source = dir.appendingPathComponent("small")
        try TreeGenerator.makeDirectory(source.path)
        try TreeGenerator.write(source.appendingPathComponent("a.txt").path, Array("kept across passwd".utf8))
        try #require(try WriteRepo.backup(repo, [source.path]).0.status == 0)
        let before = WriteRepo.files(repo, "keys")
        let passwordFile = dir.appendingPathComponent("new-password").path
        try "changed-password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)

        let passwd = try Harness.ours(["key", "passwd", "--new-password-file", passwordFile], repo: repo)
        try #require(passwd.status == 0, "\(passwd.stderr)")
        let after = WriteRepo.files(repo, "keys")
        #expect(after.count == 1)
        #expect(Set(after).isDisjoint(with: before), "passwd writes a new key file and removes the old one")
        #expect(WriteRepo.files(repo, "locks").isEmpty)

        let old = try Harness.ours(["snapshots"], repo: repo, password: WriteRepo.password)
        #expect(old.status == 12, "old password: \(old.status) \(old.stderr)")
        let ours = try Harness.ours(["snapshots", "--json"], repo: repo, password: "changed-password")
        #expect(ours.status == 0)
        let restic = try Harness.restic(["check", "--read-data"], repo: repo, password: "changed-password")
        #expect(restic.status == 0, "\(restic.out) \(restic.stderr)")
        let dump = try Harness.restic(["dump", "latest", source.path + "/a.txt"], repo: repo, password: "changed-password")
        #expect(dump.out == "kept across passwd")
    }

    @Test("init --copy-chunker-params --from-repo takes the other repository's polynomial, with a new id and master key")
    func copyChunkerParameters() async throws {
        let dir = try TempDir.make()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try await WriteRepo.restics(version: 2, in: dir)
        let target = dir.appendingPathComponent("copy").path
        let result = try Harness.ours(["init", "--copy-chunker-params", "--from-repo", source], repo: target,
                                      environment: ["RESTIC_FROM_PASSWORD": WriteRepo.password])
        try #require(result.status == 0, "\(result.stderr)")
        let a = try Self.config(source), b = try Self.config(target)
        #expect(a.polynomial == b.polynomial)
        #expect(a.id != b.id)
        #expect(b.version == 2)

        // The source password from a file, and a v1 target.
        let passwordFile = dir.appendingPathComponent("from-password").path
        try (WriteRepo.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let target2 = dir.appendingPathComponent("copy2").path
        let second = try Harness.ours(["init", "--repository-version", "1", "--copy-chunker-params", "--from-repo", source,
                                       "--from-password-file", passwordFile], repo: target2)
        try #require(second.status == 0, "\(second.stderr)")
        #expect(try Self.config(target2).polynomial == a.polynomial)
        #expect(try Self.config(target2).version == 1)

        let missing = try Harness.ours(["init", "--copy-chunker-params"], repo: dir.appendingPathComponent("x").path)
        #expect(missing.status == 1, "--copy-chunker-params without a source repository must fail")
    }
}

/// Polynomials over GF(2) in the low bits of a UInt64, for checking a chunker polynomial
/// independently of the engine: irreducible iff gcd(p, x^(2^i) − x) = 1 for i ≤ deg/2 (Ben-Or).
enum GF2 {
    static func degree(_ x: UInt64) -> Int { x == 0 ? -1 : 63 - x.leadingZeroBitCount }

    static func mod(_ a: UInt64, _ p: UInt64) -> UInt64 {
        var a = a
        let dp = degree(p)
        while degree(a) >= dp { a ^= p << UInt64(degree(a) - dp) }
        return a
    }

    static func mulMod(_ a: UInt64, _ b: UInt64, _ p: UInt64) -> UInt64 {
        var result: UInt64 = 0
        var a = mod(a, p), b = b
        let dp = degree(p)
        while b != 0 {
            if b & 1 != 0 { result ^= a }
            b >>= 1
            a <<= 1
            if degree(a) == dp { a ^= p }
        }
        return result
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var a = a, b = b
        while b != 0 { (a, b) = (b, mod(a, b)) }
        return a
    }

    static func isIrreducible(_ p: UInt64) -> Bool {
        let n = degree(p)
        guard n > 0 else { return false }
        var power: UInt64 = 2  // x
        for _ in 0..<(n / 2) {
            power = mulMod(power, power, p)
            if gcd(p, power ^ 2) != 1 { return false }
        }
        return true
    }
}
