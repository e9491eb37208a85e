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

    /// True when `frame` is one complete zstd frame whose content is `expected`, byte for byte.
    public func matches(_ frame: UnsafeRawBufferPointer, _ expected: UnsafeRawBufferPointer) -> Bool {
        guard let source = frame.baseAddress, let output = window.baseAddress else { return false }
        guard ZSTD_isError(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only)) == 0 else { return false }
        var input = ZSTD_inBuffer(src: source, size: frame.count, pos: 0)
        var produced = 0
        while true {
            var out = ZSTD_outBuffer(dst: output, size: window.count, pos: 0)
            let status = ZSTD_decompressStream(dctx, &out, &input)
            guard ZSTD_isError(status) == 0 else { return false }
            if out.pos > 0 {
                guard produced + out.pos <= expected.count, let wanted = expected.baseAddress,
                      memcmp(output, wanted + produced, out.pos) == 0 else { return false }
                produced += out.pos
            }
            if status == 0 { return input.pos == input.size && produced == expected.count }
            // Input used up with room left in the output: the frame is cut short.
            if input.pos == input.size && out.pos < out.size { return false }
        }
    }
}

@available(*, unavailable)
extension ZstdVerifier: Sendable {}
