import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticBackends
import ResticRepository

/// A source tree made for one write-path test: every node type restic stores on Linux, odd
/// modes and owners, unicode names, hardlinks, a few MiB of random and of compressible data,
/// and fixed nanosecond mtimes, so a restore can be compared entry by entry.
struct GeneratedTree {
    /// Absolute path of the tree's top folder.
    let root: String
    /// Relative paths of regular files (every hardlink name counts, as in backup's file count).
    let files: [String]
    /// Sum of the sizes of `files`.
    let bytes: Int

    func path(_ relative: String) -> String { root + "/" + relative }
}

enum TreeGenerator {
    static let randomSize = 1024 * 1024 + 12345
    static let textSize = 512 * 1024 + 777

    /// Builds the tree in `dir/name`; `seed` decides the random bytes (two trees with the same
    /// seed hold the same data).
    static func make(in dir: URL, name: String = "src", seed: UInt64 = 1) throws -> GeneratedTree {
        let root = dir.appendingPathComponent(name).path
        var files: [String] = []
        var bytes = 0
        func file(_ relative: String, _ content: [UInt8], mode: mode_t = 0o644) throws {
            try write(root + "/" + relative, content, mode: mode)
            files.append(relative)
            bytes += content.count
        }
        func text(_ label: String) -> [UInt8] { Array(String(repeating: "cartae write-path file: \(label)\n", count: 3).utf8) }

        for folder in ["", "empty-dir", "data", "logs", "level1", "level1/level2", "level1/level2/level3",
                       "links", "hardlinks", "perms", "perms/dir-0751", "perms/sticky-1777",
                       "perms/setgid-2750", "unicode", "unicode/日本語 ファイル", "special"] {
            try makeDirectory(folder.isEmpty ? root : root + "/" + folder)
        }
        try file("README.txt", text("README"))
        try file("empty.txt", [])
        try file("data/random.bin", randomBytes(randomSize, seed: seed))
        try file("logs/app.log", logText(textSize, seed: seed))
        try file("level1/notes.txt", text("notes"))
        try file("level1/level2/level3/deep.txt", text("deep"))
        try symlink("../README.txt", root + "/links/rel-link")
        try symlink(root + "/level1/notes.txt", root + "/links/abs-link")
        try symlink("does-not-exist/nowhere.txt", root + "/links/dangling")
        try file("hardlinks/original.txt", text("hardlink"))
        for copy in ["level1/hl-copy.txt", "level1/level2/hl-deep.txt"] {
            try posix(link(root + "/hardlinks/original.txt", root + "/" + copy), "link", copy)
            files.append(copy)
            bytes += text("hardlink").count
        }
        try file("perms/private-0600.txt", text("private"), mode: 0o600)
        try file("perms/readonly-0444.txt", text("readonly"), mode: 0o444)
        try file("perms/script-0700.sh", Array("#!/bin/sh\necho hi\n".utf8), mode: 0o700)
        try file("perms/setuid-4755", text("setuid"), mode: 0o4755)
        try file("perms/owned-1234-5678.txt", text("owned"))
        try posix(chown(root + "/perms/owned-1234-5678.txt", 1234, 5678), "chown", "owned")
        try posix(lchown(root + "/links/abs-link", 1234, 5678), "lchown", "abs-link")
        try file("unicode/Grüße und Küsse.txt", text("grüße"))
        try file("unicode/日本語 ファイル/テキスト.txt", text("日本語"))
        try file("unicode/name with  spaces", text("spaces"))
        try file("unicode/we\"ird\\name.txt", text("weird"))
        try posix(mkfifo(root + "/special/pipe.fifo", 0o640), "mkfifo", "pipe.fifo")
        try posix(chmod(root + "/special/pipe.fifo", 0o640), "chmod", "pipe.fifo")
        try posix(chmod(root + "/perms/dir-0751", 0o751), "chmod", "dir-0751")
        try posix(chmod(root + "/perms/sticky-1777", 0o1777), "chmod", "sticky")
        try posix(chmod(root + "/perms/setgid-2750", 0o2750), "chmod", "setgid")
        try fixTimes(root)
        return GeneratedTree(root: root, files: files, bytes: bytes)
    }

