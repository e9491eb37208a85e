#if canImport(Glibc)
import Glibc
#endif
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Feeds an RDB stream to the archiver while validating it. The last 64 bytes received are
/// held back until the validator knows where the RDB ends, so the end-of-transfer marker
/// `redis-cli --rdb -` appends after a diskless transfer never reaches the backup. A
/// structural error stops the stream; `result()` then says why.
final class RDBTap {
    static let holdback = 64
    private let source: FileDescriptor
    private var validator = RDBValidator()
    private var held: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 1 << 20)
    private(set) var passed: UInt64 = 0
    private(set) var received: UInt64 = 0
    private var ended = false
    private var closed = false
    private var failure: Error?
    private var summary: RDBValidator.Summary?

    init(source: FileDescriptor) {
        self.source = source
    }

    deinit { closeSource() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if ended {
                guard let summary, summary.bytes >= passed else { return 0 }
                return give(buffer, count: Int(min(UInt64(held.count), summary.bytes - passed)))
            }
            if held.count > Self.holdback {
                return give(buffer, count: held.count - Self.holdback)
            }
            let n = scratch.withUnsafeMutableBytes { Glibc.read(source.rawValue, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StageError("reading the RDB stream: \(String(cString: strerror(errno)))")
            }
            received += UInt64(n)
            if n == 0 {
                ended = true
                do { summary = try validator.finish() } catch { failure = error }
                continue
            }
            do {
                try scratch.withUnsafeBytes { try validator.consume(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            } catch {
                // Stop here: the caller learns why from result(), and closing our end stops the sender.
                failure = error
                ended = true
                closeSource()
                continue
            }
            held.append(contentsOf: scratch[0..<n])
        }
    }

    private func give(_ buffer: UnsafeMutableRawBufferPointer, count: Int) -> Int {
        let n = min(buffer.count, count)
        guard n > 0 else { return 0 }
        held.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
        held.removeFirst(n)
        passed += UInt64(n)
        return n
    }

    /// The validated RDB, or why the stream is not one. Bytes after the RDB beyond the
    /// hold-back window would already be in the backup, so they make the stream invalid.
    func result() throws -> RDBValidator.Summary {
        if let failure { throw failure }
        guard let summary else { throw StageError("the RDB stream has not ended") }
        guard passed == summary.bytes else {
            throw RDBValidator.Failure(message: "\(received - summary.bytes) unexpected bytes after the end of the RDB")
        }
        return summary
    }

    func closeSource() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(source.rawValue)
    }
}
