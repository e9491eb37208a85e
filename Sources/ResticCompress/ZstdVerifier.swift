#if canImport(Glibc)
import Glibc
#endif
internal import CZstd

/// Checks that a zstd frame decodes to exactly the expected bytes, streaming through a small
/// buffer: verifying a blob just compressed needs no allocation the size of the blob. Not
/// Sendable: one per task.
public final class ZstdVerifier {
    private let dctx: OpaquePointer
    private let window: UnsafeMutableRawBufferPointer

    public init() throws(ZstdError) {
        dctx = try Zstd.check(ZSTD_createDCtx(), "ZSTD_createDCtx")
        window = .allocate(byteCount: 128 * 1024, alignment: 64)
    }

    deinit {
        ZSTD_freeDCtx(dctx)
        window.deallocate()
    }

    /// Bytes of `expected` matched so far, and whether the frame has ended; see `begin`.
    private var produced = 0
    private var ended = false
    private var failed = false

    /// True when `frame` is one complete zstd frame whose content is `expected`, byte for byte.
    public func matches(_ frame: UnsafeRawBufferPointer, _ expected: UnsafeRawBufferPointer) -> Bool {
        begin() && feed(frame, expected) && end(expected)
    }

    /// Starts checking a frame that arrives in pieces (say, as it is decrypted): call `feed`
    /// with each piece in order, then `end`. False if the context cannot be reset.
    public func begin() -> Bool {
        produced = 0
        ended = false
        failed = ZSTD_isError(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only)) != 0
        return !failed
    }

    /// Decodes the next piece of the frame and compares what it yields with `expected`; false
    /// as soon as anything differs or the data is not a valid frame.
    public func feed(_ piece: UnsafeRawBufferPointer, _ expected: UnsafeRawBufferPointer) -> Bool {
        guard !failed else { return false }
        guard !piece.isEmpty else { return true }
        // Bytes after the end of the frame: not the single frame a blob must be.
        guard !ended, let source = piece.baseAddress, let output = window.baseAddress else { return fail() }
        var input = ZSTD_inBuffer(src: source, size: piece.count, pos: 0)
        while true {
            var out = ZSTD_outBuffer(dst: output, size: window.count, pos: 0)
            let status = ZSTD_decompressStream(dctx, &out, &input)
            guard ZSTD_isError(status) == 0 else { return fail() }
            if out.pos > 0 {
                guard produced + out.pos <= expected.count, let wanted = expected.baseAddress,
                      memcmp(output, wanted + produced, out.pos) == 0 else { return fail() }
                produced += out.pos
            }
            if status == 0 {
                ended = true
                return input.pos == input.size ? true : fail()
            }
            // This piece is used up and the decoder has nothing more to flush: wait for the next.
            if input.pos == input.size && out.pos < out.size { return true }
        }
    }

    /// True when the pieces fed since `begin` formed one complete frame decoding to `expected`.
    public func end(_ expected: UnsafeRawBufferPointer) -> Bool {
        !failed && ended && produced == expected.count
    }

    private func fail() -> Bool {
        failed = true
        return false
    }
}

@available(*, unavailable)
extension ZstdVerifier: Sendable {}