    /// Gives every entry below `root` (and `root` itself) its own fixed mtime and atime with
    /// nanoseconds; children before their folder, so folder times stay as set.
    static func fixTimes(_ root: String) throws {
        let entries = try FileManager.default.subpathsOfDirectory(atPath: root).sorted()
        for (i, relative) in entries.enumerated().reversed() {
            try setTime(root + "/" + relative, seconds: 946_684_800 + i * 7_654_321, nanoseconds: (i * 123_456_789) % 1_000_000_000)
        }
        try setTime(root, seconds: 1_262_304_000, nanoseconds: 999_999_999)
    }

    static func setTime(_ path: String, seconds: Int, nanoseconds: Int) throws {
        var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
        try posix(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW), "utimensat", path)
    }

    static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try posix(chmod(path, 0o755), "chmod", path)
    }

    static func write(_ path: String, _ content: [UInt8], mode: mode_t = 0o644) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(content)) else {
            throw HarnessError("cannot create \(path)")
        }
        try posix(chmod(path, mode), "chmod", path)
    }

    static func posix(_ status: Int32, _ what: String, _ path: String) throws {
        guard status == 0 else { throw HarnessError("\(what) \(path): \(String(cString: strerror(errno)))") }
    }

    /// Deterministic incompressible bytes (SplitMix64), so a test can make the same file twice.
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678
        var out = [UInt8](repeating: 0, count: (count + 7) / 8 * 8)
        out.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                words[i] = z ^ (z >> 31)
            }
        }
        return Array(out.prefix(count))
    }

    /// Log-like text that zstd shrinks several times.
    static func logText(_ count: Int, seed: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 200)
        var n = 0
        while out.count < count {
            out += Array("2024-05-03T07:\(n / 60 % 60):\(n % 60)Z INFO seed=\(seed) request id=\(n) path=/api/v1/items/\(n % 97) status=200 bytes=\(n * 31 % 4096)\n".utf8)
            n += 1
        }
        return Array(out.prefix(count))
    }
}

/// Repositories for write-path tests. Key files use cheap scrypt parameters (restic honours
/// whatever a key file states), because a calibrated key costs about half a second per command
/// and these tests run a few hundred commands.
enum WriteRepo {
    static let password = "test-password"
    static let cheapScrypt = KeyRing.ScryptParameters(n: 1 << 10, r: 8, p: 1)

    /// A repository initialised by our engine.
    static func ours(version: Int = 2, in dir: URL, name: String = "repo") async throws -> String {
        let path = dir.appendingPathComponent(name).path
        _ = try await Repository.initialize(LocalBackend(path: path), password: password, version: version,
                                            scrypt: cheapScrypt)
        return path
    }

    /// A repository initialised by restic (its config, polynomial and master key), copied from a
    /// template; its calibrated key is swapped for a cheap one.
    static func restics(version: Int = 2, in dir: URL, name: String = "restic-repo") async throws -> String {
        let template = try await Templates.shared.resticRepository(version: version)
        let path = dir.appendingPathComponent(name).path
        let copy = try Harness.run("cp", ["-a", template, path])
        guard copy.status == 0 else { throw HarnessError("cp failed: \(copy.stderr)") }
        return path
    }

