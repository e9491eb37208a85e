import Foundation
import Testing

/// Shared plumbing for integration tests: temp folders, running our binary and real restic as
/// subprocesses (so exit codes, stdout and stderr are the real ones), and the fixtures.
enum Harness {
    /// The package root, found from this file's path.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    static var fixtures: URL { packageRoot.appendingPathComponent("Fixtures") }

    /// Our executable, built next to the test bundle by `swift test`.
    /// A child that exits without reading its input must fail that test, not kill the whole
    /// test process with SIGPIPE.
    static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    static let binary: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            dir.deleteLastPathComponent()
            let candidate = dir.appendingPathComponent("cartae-restic").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        for config in ["debug", "release"] {
            let candidate = packageRoot.appendingPathComponent(".build/\(config)/cartae-restic").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "cartae-restic"
    }()

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var out: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// The test process's environment without its `RESTIC_*` settings, in UTC, plus `extra`:
    /// what every command a test starts sees.
    static func childEnvironment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("RESTIC_") { env[key] = nil }
        env["TZ"] = "UTC"
        env.merge(extra) { $1 }
        return env
    }

    /// Runs a program and waits for it; stdin from `input` (or /dev/null).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    input: Data? = nil, directory: String? = nil) throws -> Result {
        _ = ignoreBrokenPipes
        let path = executable.hasPrefix("/") ? executable : try which(executable)
        let env = childEnvironment(environment)
        let outFile = try TempDir.make().appendingPathComponent("out")
        let errFile = outFile.deletingLastPathComponent().appendingPathComponent("err")
        let out = try PosixProcess.outputFile(outFile.path)
        defer { close(out) }
        let err = try PosixProcess.outputFile(errFile.path)
        defer { close(err) }
        let process: PosixProcess
        if let input {
            let pipe = try PosixProcess.pipe()
            do {
                process = try PosixProcess(path, arguments, environment: env, directory: directory,
                                           stdin: pipe.read, stdout: out, stderr: err)
            } catch {
                close(pipe.read)
                close(pipe.write)
                throw error
            }
            close(pipe.read)
            PosixProcess.writeAll(input, to: pipe.write)
        } else {
            let null = try PosixProcess.nullDevice()
            defer { close(null) }
            process = try PosixProcess(path, arguments, environment: env, directory: directory,
                                       stdin: null, stdout: out, stderr: err)
        }
        process.waitUntilExit()
        let result = Result(status: process.terminationStatus,
                            stdout: (try? Data(contentsOf: outFile)) ?? Data(),
                            stderr: String(decoding: (try? Data(contentsOf: errFile)) ?? Data(), as: UTF8.self))
        try? FileManager.default.removeItem(at: outFile.deletingLastPathComponent())
        return result
    }

    /// Runs cartae-restic against `repo` with `password` in RESTIC_PASSWORD.
    @discardableResult
    static func ours(_ arguments: [String], repo: String? = nil, password: String? = "test-password",
                     environment: [String: String] = [:], input: Data? = nil) throws -> Result {
        var env = environment
        if let repo { env["RESTIC_REPOSITORY"] = repo }
        if let password { env["RESTIC_PASSWORD"] = password }
        return try run(binary, arguments, environment: env, input: input)
    }

    /// Runs the installed restic (the compatibility oracle) without a cache.
    @discardableResult
    static func restic(_ arguments: [String], repo: String, password: String = "test-password",
                       environment: [String: String] = [:], input: Data? = nil) throws -> Result {
        try requireTool("restic", package: "restic")
        var env = environment
        env["RESTIC_REPOSITORY"] = repo
        env["RESTIC_PASSWORD"] = password
        return try run("restic", ["--no-cache"] + arguments, environment: env, input: input)
    }

    static func which(_ name: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw HarnessError("\(name) not found in PATH")
    }

    /// Fails the test with an install hint when a tool is missing (CI installs everything).
    static func requireTool(_ name: String, package: String) throws {
        guard (try? which(name)) != nil else {
            throw HarnessError("\(name) is not installed: apt-get install -y \(package)")
        }
    }

    /// Unpacks a fixture repository ("repo-v1" or "repo-v2") into a fresh temp folder.
    static func fixtureRepository(_ name: String) throws -> String {
        let dir = try TempDir.make()
        let result = try run("tar", ["-xzf", fixtures.appendingPathComponent("\(name).tar.gz").path, "-C", dir.path])
        guard result.status == 0 else { throw HarnessError("tar failed: \(result.stderr)") }
        return dir.appendingPathComponent(name).path
    }

    static let fixturePassword = "fixture-password"

    /// The canonical tree description from Fixtures/manifest.py, as parsed JSON.
    static func manifest(_ path: String, extra: [String] = []) throws -> Any {
        let result = try run("python3", [fixtures.appendingPathComponent("manifest.py").path, path] + extra)
        guard result.status == 0 else { throw HarnessError("manifest.py failed: \(result.stderr)") }
        return try JSONSerialization.jsonObject(with: result.stdout)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Temp folders under /tmp that tests create; each test removes its own when done.
enum TempDir {
    static func make(_ prefix: String = "cartae-test") throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(12))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
