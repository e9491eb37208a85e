import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server a test starts on a free loopback port and stops when done: `rclone serve restic`,
/// `moto_server`, the fault proxy. Output goes to a log file that failures quote.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let name: String
    let log: URL
    let directory: URL

    /// Starts `tool` with the arguments `arguments(port)` and waits until the port accepts.
    init(_ tool: String, install: String, arguments: (Int) -> [String], environment: [String: String] = [:],
         readyWithin seconds: Double = 30) throws {
        guard let path = try? Harness.which(tool) else {
            throw HarnessError("\(tool) is not installed: \(install)")
        }
        Servers.isolateCache()
        name = tool
        port = try Self.freePort()
        directory = try TempDir.make("cartae-server")
        log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments(port)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while !Self.accepts(port) {
            guard process.isRunning else {
                throw HarnessError("\(tool) exited (\(process.terminationStatus)) before listening:\n\(logText)")
            }
            guard Date() < deadline else {
                stop()
                throw HarnessError("\(tool) did not listen on port \(port) within \(seconds) s:\n\(logText)")
            }
            usleep(50_000)
        }
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL if the process lingers (a child may inherit SIGTERM as ignored);
    /// removes the log folder. The servers keep nothing worth a graceful shutdown.
    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(1)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    /// A port the kernel just handed out on 127.0.0.1 (closed again, so the server can take it).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw HarnessError("bind: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw HarnessError("getsockname: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// The servers the backend tests use.
enum Servers {
    /// `rclone serve restic` over a fresh folder; extra arguments for TLS or authentication.
    static func rest(root: String, extra: [String] = []) throws -> ServerProcess {
        try ServerProcess("rclone", install: "apt-get install -y rclone", arguments: { port in
            ["serve", "restic", "--addr", "127.0.0.1:\(port)", "--config", "/dev/null"] + extra + [root]
        })
    }

    /// An empty moto S3 server; any access key works.
    static func s3() throws -> ServerProcess {
        try ServerProcess("moto_server", install: "pip install 'moto[server]' (see scripts/install-deps.sh)",
                          arguments: { port in ["-H", "127.0.0.1", "-p", "\(port)"] })
    }

    /// Our commands cache remote repositories under XDG_CACHE_HOME: keep the tests' caches in
    /// /tmp instead of the user's home (tests that check the cache set their own).
    static func isolateCache() {
        setenv("XDG_CACHE_HOME", NSTemporaryDirectory() + "cartae-backend-tests-cache", 1)
    }

    /// Credentials every S3 test uses; moto accepts any.
    static let awsEnvironment = ["AWS_ACCESS_KEY_ID": "cartae-test-key", "AWS_SECRET_ACCESS_KEY": "cartae-test-secret",
                                 "AWS_DEFAULT_REGION": "us-east-1"]
}
