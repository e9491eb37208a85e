internal import CZstd

/// Decompresses zstd frames. Owns one ZSTD_DCtx that is reused across calls; not Sendable,
/// keep one per task or thread.
public final class ZstdDecompressor {
    private let dctx: OpaquePointer
    /// Streaming output chunk, allocated on first use (only inputs whose headers cannot be walked,
    /// or that may hold more than the limit, are streamed).
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
    /// Output buffers are sized by what the input's block headers can really produce
    /// (`ZstdFrameBound`), never by a content size the frame header or the caller claims, so a
    /// hostile 20-byte frame that says "1 TiB" costs nothing. libzstd's own window buffer, used
    /// only when streaming, is capped the same way (see `decodeStream`).
    public func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int?,
                           limit: Int) throws(ZstdError) -> [UInt8] {
        guard limit >= 0 else { throw .library("the size limit must not be negative, got \(limit)") }
        guard !input.isEmpty else { throw .library("empty input holds no zstd frame") }
        if let expected = expectedSize {
            guard expected >= 0 else { throw .library("the expected size must not be negative, got \(expected)") }
            guard expected <= limit else { throw .sizeLimitExceeded(limit) }
        }
        let summary: ZstdFrameBound.Summary
        switch ZstdFrameBound.walk(input) {
        case .frames(let frames):
            summary = frames
        case .unknownMagic(let offset, let magic):
            // Not handed to libzstd: its legacy (v0.x) decoders allocate what their headers claim.
            let hex = String(magic, radix: 16)
            throw .library("Unknown frame descriptor: magic 0x\(hex) at byte \(offset) is not a zstd frame")
        case .malformed:
            // Malformed headers: libzstd names the problem; streaming never grows past `limit`.
            let output = try decodeStream(input, limit: limit)
            if let expected = expectedSize, output.count != expected {
                throw .sizeMismatch(expected: expected, actual: output.count)
            }
            return output
        }
        let bound = summary.maxDecodedSize
        if let expected = expectedSize {
            guard expected <= bound else {
                // The blocks cannot hold that much: decode what is there only to report its size.
                throw .sizeMismatch(expected: expected, actual: try decodeBounded(input, bound: bound, limit: limit).count)
            }
            return try decompress(input, exactly: expected, bound: bound, limit: limit)
        }
        if let declared = summary.declaredSize {
            guard declared <= UInt64(bound) else {
                throw .invalidFrame("the frame header declares \(declared) bytes of content, but its blocks hold at most \(bound)")
            }
            guard declared <= UInt64(limit) else { throw .sizeLimitExceeded(limit) }
            // libzstd checks the declared size against the decoded data itself.
            return try decodeOneShot(input, capacity: Int(declared)).0
        }
        return try decodeBounded(input, bound: bound, limit: limit)
    }

    public func decompress(_ input: [UInt8], expectedSize: Int?, limit: Int) throws(ZstdError) -> [UInt8] {
        var outcome: Result<[UInt8], ZstdError> = .success([])
        input.withUnsafeBytes { bytes in
            outcome = Result { () throws(ZstdError) in try decompress(bytes, expectedSize: expectedSize, limit: limit) }
        }
        return try outcome.get()
    }

    /// Known size (the blob path), no more than the blocks can hold: decode straight into a
    /// buffer of exactly that size, which also serves as the window, so no streaming buffers
    /// are involved.
    private func decompress(_ input: UnsafeRawBufferPointer, exactly expected: Int, bound: Int,
                            limit: Int) throws(ZstdError) -> [UInt8] {
        let (output, code) = try decodeOneShot(input, capacity: expected, allowTooSmall: true)
        if ZSTD_isError(code) != 0 {
            // Too much data: decode again, bounded, only to report the real size.
            let actual = try decodeBounded(input, bound: bound, limit: limit).count
            throw .sizeMismatch(expected: expected, actual: actual)
        }
        guard code == expected else { throw .sizeMismatch(expected: expected, actual: code) }
        return output
    }

    /// Unknown size: one shot into a buffer of the headers' bound when that fits the limit (no
    /// window buffer needed), else streaming; either way nothing beyond what the input holds.
    private func decodeBounded(_ input: UnsafeRawBufferPointer, bound: Int, limit: Int) throws(ZstdError) -> [UInt8] {
        guard bound <= limit else { return try decodeStream(input, limit: limit) }
        let (output, _) = try decodeOneShot(input, capacity: bound)
        // Compressed blocks are counted at their maximum; give back a mostly unused buffer.
        guard output.capacity - output.count > 1 << 16 else { return output }
        return [UInt8](unsafeUninitializedCapacity: output.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: output)
        }
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
    ///
    /// libzstd allocates the window a frame header declares (up to 128 MiB) before it decodes a
    /// byte, so the window is capped by what the input can produce at most (4 input bytes per
    /// 128 KiB block) and by the limit: a larger claim is refused, not allocated.
    private func decodeStream(_ input: UnsafeRawBufferPointer, limit: Int) throws(ZstdError) -> [UInt8] {
        let (blocks, overflow) = (input.count / 4 + 1).multipliedReportingOverflow(by: ZstdFrameBound.maxBlockSize)
        let mostOutput = overflow ? limit : min(limit, blocks)
        var windowLog: Int32 = 10  // ZSTD_WINDOWLOG_ABSOLUTEMIN
        while windowLog < 27 && (1 << windowLog) < mostOutput { windowLog += 1 }
        try Zstd.check(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters), "ZSTD_DCtx_reset")
        try Zstd.check(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, windowLog), "ZSTD_DCtx_setParameter")
        // Back to the defaults afterwards, so no later call inherits this input's cap.
        defer { _ = ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters) }
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