    /// restic-made template repositories, kept in /tmp across runs (a `restic init` with its
    /// calibrated key costs seconds) and made at most once per process and version.
    actor Templates {
        static let shared = Templates()
        private var made: [Int: Task<String, Error>] = [:]

        func resticRepository(version: Int) async throws -> String {
            if let task = made[version] { return try await task.value }
            let task = Task<String, Error> {
                let final = "/tmp/cartae-writetests-restic-template-v\(version)"
                if FileManager.default.fileExists(atPath: final + "/config") { return final }
                let scratch = try TempDir.make("cartae-template")
                defer { try? FileManager.default.removeItem(at: scratch) }
                let path = scratch.appendingPathComponent("repo").path
                let result = try Harness.run("restic", ["init", "--repository-version", "\(version)"],
                                             environment: ["RESTIC_REPOSITORY": path, "RESTIC_PASSWORD": password])
                guard result.status == 0 else { throw HarnessError("restic init failed: \(result.stderr)") }
                let backend = LocalBackend(path: path)
                let repo = try await Repository.open(backend, password: password)
                _ = try await KeyRing.add(backend, master: repo.key, password: password, parameters: cheapScrypt)
                try await backend.remove(ResticCore.FileHandle(.key, repo.keyID))
                // Put in place whole; another test process may have won the race, then use its copy.
                if rename(path, final) != 0 && !FileManager.default.fileExists(atPath: final + "/config") {
                    throw HarnessError("cannot move the template to \(final): \(String(cString: strerror(errno)))")
                }
                return final
            }
            made[version] = task
            return try await task.value
        }
    }

    /// Names of the files in one folder of the repository (`data` lists every pack).
    static func files(_ repo: String, _ folder: String) -> [String] {
        let base = repo + "/" + folder
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return [] }
        if folder != "data" { return names.filter { $0.count == 64 }.sorted() }
        return names.flatMap { sub in
            ((try? FileManager.default.contentsOfDirectory(atPath: base + "/" + sub)) ?? []).filter { $0.count == 64 }
        }.sorted()
    }

    /// How many pack files there are, counted with readdir only: crash tests poll this every
    /// few milliseconds while a backup runs.
    static func packCount(_ repo: String) -> Int {
        var count = 0
        for i in 0..<256 {
            guard let dir = opendir(repo + "/data/" + String(format: "%02x", i)) else { continue }
            while let entry = readdir(dir) {
                if strnlen(withUnsafeBytes(of: entry.pointee.d_name) { $0.baseAddress!.assumingMemoryBound(to: CChar.self) }, 65) == 64 {
                    count += 1
                }
            }
            closedir(dir)
        }
        return count
    }

    /// Total bytes of the pack files.
    static func packBytes(_ repo: String) -> Int {
        files(repo, "data").reduce(0) { total, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(repo)/data/\(name.prefix(2))/\(name)")[.size] as? Int) ?? 0
            return total + (size ?? 0)
        }
    }

    /// Our backup with `--json`, returning the result and its summary line.
    static func backup(_ repo: String, _ arguments: [String], environment: [String: String] = [:],
                       input: Data? = nil) throws -> (Harness.Result, [String: Any]?) {
        let result = try Harness.ours(["backup", "--json"] + arguments, repo: repo, password: password,
                                      environment: environment, input: input)
        return (result, summary(result.stdout))
    }

    /// The `message_type: summary` object of a `backup --json` output.
    static func summary(_ stdout: Data) -> [String: Any]? {
        for line in stdout.split(separator: 10).reversed() {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
               object["message_type"] as? String == "summary" { return object }
        }
        return nil
    }

    static func int(_ object: [String: Any]?, _ key: String) -> Int? {
        (object?[key] as? NSNumber)?.intValue
    }

    @discardableResult
    static func restic(_ repo: String, _ arguments: [String], input: Data? = nil) throws -> Harness.Result {
        try Harness.restic(arguments, repo: repo, password: password, input: input)
    }

    /// restic's `snapshots --json`, oldest first.
    static func snapshots(_ repo: String) throws -> [[String: Any]] {
        let result = try restic(repo, ["snapshots", "--json"])
        guard result.status == 0 else { throw HarnessError("restic snapshots failed: \(result.stderr)") }
        return (try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]]) ?? []
    }

    /// A tree blob as restic reads it.
    static func tree(_ repo: String, _ id: String) throws -> [[String: Any]] {
        let result = try restic(repo, ["cat", "blob", id])
        guard result.status == 0 else { throw HarnessError("restic cat blob \(id) failed: \(result.stderr)") }
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        return object?["nodes"] as? [[String: Any]] ?? []
    }

    /// The subtree ID of an absolute path in a snapshot, walked with restic.
    static func subtree(_ repo: String, snapshot: String, path: String) throws -> String {
        let cat = try restic(repo, ["cat", "snapshot", snapshot])
        guard cat.status == 0, let object = try JSONSerialization.jsonObject(with: cat.stdout) as? [String: Any],
              var tree = object["tree"] as? String else {
            throw HarnessError("restic cat snapshot \(snapshot) failed: \(cat.stderr)")
        }
        for name in path.split(separator: "/") {
            guard let node = try self.tree(repo, tree).first(where: { $0["name"] as? String == String(name) }),
                  let next = node["subtree"] as? String else {
                throw HarnessError("no directory \(name) of \(path) in snapshot \(snapshot)")
            }
            tree = next
        }
        return tree
    }

    /// `restic restore` of a snapshot, then manifest.py compares the restored copy of `source`
    /// with the source itself; returns manifest.py's verdict (exit 0 = equal).
    static func restoreAndCompare(_ repo: String, snapshot: String, source: String, using tool: Tool = .restic,
                                  extraIgnores: [String] = []) throws -> Harness.Result {
        let target = try TempDir.make("cartae-restore")
        defer { try? FileManager.default.removeItem(at: target) }
        let arguments = ["restore", snapshot, "--target", target.path]
        let restore = tool == .restic ? try restic(repo, arguments)
                                      : try Harness.ours(arguments, repo: repo, password: password)
        guard restore.status == 0 else { throw HarnessError("\(tool) restore failed (\(restore.status)): \(restore.stderr)") }
        let expected = target.appendingPathComponent("expected.json")
        let manifest = try Harness.run("python3", [Harness.fixtures.appendingPathComponent("manifest.py").path, source])
        guard manifest.status == 0 else { throw HarnessError("manifest.py failed: \(manifest.stderr)") }
        try manifest.stdout.write(to: expected)
        let ignores = (["sparse"] + extraIgnores).flatMap { ["--ignore", $0] }
        return try Harness.run("python3", [Harness.fixtures.appendingPathComponent("manifest.py").path,
                                           target.path + source, "--compare", expected.path] + ignores)
    }

    enum Tool { case restic, ours }

    /// `restic ls -l` without the header line, which names the snapshot.
    static func longListing(_ repo: String, _ snapshot: String, _ extra: [String] = []) throws -> [String] {
        let result = try restic(repo, ["ls", "-l", snapshot] + extra)
        guard result.status == 0 else { throw HarnessError("restic ls failed: \(result.stderr)") }
        return result.out.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("snapshot ") }
    }

    /// `restic ls` paths of a snapshot.
    static func paths(_ repo: String, _ snapshot: String) throws -> [String] {
        let result = try restic(repo, ["ls", snapshot])
        guard result.status == 0 else { throw HarnessError("restic ls failed: \(result.stderr)") }
        return result.out.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("snapshot ") }
    }
}

