import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import ResticArchiver

/// Read-ahead opens each small file to advise the kernel and keeps that descriptor for the
/// file's reader. A descriptor nobody takes must be closed when its ticket goes.
@Suite("read-ahead descriptors")
struct ReadAheadTests {
    static func makeFiles(_ count: Int) throws -> (folder: URL, paths: [String]) {
        let folder = try TempDir.make("cartae-readahead")
        var paths: [String] = []
        for number in 0..<count {
            let path = folder.appendingPathComponent("file-\(number)").path
            try Data("content of file \(number)\n".utf8).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        return (folder, paths)
    }

    /// Waits until the read-ahead thread has advised every ticket (kept its descriptor).
    static func waitUntilAdvised(_ tickets: [ReadAhead.Ticket]) async throws {
        for _ in 0..<500 where !tickets.allSatisfy(\.holdsDescriptor) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let advised = tickets.allSatisfy { $0.holdsDescriptor }
        #expect(advised, "read-ahead did not advise every file within 5 s")
    }

    /// The path `/proc/self/fd/<fd>` names now, or nil when the descriptor is closed.
    static func openedPath(_ fd: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
    }

    @Test("a reader gets the descriptor read-ahead opened, reading the file's bytes")
    func handedOver() async throws {
        let (folder, paths) = try Self.makeFiles(20)
        defer { try? FileManager.default.removeItem(at: folder) }
        let readAhead = ReadAhead()
        defer { readAhead.stop() }
        let tickets = paths.map { readAhead.submit(path: Array($0.utf8), size: 64) }
        try await Self.waitUntilAdvised(tickets)
        for (number, ticket) in tickets.enumerated() {
            let fd = try #require(readAhead.taken(ticket))
            defer { close(fd) }
            #expect(Self.openedPath(fd) == paths[number])
            var buffer = [UInt8](repeating: 0, count: 100)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            #expect(Array(buffer[0..<max(0, n)]) == Array("content of file \(number)\n".utf8))
            // Taken once: a second reader of the same ticket opens the file itself.
            #expect(readAhead.taken(ticket) == nil)
        }
    }

    @Test("descriptors of files no reader took are closed with their tickets")
    func closedWhenDropped() async throws {
        let (folder, paths) = try Self.makeFiles(10)
        defer { try? FileManager.default.removeItem(at: folder) }
        var descriptors: [(fd: Int32, path: String)] = []
        do {
            let readAhead = ReadAhead()
            let tickets = paths.map { readAhead.submit(path: Array($0.utf8), size: 64) }
            try await Self.waitUntilAdvised(tickets)
            for (number, ticket) in tickets.enumerated() {
                let fd = try #require(ticket.heldDescriptor)
                #expect(Self.openedPath(fd) == paths[number])
                descriptors.append((fd, paths[number]))
            }
            readAhead.stop()
        }
        // Another test may have reused a number since: only our file must be gone from it.
        for (fd, path) in descriptors {
            #expect(Self.openedPath(fd) != path, "descriptor \(fd) for \(path) left open")
        }
    }
}
