#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `dr restore redis --verify`: loads a restored RDB into a throwaway redis-server on a free
/// loopback port, in a scratch folder, and counts the keys it holds once loaded.
enum RedisVerifier {
    static func loadedKeys(directory: String, fileName: String, timeout: Duration = .seconds(300)) async throws -> Int {
        guard ChildProcess.which("redis-server") != nil else {
            throw StageError("--verify needs redis-server (install it: apt-get install redis-server)")
        }
        let scratch = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let source = directory + "/" + fileName
        if link(source, scratch + "/dump.rdb") != 0 {
            try FileManager.default.copyItem(atPath: source, toPath: scratch + "/dump.rdb")
        }
        let port = try LoopbackPort.free()
        let client = RedisClient(host: "127.0.0.1", port: port, password: nil)
        let arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", scratch, "--dbfilename", "dump.rdb",
                         "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", scratch + "/redis.log"]
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let server = Promise<Result<ProcessOutcome, Error>>()
            group.addTask {
                server.fulfill(await capture { try await ChildProcess.run("redis-server", arguments) })
            }
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var keys: Int?
            while keys == nil {
                if let ended = server.current {
                    let log = (try? String(contentsOfFile: scratch + "/redis.log", encoding: .utf8)) ?? ""
                    let lastLines = log.split(whereSeparator: \.isNewline).suffix(3).joined(separator: " | ")
                    throw StageError("the throwaway redis-server stopped before loading the RDB (\((try? ended.get())?.failureDescription ?? "did not start")): \(lastLines)")
                }
                if (try? await client.command(["PING"])) == "PONG" {
                    keys = try await client.keyCount()
                    break
                }
                guard clock.now < deadline else { throw StageError("the throwaway redis-server did not load the RDB within \(timeout)") }
                try await Task.sleep(for: .milliseconds(100))
            }
            _ = try? await client.command(["SHUTDOWN", "NOSAVE"])
            try await group.waitForAll()
            return keys ?? 0
        }
    }

    static func makeScratchFolder() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/cartae-redis-verify-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StageError("cannot create a scratch folder: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
public enum LoopbackPort {
    public static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StageError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw StageError("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
