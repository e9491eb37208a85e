// Cut points as a property of the content: for every chunk, restic only tests positions at least
// minSize (>= 64) bytes after the chunk's start, where its digest is the fingerprint of the 64 bytes
// before the position and nothing else. So the positions whose fingerprint hits the mask can be found
// for separate regions of a file independently (in parallel), and a cheap sequential pass then picks
// exactly restic's cuts from them.

extension RollingHash {
    /// Appends `e + 1` for every hit `e` in `a ..< b`, starting from `digest` at `a - 1`.
    func allHits(_ p: UnsafeRawPointer, from a: Int, to b: Int, digest: UInt64, into result: inout [Int]) {
        let count = b - a
        guard count >= Self.minLanedRange else {
            collectSequential(p, from: a, to: b, digest: digest, into: &result)
            return
        }
        let segment = count / 4
        var lanes = startLanes(p, at: a, segment: segment, digest: digest)
        // Lanes 1-3 collect separately so that the result stays in ascending order.
        var hits1: [Int] = [], hits2: [Int] = [], hits3: [Int] = []
        var remaining = segment
        while remaining > 0 {
            let done = runLanes(p, &lanes, steps: remaining)
            if done == remaining {
                break
            }
            if isHit(lanes.d0) { result.append(lanes.e0 + 1) }
            if isHit(lanes.d1) { hits1.append(lanes.e1 + 1) }
            if isHit(lanes.d2) { hits2.append(lanes.e2 + 1) }
            if isHit(lanes.d3) { hits3.append(lanes.e3 + 1) }
            lanes.e0 += 1; lanes.e1 += 1; lanes.e2 += 1; lanes.e3 += 1
            remaining -= done + 1
        }
        result += hits1
        result += hits2
        result += hits3
        collectSequential(p, from: lanes.e3, to: b, digest: lanes.d3, into: &result)
    }

    private func collectSequential(_ p: UnsafeRawPointer, from a: Int, to b: Int, digest: UInt64, into result: inout [Int]) {
        var d = digest
        var e = a
        while e < b {
            d = roll(d, in: p.load(fromByteOffset: e, as: UInt8.self),
                     out: p.load(fromByteOffset: e - rollingWindowSize, as: UInt8.self))
            if isHit(d) {
                result.append(e + 1)
            }
            e += 1
        }
    }
}

/// Every position p (64 <= p <= buffer.count, ascending) where the fingerprint of bytes p-64 ..< p has
/// its low `averageBits` bits zero: the places where restic's chunker may cut, whatever the chunk starts.
///
/// The first 64 bytes are warm-up only; to cover a region that starts at offset r of a file, pass the
/// bytes from r - 64 and add r - 64 to the positions. Runs of zero bytes hit at every position.
public func candidateCuts(in buffer: UnsafeRawBufferPointer, tables: ChunkerTables, averageBits: Int) -> [Int] {
    precondition((1...53).contains(averageBits), "chunker average bits must be 1...53, got \(averageBits)")
    guard let p = buffer.baseAddress, buffer.count >= rollingWindowSize else {
        return []
    }
    let kernel = RollingHash(tables: tables, mask: (UInt64(1) << UInt64(averageBits)) - 1)
    var result: [Int] = []
    withExtendedLifetime(tables) {
        let digest = kernel.warmUp(p, before: rollingWindowSize)
        if kernel.isHit(digest) {
            result.append(rollingWindowSize)
        }
        kernel.allHits(p, from: rollingWindowSize, to: buffer.count, digest: digest, into: &result)
    }
    return result
}

/// The chunk end offsets restic's chunker produces for `length` bytes whose candidate positions (all
/// of them, ascending, in the same coordinates) are `candidates`: from each chunk start s, the first
/// candidate in s + minSize ... s + maxSize, else s + maxSize, and `length` for the last chunk.
public func cutPositions(candidates: [Int], length: Int) -> [Int] {
    var ends: [Int] = []
    var start = 0
    var next = 0
    while start < length {
        let low = start + Chunker.minSize
        let high = min(start + Chunker.maxSize, length)
        while next < candidates.count, candidates[next] < low {
            next += 1
        }
        let end = next < candidates.count && candidates[next] <= high ? candidates[next] : high
        ends.append(end)
        start = end
    }
    return ends
}

/// Lengths of all chunks of `data` (the last one ends at EOF; none for empty input).
public func chunkLengths(of data: UnsafeRawBufferPointer, polynomial: Polynomial, averageBits: Int = 20) -> [Int] {
    var chunker = Chunker(polynomial: polynomial, averageBits: averageBits)
    var lengths: [Int] = []
    var offset = 0
    while offset < data.count {
        let rest = UnsafeRawBufferPointer(rebasing: data[offset...])
        guard let cut = chunker.scan(rest) else {
            break
        }
        lengths.append(chunker.lastCutLength)
        offset += cut
    }
    if chunker.currentChunkLength > 0 {
        lengths.append(chunker.currentChunkLength)
    }
    return lengths
}
