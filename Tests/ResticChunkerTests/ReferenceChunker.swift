import ResticChunker

/// restic/chunker's loop written the plain way (ring window, one byte at a time, no skipping tricks
/// beyond restic's own), to check the fast chunker against on inputs that have no published vectors.
struct ReferenceChunker {
    let tables: ChunkerTables
    let mask: UInt64
    let shift: UInt64

    init(polynomial: Polynomial, averageBits: Int) {
        tables = ChunkerTables(polynomial: polynomial)
        mask = (1 << UInt64(averageBits)) - 1
        shift = UInt64(polynomial.degree - 8)
    }

    func chunks(_ data: [UInt8]) -> [ChunkVector] {
        var result: [ChunkVector] = []
        var window = [UInt8](repeating: 0, count: 64)
        var wpos = 0
        var digest: UInt64 = 0
        var count = 0
        var pre = 0

        func slide(_ b: UInt8) {
            let out = window[wpos]
            window[wpos] = b
            digest ^= tables.outEntry(out)
            wpos = (wpos + 1) % 64
            let index = UInt8(digest >> shift)
            digest = (digest << 8) | UInt64(b)
            digest ^= tables.modEntry(index)
        }
        func reset() {
            window = [UInt8](repeating: 0, count: 64)
            wpos = 0
            digest = 0
            count = 0
            slide(1)
            pre = Chunker.minSize - 64
        }

        reset()
        for b in data {
            count += 1
            if pre > 0 {
                pre -= 1
                continue
            }
            slide(b)
            if count >= Chunker.minSize, digest & mask == 0 || count >= Chunker.maxSize {
                result.append(ChunkVector(length: count, cut: digest))
                reset()
            }
        }
        if count > 0 {
            result.append(ChunkVector(length: count, cut: digest))
        }
        return result
    }
}
