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
    /// refused O_DIRECT after all (EINVAL) or wrote short.
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int,
                             bounce: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        guard let source = bytes.baseAddress, let buffer = bounce.baseAddress else { return 0 }
        var done = 0
        while done < bytes.count {
            let count = min(bounce.count, bytes.count - done)
            buffer.copyMemory(from: source + done, byteCount: count)
            var written = 0
            while written < count {
                let n = pwrite(fd, buffer + written, count - written, off_t(offset + done + written))
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EINVAL { return done + written }
                    throw Failure(code: errno)
                }
                written += n
            }
            done += written
            if written % block != 0 { return done }
        }
        return done
    }
}
