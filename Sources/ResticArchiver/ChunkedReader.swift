#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticChunker
import ResticRepository

/// Reads a byte stream, cuts it into restic's content-defined chunks and stores each chunk as a
/// data blob. Reads go straight into the chunk buffer, so bytes are copied once on the way in.
struct ChunkedReader {
    let writer: RepositoryWriter
    let sealer: BlobSealer
    let tables: ChunkerTables
    static let readSize = 1 << 20

    struct Result {
        var content: [ObjectID] = []
        var bytesRead: UInt64 = 0
        var newBlobs = 0
        var newBytes: UInt64 = 0
    }

    /// Chunks everything `read` returns until it returns 0. `read` fills the buffer it is given
    /// and returns the byte count, or throws.
    func store(read: (UnsafeMutableRawBufferPointer) throws -> Int,
               onBytes: ((Int) -> Void)? = nil) async throws -> Result {
        var result = Result()
        var chunker = Chunker(tables: tables)
        var buffer = [UInt8]()
        buffer.reserveCapacity(Chunker.maxSize + Self.readSize)
        var scanned = 0
        while true {
            let start = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: Self.readSize))
            let n = try buffer.withUnsafeMutableBytes { raw in
                try read(UnsafeMutableRawBufferPointer(rebasing: raw[start...]))
            }
            buffer.removeLast(Self.readSize - n)
            if n == 0 { break }
            try Task.checkCancellation()
            result.bytesRead += UInt64(n)
            onBytes?(n)
            while scanned < buffer.count {
                let cut = buffer.withUnsafeBytes { chunker.scan(UnsafeRawBufferPointer(rebasing: $0[scanned...])) }
                guard let cut else {
                    scanned = buffer.count
                    break
                }
                let end = scanned + cut
                try await emit(Array(buffer[..<end]), &result)
                buffer.removeFirst(end)
                scanned = 0
            }
        }
        if !buffer.isEmpty { try await emit(buffer, &result) }
        return result
    }

    private func emit(_ chunk: [UInt8], _ result: inout Result) async throws {
        let (id, isNew) = try await writer.save(chunk, .data, sealer: sealer)
        result.content.append(id)
        if isNew {
            result.newBlobs += 1
            result.newBytes += UInt64(chunk.count)
        }
    }

    /// Chunks a regular file.
    func storeFile(_ path: [UInt8], onBytes: ((Int) -> Void)? = nil) async throws -> Result {
        let fd = SourceFS.withCString(path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        guard fd >= 0 else { throw SourceFS.failure("open", path) }
        defer { close(fd) }
        return try await store(read: { buffer in
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n >= 0 { return n }
                if errno != EINTR { throw SourceFS.failure("read", path) }
            }
        }, onBytes: onBytes)
    }
}
