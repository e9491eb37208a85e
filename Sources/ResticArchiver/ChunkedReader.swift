#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticChunker
import ResticCrypto
import ResticRepository

/// Reads byte streams, cuts them into restic's content-defined chunks, hashes each and hands
/// it to a `BlobSink`. One reader serves many files in turn: its buffer is made once per task,
/// not once per file, and reads go straight into it.
final class ChunkedReader {
    let sink: any BlobSink
    let tables: ChunkerTables
    static let readSize = 1 << 20
    private let capacity = Chunker.maxSize + readSize
    private let buffer: UnsafeMutableRawBufferPointer

    struct Result {
        var content: [ObjectID] = []
        var bytesRead: UInt64 = 0
        var newBlobs = 0
        var newBytes: UInt64 = 0
    }

    init(sink: any BlobSink, tables: ChunkerTables) {
        self.sink = sink
        self.tables = tables
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Chunks everything `read` returns until it returns 0. `read` fills the buffer it is given
    /// and returns the byte count, or throws.
    func store(read: (UnsafeMutableRawBufferPointer) async throws -> Int,
               onBytes: ((Int) -> Void)? = nil) async throws -> Result {
        var result = Result()
        var chunker = Chunker(tables: tables)
        var filled = 0
        var scanned = 0
        while true {
            let n = try await read(UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<min(capacity, filled + Self.readSize)]))
            if n == 0 { break }
            try Task.checkCancellation()
            filled += n
            result.bytesRead += UInt64(n)
            onBytes?(n)
            while scanned < filled {
                guard let cut = chunker.scan(UnsafeRawBufferPointer(rebasing: buffer[scanned..<filled])) else {
                    scanned = filled
                    break
                }
                let end = scanned + cut
                try await emit(UnsafeRawBufferPointer(rebasing: buffer[0..<end]), &result)
                // Move the bytes after the cut to the front; they are less than one read.
                if end < filled {
                    buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + end, byteCount: filled - end)
                }
                filled -= end
                scanned = 0
            }
        }
        if filled > 0 { try await emit(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), &result) }
        return result
    }

    private func emit(_ chunk: UnsafeRawBufferPointer, _ result: inout Result) async throws {
        let id = ObjectID(bytes: SHA256.digest(chunk))
        result.content.append(id)
        guard try await sink.storeChunk(chunk, id: id) else { return }
        result.newBlobs += 1
        result.newBytes += UInt64(chunk.count)
    }

    /// Passes on that this reader has read its last stream.
    func flush() async throws {
        try await sink.flush()
    }

    /// Chunks a regular file, read through `opened` (which it closes) when read-ahead opened it.
    func storeFile(_ path: [UInt8], opened: Int32? = nil, onBytes: ((Int) -> Void)? = nil) async throws -> Result {
        var st = stat()
        let fd: Int32
        if let opened, fstat(opened, &st) == 0, st.st_mode & S_IFMT == S_IFREG {
            // Opened with O_NONBLOCK, which a regular file's reads ignore.
            fd = opened
        } else {
            // Anything else (a FIFO swapped in since the walk) is opened as the reader always did.
            if let opened { close(opened) }
            fd = Self.open(path)
            guard fd >= 0 else { throw SourceFS.failure("open", path) }
            if fstat(fd, &st) != 0 { st = stat() }
        }
        defer { close(fd) }
        if st.st_mode & S_IFMT == S_IFREG, st.st_size >= DirectFileStream.threshold,
           let direct = DirectFileStream.start(fd) {
            defer { direct.finish() }
            return try await store(read: { buffer in
                do {
                    return try await direct.read(into: buffer)
                } catch let failure as DirectFileStream.ReadFailure {
                    throw SourceFS.failure("read", path, failure.code)
                }
            }, onBytes: onBytes)
        }
        return try await store(read: { buffer in
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n >= 0 { return n }
                if errno != EINTR { throw SourceFS.failure("read", path) }
            }
        }, onBytes: onBytes)
    }

    private static func open(_ path: [UInt8]) -> Int32 {
        SourceFS.withCString(path) { Glibc.open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
    }
}
