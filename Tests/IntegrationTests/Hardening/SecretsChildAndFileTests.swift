import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ResticBackends
import ResticCore
import ResticRepository

/// Stand-ins for the database tools `dr` starts.
enum FakeDBTools {
    /// A stand-in for psql, pg_dump, pg_restore, pg_isready and redis-cli (by the name it is
    /// called as). It logs the kernel's view of its argv (/proc/self/cmdline) and the names of
    /// its environment variables, then plays just enough of the real tool for a `dr` run to get
    /// through every child it starts.
    static let fakeTool = #"""
        #!/bin/sh
        name=$(basename "$0")
        argv=$(tr '\0' ' ' < /proc/$$/cmdline)
        names=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | sort | tr '\n' ' ')
        # One write per record: pg_dump and pg_restore run at the same time.
        printf 'argv %s:%s\nenv %s:%s\n' "$name" "$argv" "$name" "$names" >> "${FAKE_TOOL_LOG:?}"
        # FAKE_TOOL_BLOCK=NAME: that tool (not its --version or --list run) hangs, with its PID in
        # FAKE_TOOL_BLOCK_PIDFILE, so a test can interrupt dr while it waits on a child.
        if [ "$name" = "${FAKE_TOOL_BLOCK:-none}" ]; then
          case "$*" in *--version*|*--list*) ;; *)
            [ "$name" = pg_dump ] && printf 'PGDMP partial\n'
            echo $$ > "${FAKE_TOOL_BLOCK_PIDFILE:?}"; exec sleep 120 ;;
          esac
        fi
        case "$name" in
          psql)
            while IFS= read -r line || [ -n "$line" ]; do
              case "$line" in
                *pg_export_snapshot*) echo '{"snapshot":"00000003-00000002-1","version":"16.0"}' ;;
                *query_to_xml*) echo '[]' ;;
                *pg_database*) echo 1 ;;
                *server_version*) echo 16.0 ;;
              esac
            done ;;
          pg_dump)
            case "$*" in *--version*) echo "pg_dump (PostgreSQL) 16.0"; exit 0 ;; esac
            printf 'PGDMP fake custom archive\n' ;;
          pg_restore)
            cat > /dev/null
            case "$*" in *--list*) printf ';\n;     Format: CUSTOM\n; TOC Entries: 3\n' ;; esac ;;
          pg_isready) echo "accepting connections" ;;
          redis-cli) echo "Could not connect to Redis: Connection refused" >&2; exit 1 ;;
          *) exit 1 ;;
        esac
        exit 0
        """#

    /// Installs the tools in `dir/bin`; returns that folder, for the front of PATH.
    static func install(in dir: URL) throws -> String {
        let tools = dir.appendingPathComponent("bin").path
        try FileManager.default.createDirectory(atPath: tools, withIntermediateDirectories: true)
        let tool = tools + "/fake-tool"
        try fakeTool.write(toFile: tool, atomically: true, encoding: .utf8)
        chmod(tool, 0o755)
        for name in ["psql", "pg_dump", "pg_restore", "pg_isready", "redis-cli", "redis-server"] {
            try FileManager.default.createSymbolicLink(atPath: tools + "/" + name, withDestinationPath: tool)
        }
        return tools
    }

    static func path(_ tools: String) -> String {
        tools + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    }
}

/// Secrets outside the output: what child processes are started with (their argv is readable
/// by every user through /proc), the modes of repository files, and keys that were replaced.
@Suite("secrets in child processes and repository files")
struct SecretsChildAndFileTests {
    static let repoPassword = "RepoPw-Narwhal-4hq8-SECRET"
    static let pgPassword = "PgPw-Ocelot-8ue1-SECRET"
    static let redisPassword = "RedisPw-Tapir-6ys3-SECRET"
    static let pushPassword = "PushPw-Lemur-1pk5-SECRET"

    @Test("backup --stdin-from-command starts the command with exactly the given argv")
    func stdinFromCommandArguments() async throws {
        let dir = try TempDir.make("cartae-secrets-child")
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = dir.appendingPathComponent("repo").path
        _ = try await Repository.initialize(LocalBackend(path: repo), password: Self.repoPassword, version: 2,
                                            scrypt: WriteRepo.cheapScrypt)
        let log = dir.appendingPathComponent("argv.log").path
        let script = dir.appendingPathComponent("producer").path
        try """
            #!/bin/sh
            tr '\\0' '\\n' < /proc/$$/cmdline > "\(log)"
            echo "produced data"
            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)

        let result = try Harness.ours(["backup", "--stdin-from-command", "--stdin-filename", "out.txt", "--", script, "one", "two words"],
                                      repo: repo, password: Self.repoPassword)
        try #require(result.status == 0, "\(result.stderr)")
        let argv = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        // The kernel shows the interpreter first, then the script and exactly the user's arguments.
        #expect(Array(argv.suffix(3)) == [script, "one", "two words"], "\(argv)")
        #expect(!argv.joined().contains(Self.repoPassword))
        let dump = try Harness.ours(["dump", "latest", "/out.txt"], repo: repo, password: Self.repoPassword)
        #expect(dump.out == "produced data\n")
    }

    @Test("dr backup, restore and test pass no secret in any child's argv, and strip ours from their environment")
    func drChildren() throws {
        let dir = try TempDir.make("cartae-secrets-dr")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tools = try FakeDBTools.install(in: dir)
        let volume = dir.appendingPathComponent("volume").path
        try TreeGenerator.makeDirectory(volume)
        try TreeGenerator.write(volume + "/data.txt", Array("volume data".utf8))
        let log = dir.appendingPathComponent("children.log").path
        let closed = try DRServers.freePort()
        // A gateway that refuses every push at once (an unreachable one costs seconds per push).
        let gateway = try FaultProxy(upstreamPort: closed, options: .init(fixedStatus: 401))
        defer { gateway.stop() }
        let environment = [
            "PATH": FakeDBTools.path(tools),
            "FAKE_TOOL_LOG": log, "RESTIC_HOST": "secrets-host",
            "POSTGRES_DB": "shop", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PASSWORD": Self.pgPassword,
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": String(closed), "REDIS_PASSWORD": Self.redisPassword,
            "BACKUP_VOLUMES": volume, "LOG_DIR": dir.appendingPathComponent("logs").path,
            "PUSHGATEWAY_URL": "http://metrics:\(Self.pushPassword)@127.0.0.1:\(gateway.port)",
        ]
        let repo = dir.appendingPathComponent("repo").path
        var outputs: [(String, String)] = []
        func dr(_ arguments: [String], repo: String = repo) throws -> Harness.Result {
            let result = try Harness.ours(["dr"] + arguments + ["--env-file", "/dev/null"], repo: repo,
                                          password: Self.repoPassword, environment: environment)
            outputs.append((arguments.joined(separator: " "), result.out + "\n" + result.stderr))
            ReadPath.expectNoCrash(result)
            return result
        }

        let backup = try dr(["backup", "all"])
        #expect(backup.status == 3, "postgres and volumes succeed, redis fails: \(backup.out) \(backup.stderr)")
        #expect(try dr(["restore", "postgres", "latest", "--target-db", "copy"]).status == 0)
        let test = try dr(["test"])
        #expect(test.status == 1, "redis is unreachable and the gateway refuses: \(test.out)")
        #expect(test.out.contains("http://***@127.0.0.1:\(gateway.port)"), "the gateway is still named: \(test.out)")
        // A remote location dr does not support is named without its password.
        _ = try dr(["test"], repo: "rest:http://alice:\(Self.repoPassword)@127.0.0.1:\(closed)/")
        _ = try dr(["backup", "volumes"], repo: "rest:http://alice:\(Self.repoPassword)@127.0.0.1:\(closed)/")

        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        let argv = lines.filter { $0.hasPrefix("argv ") }
        let started = Set(argv.compactMap { $0.dropFirst(5).split(separator: ":").first.map(String.init) })
        #expect(started.isSuperset(of: ["psql", "pg_dump", "pg_restore", "redis-cli"]), "children seen: \(started)")
        #expect(argv.contains { $0.hasPrefix("argv pg_dump:") && $0.contains("--snapshot=") }, "pg_dump never dumped: \(argv)")
        let secrets = [Self.repoPassword, Self.pgPassword, Self.redisPassword, Self.pushPassword]
        for line in argv {
            for secret in secrets { #expect(!line.contains(secret), "a secret in a child's argv: \(line)") }
        }
        for line in lines where line.hasPrefix("env ") {
            let names = Set(line.split(separator: ":", maxSplits: 1).last?.split(separator: " ").map(String.init) ?? [])
            for name in ["RESTIC_PASSWORD", "POSTGRES_PASSWORD", "REDIS_PASSWORD"] {
                #expect(!names.contains(name), "\(name) reached a child: \(line.prefix(40))")
            }
            if line.hasPrefix("env psql:") {
                #expect(names.contains("PGPASSWORD"), "libpq tools get the password from PGPASSWORD")
            }
            if line.hasPrefix("env redis-cli:") { #expect(names.contains("REDISCLI_AUTH")) }
        }
        let logs = dir.appendingPathComponent("logs").path
        for file in Hardening.allFiles(logs) {
            outputs.append(("log " + file, (try? String(contentsOfFile: logs + "/" + file, encoding: .utf8)) ?? ""))
        }
        for (label, text) in outputs {
            for secret in secrets { #expect(!text.contains(secret), "a secret in the output of dr \(label):\n\(text)") }
        }
    }

    @Test("after backups, forget, prune and repair every repository file is 0600 and every folder 0700, even under umask 000")
    func repositoryModes() async throws {
        let dir = try TempDir.make("cartae-secrets-modes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(in: dir)
        let source = dir.appendingPathComponent("src").path
        try TreeGenerator.makeDirectory(source)
        // Commands run under umask 000, so nothing but our explicit modes restricts the files.
        func loose(_ arguments: [String]) throws -> Harness.Result {
            try Harness.run("/bin/sh", ["-c", "umask 000; exec \"$0\" \"$@\"", Harness.binary] + arguments,
                            environment: ["RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD": WriteRepo.password],
                            input: Data("streamed".utf8))
        }
        for round in 0..<3 {
            try TreeGenerator.write(source + "/file\(round).bin", TreeGenerator.randomBytes(600_000, seed: UInt64(round)))
            if round > 0 { try FileManager.default.removeItem(atPath: source + "/file\(round - 1).bin") }
            #expect(try loose(["backup", "-q", source]).status == 0)
        }
        for arguments in [["forget", "--keep-last", "1", "--prune", "--max-unused", "0"], ["repair", "index"],
                          ["backup", "--stdin", "--stdin-filename", "x"]] {
            let result = try loose(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        let empty = try loose(["init"]).status  // refused: a repository exists; must not touch modes either
        #expect(empty == 1)

        var st = stat()
        var folders = 0
        var files = 0
        let enumerator = try #require(FileManager.default.enumerator(atPath: repo))
        var all = [""]
        while let next = enumerator.nextObject() as? String { all.append(next) }
        for relative in all {
            try #require(lstat(relative.isEmpty ? repo : repo + "/" + relative, &st) == 0)
            let mode = st.st_mode & 0o7777
            if st.st_mode & S_IFMT == S_IFDIR {
                folders += 1
                #expect(mode == 0o700, "folder \(relative.isEmpty ? "." : relative): \(String(mode, radix: 8))")
            } else {
                files += 1
                #expect(st.st_mode & S_IFMT == S_IFREG && mode == 0o600, "file \(relative): \(String(mode, radix: 8))")
            }
        }
        #expect(folders == 262)
        #expect(files >= 6, "config, key, index, snapshots and packs: \(all)")
        #expect(WriteRepo.files(repo, "snapshots").count == 2, "forget kept one path snapshot, plus the stdin one")
        #expect(try WriteRepo.restic(repo, ["check", "--read-data"]).status == 0)
    }

    @Test("after key passwd nothing in the repository opens with the old password, for us or restic")
    func oldPasswordIsGone() async throws {
        let dir = try TempDir.make("cartae-secrets-passwd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let repo = try await WriteRepo.ours(in: dir)
        let oldKey = try #require(WriteRepo.files(repo, "keys").first)
        let oldKeyBytes = try Data(contentsOf: URL(fileURLWithPath: repo + "/keys/" + oldKey))
        let file = dir.appendingPathComponent("pw").path
        try "the-new-one\n".write(toFile: file, atomically: true, encoding: .utf8)
        let passwd = try Harness.ours(["key", "passwd", "--new-password-file", file], repo: repo)
        try #require(passwd.status == 0, "\(passwd.stderr)")

        // No file anywhere in the repository still holds the old key file (no backup copy, no temp).
        for relative in Hardening.allFiles(repo) {
            let data = try Data(contentsOf: URL(fileURLWithPath: repo + "/" + relative))
            #expect(data != oldKeyBytes && !relative.contains(oldKey), "the old key survives as \(relative)")
        }
        #expect(Hardening.temporaryFiles(repo).isEmpty)
        // Each key file, tried alone, refuses the old password.
        for key in WriteRepo.files(repo, "keys") {
            do {
                _ = try await Repository.open(LocalBackend(path: repo), password: WriteRepo.password, keyHint: key)
                Issue.record("key \(key) opens with the old password")
            } catch let error as ResticError {
                #expect(error.kind == .wrongPassword, "\(error)")
            }
        }
        let restic = try Harness.restic(["snapshots"], repo: repo, password: WriteRepo.password)
        #expect(restic.status != 0 && restic.stderr.contains("wrong password"), "restic: \(restic.status) \(restic.stderr)")
        let list = try Harness.restic(["key", "list"], repo: repo, password: "the-new-one")
        #expect(list.status == 0 && !list.out.contains(String(oldKey.prefix(8))), "\(list.out)")
    }
}