/// A running subprocess that a test may kill (crash and lock tests).
final class Spawned: @unchecked Sendable {
    let process: PosixProcess
    let stdoutURL: URL

    /// The write end of standard input when the caller asked for a pipe: the process blocks
    /// reading it until the test writes or closes it (a way to keep a command, and its lock, alive).
    private var inputFD: Int32?

    init(_ executable: String, _ arguments: [String], environment: [String: String], pipeInput: Bool = false) throws {
        let env = Harness.childEnvironment(environment)
        stdoutURL = try TempDir.make("cartae-spawn").appendingPathComponent("out")
        let out = try PosixProcess.outputFile(stdoutURL.path)
        defer { close(out) }
        let err = try PosixProcess.outputFile(stdoutURL.deletingLastPathComponent().appendingPathComponent("err").path)
        defer { close(err) }
        let stdin: Int32
        if pipeInput {
            let pipe = try PosixProcess.pipe()
            stdin = pipe.read
            inputFD = pipe.write
        } else {
            stdin = try PosixProcess.nullDevice()
        }
        defer { close(stdin) }
        do {
            process = try PosixProcess(executable, arguments, environment: env, stdin: stdin, stdout: out, stderr: err)
        } catch {
            if let inputFD { close(inputFD) }
            throw error
        }
    }

