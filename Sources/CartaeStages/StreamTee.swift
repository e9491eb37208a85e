#if canImport(Glibc)
import Glibc
#endif
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Reads a child's output for the archiver and copies every byte to a second child's stdin
/// (a validator such as `pg_restore --list`). The copy stops quietly when the validator
/// closes its end early (it may stop after the part it checks); reads and the copy block, so
/// this runs inside the archiver's synchronous read callback, as `--stdin-from-command` does.
final class StreamTee {
    private let source: FileDescriptor
    private var copy: FileDescriptor?
    private(set) var bytesRead: UInt64 = 0
    private(set) var bytesCopied: UInt64 = 0
    private var sourceClosed = false

    init(source: FileDescriptor, copy: FileDescriptor?) {
        self.source = source
        self.copy = copy
    }

    deinit {
        closeSource()
        closeCopy()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(source.rawValue, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw StageError("reading the dump: \(String(cString: strerror(errno)))")
            }
            bytesRead += UInt64(n)
            if n > 0 { forward(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
            return n
        }
    }

    private func forward(_ bytes: UnsafeRawBufferPointer) {
        guard let copy else { return }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(copy.rawValue, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                // EPIPE: the validator has read what it needs and exited.
                closeCopy()
                return
            }
            offset += n
            bytesCopied += UInt64(n)
        }
    }

    /// Ends the copy, so the validator sees end of file.
    func closeCopy() {
        if let copy { _ = Glibc.close(copy.rawValue) }
        copy = nil
    }

    func closeSource() {
        guard !sourceClosed else { return }
        sourceClosed = true
        _ = Glibc.close(source.rawValue)
    }

    /// Writes to a closed pipe must fail with EPIPE instead of killing the process.
    static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }
}
