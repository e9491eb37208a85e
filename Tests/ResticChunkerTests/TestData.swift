import ResticChunker

/// Deterministic inputs that the Go vectors were generated from (the same definitions were written in
/// Go and run through Debian's restic/chunker to produce the expected cuts).
enum TestData {
    static let testPolynomial = Polynomial(0x3DA3358B4DC173)
    static let mebibyte = 1024 * 1024

    /// 32-bit LCG words, little-endian: s = s·1664525 + 1013904223 before each word is written.
    /// Returns the bytes and the generator state after the last word.
    static func lcg(seed: UInt32, count: Int) -> (bytes: [UInt8], state: UInt32) {
        var bytes = [UInt8](repeating: 0, count: count)
        var s = seed
        var i = 0
        while i < count {
            s = s &* 1664525 &+ 1013904223
            for k in 0..<min(4, count - i) {
                bytes[i + k] = UInt8(truncatingIfNeeded: s >> UInt32(8 * k))
            }
            i += 4
        }
        return (bytes, s)
    }

    /// 20 MiB from the LCG with seed 1 (REPO_FORMAT_NOTES §13: starts 6c59883c db85885e).
    static let lcg20MiB: [UInt8] = lcg(seed: 1, count: 20 * mebibyte).bytes

    /// Random runs, zero runs (a hit at every position), a 0xAB run (no hit: the MaxSize path) and odd sizes.
    static let mixed: [UInt8] = {
        var out: [UInt8] = []
        let a = lcg(seed: 7, count: 3 * mebibyte + 13)
        out += a.bytes
        out += [UInt8](repeating: 0, count: mebibyte)
        let b = lcg(seed: a.state, count: 2 * mebibyte + 1)
        out += b.bytes
        out += [UInt8](repeating: 0xAB, count: 9 * mebibyte)
        let c = lcg(seed: b.state, count: 700 * 1024)
        out += c.bytes
        out += [UInt8](repeating: 0, count: 600 * 1024 + 5)
        out += lcg(seed: c.state, count: 1500 * 1024 + 3).bytes
        return out
    }()

    /// SplitMix64, for polynomial words and piece sizes.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// A chunk as restic/chunker reports it: length and the digest at its end (`Chunk.Cut`).
struct ChunkVector: Equatable, CustomStringConvertible {
    let length: Int
    let cut: UInt64
    var description: String { "(\(length), 0x\(String(cut, radix: 16)))" }
}

/// Chunks `data` by feeding the chunker pieces of the given sizes (cycled); the last chunk's cut is
/// the digest at EOF, as in restic.
func chunkVectors(_ data: [UInt8], polynomial: Polynomial = TestData.testPolynomial, averageBits: Int = 20,
                  pieceSizes: [Int] = [Int.max]) -> [ChunkVector] {
    var chunker = Chunker(polynomial: polynomial, averageBits: averageBits)
    var result: [ChunkVector] = []
    data.withUnsafeBytes { all in
        var offset = 0
        var piece = 0
        while offset < all.count {
            let size = min(pieceSizes[piece % pieceSizes.count], all.count - offset)
            piece += 1
            var buffer = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + size)])
            while let cut = chunker.scan(buffer) {
                result.append(ChunkVector(length: chunker.lastCutLength, cut: chunker.lastCutDigest))
                buffer = UnsafeRawBufferPointer(rebasing: buffer[cut...])
            }
            offset += size
        }
    }
    if chunker.currentChunkLength > 0 {
        result.append(ChunkVector(length: chunker.currentChunkLength, cut: chunker.digest))
    }
    return result
}
