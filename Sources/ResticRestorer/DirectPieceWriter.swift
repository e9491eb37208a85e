#if canImport(Glibc)
import Glibc
#endif
import CartaeSync
import CLibcExtras
import ResticBackends

/// Writes restored pieces with their whole 4 KiB blocks through O_DIRECT and only the partial
/// blocks at either end through the page cache.
///
/// Why: the profile of restoring 1.5 GB of binaries showed the kernel spending 0.6-1.2 CPU-s in
/// `copy_folio_from_iter_atomic`, copying into freshly allocated page-cache pages (on this VM a
/// first touch of such a page is slow, and varies from run to run). Our own copy into a reused
/// aligned buffer, which the disk then reads by DMA, costs a fraction of that. Pieces of two
/// jobs never share a whole block, so no block is written both ways.
final class DirectPieceWriter: @unchecked Sendable {
    static let block = DirectWrite.block
    /// Below this many whole blocks a piece goes through the cache: the two extra fcntl calls
    /// and the synchronous device write cost more than a small copy.
    static let minimumDirect = 64 << 10
    static let bounceSize = 256 << 10

    /// One aligned buffer per writing thread at a time, reused across jobs: a fresh buffer per
    /// job would be fresh pages to fault in, the very cost this avoids.
    private static let spares = SparePool<DirectPieceWriter>(limit: 16)

    private let bounce: UnsafeMutableRawBufferPointer
    /// Cleared once the file system refuses O_DIRECT: the rest of the job uses the cache.
    private var directWorks = true

    private init() {
        bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bounceSize, alignment: Self.block)
    }

    deinit { bounce.deallocate() }

    static func withWriter<T>(_ body: (DirectPieceWriter) throws -> T) rethrows -> T {
        let writer = spares.take() ?? DirectPieceWriter()
        writer.directWorks = true
        defer { spares.give(writer) }
        return try body(writer)
    }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int, path: RawPath) throws {
        let end = offset + bytes.count
        let alignedStart = (offset + Self.block - 1) & ~(Self.block - 1)
        let alignedEnd = end & ~(Self.block - 1)
        guard directWorks, alignedEnd - alignedStart >= Self.minimumDirect else {
            return try FS.pwriteAll(fd, bytes, offset: offset, path: path)
        }
        let base = bytes.baseAddress!
        try FS.pwriteAll(fd, UnsafeRawBufferPointer(start: base, count: alignedStart - offset), offset: offset, path: path)
        try FS.pwriteAll(fd, UnsafeRawBufferPointer(start: base + (alignedEnd - offset), count: end - alignedEnd),
                         offset: alignedEnd, path: path)
        let done = try writeDirect(fd, from: base + (alignedStart - offset), count: alignedEnd - alignedStart,
                                   offset: alignedStart, path: path)
        if done < alignedEnd - alignedStart {
            try FS.pwriteAll(fd, UnsafeRawBufferPointer(start: base + (alignedStart - offset) + done,
                                                        count: alignedEnd - alignedStart - done),
                             offset: alignedStart + done, path: path)
        }
    }

    /// Writes what it can of the aligned middle with O_DIRECT and returns how much that was;
    /// the caller writes the rest through the cache.
    private func writeDirect(_ fd: Int32, from source: UnsafeRawPointer, count: Int, offset: Int,
                             path: RawPath) throws -> Int {
        guard cartae_set_direct_io(fd, 1) >= 0 else {
            directWorks = false
            return 0
        }
        defer { _ = cartae_set_direct_io(fd, 0) }
        let done: Int
        do {
            done = try DirectWrite.write(fd, UnsafeRawBufferPointer(start: source, count: count), at: offset, bounce: bounce)
        } catch {
            throw FS.spaceOrFailure("write", path, error.code)
        }
        // Short only where the file system refused O_DIRECT after all (EINVAL).
        if done < count { directWorks = false }
        return done
    }
}
