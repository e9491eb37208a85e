internal import CZstd

/// Decompresses zstd frames. Owns one ZSTD_DCtx that is reused across calls; not Sendable,
/// keep one per task or thread.
public final class ZstdDecompressor {
    private let dctx: OpaquePointer
    /// Streaming output chunk, allocated on first use (only frames without a content size need it).
    private var chunk = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    public init() throws(ZstdError) {
        dctx = try Zstd.check(ZSTD_createDCtx(), "ZSTD_createDCtx")
    }

    deinit {
        ZSTD_freeDCtx(dctx)
        chunk.deallocate()
    }

    /// Decodes all frames in `input`. Frames may lack the content-size field (restic's Go encoder).
    /// With `expectedSize` the output must be exactly that long (`sizeMismatch` otherwise).
    /// The output never grows past `limit` bytes: data that would exceed it throws `sizeLimitExceeded`.
    ///
    /// The limit bounds the output; libzstd's own window buffer, used only for frames without a
    /// content size and no `expectedSize`, stays within its default cap of 128 MiB.
    public func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int?,
                           limit: Int) throws(ZstdError) -> [UInt8] {
        guard limit >= 0 else { throw .library("the size limit must not be negative, got \(limit)") }
        guard !input.isEmpty else { throw .library("empty input holds no zstd frame") }
        if let expected = expectedSize {
            return try decompress(input, exactly: expected, limit: limit)
        }
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        let isSingleFrame = ZSTD_findFrameCompressedSize(input.baseAddress, input.count) == input.count
        if isSingleFrame, declared != ZSTD_CONTENTSIZE_UNKNOWN, declared != ZSTD_CONTENTSIZE_ERROR {
            guard declared <= UInt64(limit) else { throw .sizeLimitExceeded(limit) }
            // The header's size is checked against the decoded data by libzstd itself.
            let (output, _) = try decodeOneShot(input, capacity: Int(declared))
            return output
        }
        return try decodeStream(input, limit: limit)
    }

    public func decompress(_ input: [UInt8], expectedSize: Int?, limit: Int) throws(ZstdError) -> [UInt8] {
        var outcome: Result<[UInt8], ZstdError> = .success([])
        input.withUnsafeBytes { bytes in
            outcome = Result { () throws(ZstdError) in try decompress(bytes, expectedSize: expectedSize, limit: limit) }
        }
        return try outcome.get()
    }

    /// Known size (the blob path): decode straight into a buffer of exactly that size, which also
    /// serves as the window, so no streaming buffers are involved.
    private func decompress(_ input: UnsafeRawBufferPointer, exactly expected: Int,
                            limit: Int) throws(ZstdError) -> [UInt8] {
        guard expected >= 0 else { throw .library("the expected size must not be negative, got \(expected)") }
        guard expected <= limit else { throw .sizeLimitExceeded(limit) }
        let (output, code) = try decodeOneShot(input, capacity: expected, allowTooSmall: true)
        if ZSTD_isError(code) != 0 {
            // Too much data: decode again, bounded, only to report the real size.
            let actual = try decodeStream(input, limit: limit).count
            throw .sizeMismatch(expected: expected, actual: actual)
        }
        guard code == expected else { throw .sizeMismatch(expected: expected, actual: code) }
        return output
    }

    /// Decodes all frames into a new array of `capacity` bytes. Returns the array and the decoded
    /// size; with `allowTooSmall` a "destination too small" error is returned instead of thrown.
    private func decodeOneShot(_ input: UnsafeRawBufferPointer, capacity: Int,
                               allowTooSmall: Bool = false) throws(ZstdError) -> ([UInt8], Int) {
        var code = 0
        let output = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            code = decodeFrames(input, into: UnsafeMutableRawBufferPointer(buffer))
            count = ZSTD_isError(code) == 0 ? code : 0
        }
        if allowTooSmall, ZSTD_isError(code) != 0, ZSTD_getErrorCode(code) == ZSTD_error_dstSize_tooSmall {
            return ([], code)
        }
        try Zstd.check(code, "ZSTD_decompressDCtx")
        return (output, code)
    }

    @inline(never)
    private func decodeFrames(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        ZSTD_decompressDCtx(dctx, output.baseAddress, output.count, input.baseAddress, input.count)
    }

    /// Unknown size: stream through a fixed chunk and grow the result, never past `limit`.
    private func decodeStream(_ input: UnsafeRawBufferPointer, limit: Int) throws(ZstdError) -> [UInt8] {
        try Zstd.check(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only), "ZSTD_DCtx_reset")
        if chunk.count == 0 {
            chunk = .allocate(byteCount: ZSTD_DStreamOutSize(), alignment: 16)
        }
        var output: [UInt8] = []
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            var target = ZSTD_outBuffer(dst: chunk.baseAddress, size: chunk.count, pos: 0)
            let remaining = try Zstd.check(decodeStep(&target, &source), "ZSTD_decompressStream")
            if target.pos > 0 {
                let needed = output.count + target.pos
                guard needed <= limit else { throw .sizeLimitExceeded(limit) }
                if needed > output.capacity {
                    // Grow geometrically, but never reserve past the limit.
                    output.reserveCapacity(min(limit, max(needed, output.capacity * 2)))
                }
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<target.pos]))
            }
            let inputDone = source.pos == source.size
            if remaining == 0 && inputDone { return output }
            if inputDone && target.pos < target.size {
                // libzstd wants more input, and nothing is left to flush: the frame is cut short.
                throw .library("ZSTD_decompressStream failed: input ends inside a frame (truncated data)")
            }
        }
    }

    @inline(never)
    private func decodeStep(_ target: inout ZSTD_outBuffer, _ source: inout ZSTD_inBuffer) -> Int {
        ZSTD_decompressStream(dctx, &target, &source)
    }
}

/// Owns mutable C state; give each task its own decompressor.
@available(*, unavailable)
extension ZstdDecompressor: Sendable {}
