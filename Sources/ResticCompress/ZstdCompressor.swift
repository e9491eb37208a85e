internal import CZstd

/// Compresses whole objects into one standard zstd frame each. Owns one ZSTD_CCtx that is reused
/// across calls; not Sendable, keep one per task or thread.
public final class ZstdCompressor {
    /// Levels libzstd accepts (negative levels are its "fast" modes; 0 means the default, 3).
    public static var levels: ClosedRange<Int32> { ZSTD_minCLevel()...ZSTD_maxCLevel() }

    private let cctx: OpaquePointer
    /// Reused output buffer sized for the worst case, so the returned arrays hold only the frame
    /// instead of keeping `ZSTD_compressBound` bytes of capacity alive.
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// Frames carry no checksum (as restic's encoder) but do carry the content size, so readers
    /// can allocate the output exactly.
    public convenience init(level: Int32) throws(ZstdError) {
        try self.init(level: level, writeContentSize: true)
    }

    /// `writeContentSize: false` omits the content-size field, as restic's Go encoder may; any
    /// decoder must cope with both, so tests use it to produce such frames.
    public init(level: Int32, writeContentSize: Bool) throws(ZstdError) {
        guard Self.levels.contains(level) else {
            throw .library("compression level \(level) is outside \(Self.levels)")
        }
        cctx = try Zstd.check(ZSTD_createCCtx(), "ZSTD_createCCtx")
        // deinit runs if a later step throws, so the context is not leaked.
        try Zstd.check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level), "ZSTD_CCtx_setParameter")
        try Zstd.check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0), "ZSTD_CCtx_setParameter")
        try Zstd.check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, writeContentSize ? 1 : 0),
                       "ZSTD_CCtx_setParameter")
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        scratch.deallocate()
    }

    /// One standard frame holding all of `input`.
    public func compress(_ input: UnsafeRawBufferPointer) throws(ZstdError) -> [UInt8] {
        Array(try compressInPlace(input))
    }

    /// Like `compress`, but returns the frame in the compressor's own scratch buffer, valid
    /// until the next call: the caller encrypts it straight from there, so no array is made.
    public func compressInPlace(_ input: UnsafeRawBufferPointer) throws(ZstdError) -> UnsafeRawBufferPointer {
        let bound = try Zstd.check(ZSTD_compressBound(input.count), "ZSTD_compressBound")
        if scratch.count < bound {
            scratch.deallocate()
            scratch = .allocate(byteCount: bound, alignment: 16)
        }
        let size = try Zstd.check(compressFrame(input, into: scratch), "ZSTD_compress2")
        return UnsafeRawBufferPointer(rebasing: scratch[0..<size])
    }

    /// Compresses `input` straight into `output` (say, the free space of a pack buffer) and
    /// returns the frame size, or nil when the frame would not fit: a caller that only keeps
    /// frames smaller than the input passes that much room and needs no scratch buffer at all.
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ZstdError) -> Int? {
        guard output.count > 0 else { return nil }
        let code = compressFrame(input, into: output)
        if ZSTD_isError(code) != 0, ZSTD_getErrorCode(code) == ZSTD_error_dstSize_tooSmall { return nil }
        return try Zstd.check(code, "ZSTD_compress2")
    }

    public func compress(_ input: [UInt8]) throws(ZstdError) -> [UInt8] {
        var outcome: Result<[UInt8], ZstdError> = .success([])
        input.withUnsafeBytes { bytes in
            outcome = Result { () throws(ZstdError) in try compress(bytes) }
        }
        return try outcome.get()
    }

    /// Returns the frame size or a zstd error code.
    @inline(never)
    private func compressFrame(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        // With `ZSTD_compress2` each call starts a fresh frame with the sticky parameters.
        ZSTD_compress2(cctx, output.baseAddress, output.count, input.baseAddress, input.count)
    }
}

/// Owns mutable C state; give each task its own compressor.
@available(*, unavailable)
extension ZstdCompressor: Sendable {}
