#if canImport(Glibc)
import Glibc
#endif

/// The one loop that writes block-aligned bytes with O_DIRECT through an aligned bounce buffer,
/// for pack files (`POSIX.writeAllDirect`) and for the blobs restore writes
/// (`DirectPieceWriter`). Callers switch O_DIRECT on and off and write what is left through the
/// page cache.
public enum DirectWrite {
    public static let block = 4096

    /// A write refused with something other than EINVAL; `code` is its errno.
    public struct Failure: Error {
        public let code: Int32
    }

    /// Writes `bytes` (whole blocks) at `offset` of `fd`, which has O_DIRECT on, a piece of
    /// `bounce` at a time. Returns how much went out: all of it, or less where the file system
    /// refused O_DIRECT after all (EINVAL).
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int,
                             bounce: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        guard let source = bytes.baseAddress, let buffer = bounce.baseAddress else { return 0 }
        var done = 0
        while done < bytes.count {
            let count = min(bounce.count, bytes.count - done)
            buffer.copyMemory(from: source + done, byteCount: count)
            let written = POSIX.pwriteAll(fd, buffer, count: count, at: offset + done)
            done += written
            if written < count {
                if errno == EINVAL { return done }
                throw Failure(code: errno)
            }
        }
        return done
    }
}
