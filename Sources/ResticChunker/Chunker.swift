/// restic's content-defined chunker (`restic/chunker` `NextSplitPoint`), streaming: one per file.
///
/// Per chunk: the first `minSize - 64` bytes are only counted; from then on each byte is rolled into
/// the 64-byte window, and the chunk ends after the byte at which it has at least `minSize` bytes and
/// either the digest has its low `averageBits` bits zero or the chunk has reached `maxSize`. The cut
/// points do not depend on how the input is split into buffers.
public struct Chunker: Sendable {
    public static let minSize = 512 * 1024
    public static let maxSize = 8 * 1024 * 1024

    /// Past the first 64 hashed bytes, buffers are scanned in blocks of this size, so that the lanes
    /// run past a cut by at most one block.
    static let blockSize = 64 * 1024

    public let tables: ChunkerTables
    public let averageBits: Int
    let mask: UInt64

    private var count = 0
    /// The digest so far, which restic reports as the last chunk's `Cut` at EOF (1 right after a reset,
    /// which slides one byte of value 1 in).
    public private(set) var digest: UInt64 = 1
    /// Digest at the last cut (restic's `Chunk.Cut`).
    public private(set) var lastCutDigest: UInt64 = 0
    /// Length of the chunk ended by the last cut.
    public private(set) var lastCutLength = 0
    /// The window, oldest byte first; only read and written at buffer boundaries.
    private var window: Window = Chunker.resetWindow

    typealias Window = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    /// Zeros with a final byte 1: the state after restic's reset slides one byte of value 1 in.
    private static let resetWindow: Window = (0, 0, 0, 0, 0, 0, 0, (UInt64(1) << 56).littleEndian)

    /// `averageBits` must be 1 ... 53 (restic: 20); validate polynomials from a config with
    /// `Polynomial.validateForChunking()` first.
    public init(polynomial: Polynomial, averageBits: Int = 20) {
        self.init(tables: ChunkerTables.shared(for: polynomial), averageBits: averageBits)
    }

    public init(tables: ChunkerTables, averageBits: Int = 20) {
        precondition((1...53).contains(averageBits), "chunker average bits must be 1...53, got \(averageBits)")
        self.tables = tables
        self.averageBits = averageBits
        self.mask = (UInt64(1) << UInt64(averageBits)) - 1
    }

    /// Starts a new file: drops the current chunk.
    public mutating func reset() {
        count = 0
        digest = 1
        window = Self.resetWindow
    }

    /// Bytes of the current chunk scanned so far.
    public var currentChunkLength: Int {
        count
    }

    /// Scans `buffer` (bytes that follow what was scanned before). Returns the index just after a cut
    /// point inside `buffer` (the chunk ends there and the state is reset for the next chunk; call again
    /// with the rest; `lastCutLength` and `lastCutDigest` describe the chunk), or nil if the whole buffer
    /// belongs to the current chunk. At EOF the current chunk (if `currentChunkLength > 0`) is the last one.
    public mutating func scan(_ buffer: UnsafeRawBufferPointer) -> Int? {
        guard let p = buffer.baseAddress, buffer.count > 0 else {
            return nil
        }
        let length = buffer.count
        var start = 0
        let hashStart = Self.minSize - rollingWindowSize
        if count < hashStart {
            start = min(hashStart - count, length)
            count += start
            if start == length {
                return nil
            }
        }
        // count < maxSize here (a chunk that reaches it is cut), so at least one byte gets hashed.
        let end = min(length, start + (Self.maxSize - count))
        let cut = withExtendedLifetime(tables) {
            hash(p, from: start, to: end, kernel: RollingHash(tables: tables, mask: mask))
        }
        if let cut {
            return cut
        }
        if count >= Self.maxSize {
            return cutAfter(end - 1, digest: digest, length: count)
        }
        return nil
    }

    /// Rolls bytes `start ..< end` in (the chunk's hashed part), returning the cut index if one is hit.
    /// Without a cut, leaves `count`, `digest` and `window` describing the state after `end - 1`.
    private mutating func hash(_ p: UnsafeRawPointer, from start: Int, to end: Int, kernel: RollingHash) -> Int? {
        let countBefore = count
        var d = digest
        // The first 64 bytes take their leaving bytes from the saved window.
        let windowEnd = min(end, start + rollingWindowSize)
        let oldWindow = window
        let earlyCut: Int? = withUnsafeBytes(of: oldWindow) { saved in
            var e = start
            while e < windowEnd {
                d = kernel.roll(d, in: p.load(fromByteOffset: e, as: UInt8.self), out: saved[e - start])
                if countBefore + (e - start + 1) >= Self.minSize, kernel.isHit(d) {
                    return e
                }
                e += 1
            }
            return nil
        }
        if let earlyCut {
            return cutAfter(earlyCut, digest: d, length: countBefore + (earlyCut - start + 1))
        }
        // From here on each window lies inside the buffer and every position is checked: the skip
        // leaves exactly 64 hashed bytes before minSize, so count >= minSize after 64 hashed bytes.
        var blockStart = windowEnd
        while blockStart < end {
            let blockEnd = min(end, blockStart + Self.blockSize)
            if let e = kernel.firstHit(p, from: blockStart, to: blockEnd, digest: &d) {
                return cutAfter(e, digest: d, length: countBefore + (e - start + 1))
            }
            blockStart = blockEnd
        }
        count = countBefore + (end - start)
        digest = d
        saveWindow(p, hashedFrom: start, to: end)
        return nil
    }

    private mutating func cutAfter(_ position: Int, digest cutDigest: UInt64, length: Int) -> Int {
        lastCutDigest = cutDigest
        lastCutLength = length
        reset()
        return position + 1
    }

    /// Keeps the last 64 hashed bytes (old window, then this buffer's bytes), oldest first.
    private mutating func saveWindow(_ p: UnsafeRawPointer, hashedFrom start: Int, to end: Int) {
        let hashed = end - start
        withUnsafeMutableBytes(of: &window) { w in
            guard let wBase = w.baseAddress else { return }
            if hashed >= rollingWindowSize {
                wBase.copyMemory(from: p + (end - rollingWindowSize), byteCount: rollingWindowSize)
            } else {
                let kept = rollingWindowSize - hashed
                wBase.copyMemory(from: wBase + hashed, byteCount: kept)
                (wBase + kept).copyMemory(from: p + start, byteCount: hashed)
            }
        }
    }
}