    var stdout: Data { (try? Data(contentsOf: stdoutURL)) ?? Data() }
    var stderr: String {
        String(decoding: (try? Data(contentsOf: stdoutURL.deletingLastPathComponent().appendingPathComponent("err"))) ?? Data(), as: UTF8.self)
    }

    /// Our binary on `repo` with the test password.
    static func ours(_ arguments: [String], repo: String, pipeInput: Bool = false) throws -> Spawned {
        try Spawned(Harness.binary, arguments, environment: ["RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD": WriteRepo.password],
                    pipeInput: pipeInput)
    }

    /// restic on `repo` with the test password.
    static func restic(_ arguments: [String], repo: String, pipeInput: Bool = false) throws -> Spawned {
        try Spawned(try Harness.which("restic"), ["--no-cache"] + arguments,
                    environment: ["RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD": WriteRepo.password], pipeInput: pipeInput)
    }

    /// Writes to the process's standard input and closes it.
    func finishInput(_ data: Data = Data()) throws {
        guard let fd = inputFD else { return }
        inputFD = nil
        PosixProcess.writeAll(data, to: fd)
    }

    var isRunning: Bool { process.isRunning }

    func killHard() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        if let inputFD { close(inputFD) }
        try? FileManager.default.removeItem(at: stdoutURL.deletingLastPathComponent())
    }
}

enum WriteTemp {
    /// A folder directly under `/`. Backups store the metadata of every ancestor of a source,
    /// and /tmp changes whenever a parallel test makes a temp folder; `/` itself is not stored.
    static func topLevel() throws -> String {
        let path = "/cartae-wp-\(UUID().uuidString.prefix(12))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try TreeGenerator.posix(chmod(path, 0o755), "chmod", path)
        return path
    }

    /// Regular files below `root` that a command opened for reading, from an `strace -xx` log
    /// (every string byte as \xNN, so names of any encoding come through whole).
    static func openedFiles(strace log: String, under root: String) -> Set<String> {
        var opened: Set<String> = []
        let prefix = Array((root + "/").utf8)
        for line in log.split(separator: "\n") where line.contains("openat(") && !line.contains("O_DIRECTORY")
            && !line.contains("= -1") {
            guard let start = line.firstIndex(of: "\"") else { continue }
            var bytes: [UInt8] = []
            var rest = line[line.index(after: start)...]
            while rest.hasPrefix("\\x"), let byte = UInt8(rest.dropFirst(2).prefix(2), radix: 16) {
                bytes.append(byte)
                rest = rest.dropFirst(4)
            }
            if bytes.starts(with: prefix) { opened.insert(String(decoding: bytes.dropFirst(prefix.count), as: UTF8.self)) }
        }
        return opened
    }

    /// Our backup under strace; returns the result, its summary and the source files it opened.
    static func tracedBackup(_ repo: String, _ arguments: [String], root: String) throws -> (Harness.Result, [String: Any]?, Set<String>) {
        let log = try TempDir.make("cartae-strace")
        defer { try? FileManager.default.removeItem(at: log) }
        let logFile = log.appendingPathComponent("trace").path
        try Harness.requireTool("strace", package: "strace")
        let result = try Harness.run("strace", ["-f", "-qq", "-xx", "-s", "4096", "-e", "trace=openat", "-o", logFile, Harness.binary,
                                                "backup", "--json"] + arguments,
                                     environment: ["RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD": WriteRepo.password])
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return (result, WriteRepo.summary(result.stdout), openedFiles(strace: text, under: root))
    }
}

/// Polls a condition every few milliseconds until it holds or `timeout` passes. It blocks its
/// thread on purpose: a task that sleeps must wait for a free thread of the cooperative pool to
/// resume, and parallel tests blocked in `waitUntilExit` can hold all of them for seconds,
/// which made kill points in the crash test come far too late.
func waitUntil(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(2_000)
    }
    return try condition()
}
