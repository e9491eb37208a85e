/// The per-byte kernels of restic's rolling hash, over raw memory.
///
/// Once 64 bytes have been rolled in, the digest is a function of the last 64 bytes alone. So instead
/// of one serial dependency chain (xor, shift, table load, xor per byte: about 8 cycles of latency),
/// a range is split into four lanes whose digests are computed interleaved; lanes 1-3 first roll in the
/// 64 bytes before their start, and the CPU overlaps the four independent chains.
///
/// Positions are byte indices `e`: "the digest at e" is the fingerprint of bytes `e-63 ... e`, the
/// state right after byte e was rolled in. Callers guarantee that `e - 64 >= 0` for every `e` scanned
/// and that those bytes are readable.
struct RollingHash {
    let out: UnsafePointer<UInt64>
    let mod: UnsafePointer<UInt64>
    let shift: UInt64
    let mask: UInt64

    /// Ranges shorter than this are scanned in one lane: lane warm-up (3 × 64 bytes) would not pay off.
    static let minLanedRange = 2048

    init(tables: ChunkerTables, mask: UInt64) {
        out = UnsafePointer(tables.entries)
        mod = UnsafePointer(tables.entries + 256)
        shift = tables.shift
        self.mask = mask
    }

    /// Slides `incoming` in and `outgoing` (the byte 64 positions earlier) out.
    ///
    /// No bounds check is needed on `mod`: for a usable degree the digest stays below 2^deg, so
    /// `digest >> (deg - 8)` < 256, and `ChunkerTables` uses a shift of 56 for any other polynomial.
    @inline(__always)
    func roll(_ digest: UInt64, in incoming: UInt8, out outgoing: UInt8) -> UInt64 {
        let removed = digest ^ out[Int(outgoing)]
        return ((removed &<< 8) | UInt64(incoming)) ^ mod[Int(truncatingIfNeeded: removed &>> shift)]
    }

    /// Rolls a byte into a digest whose leaving byte is zero (`out[0]` is 0), as during warm-up.
    @inline(__always)
    func append(_ digest: UInt64, _ incoming: UInt8) -> UInt64 {
        ((digest &<< 8) | UInt64(incoming)) ^ mod[Int(truncatingIfNeeded: digest &>> shift)]
    }

    /// Fingerprint of the 64 bytes before `position`, computed from scratch.
    func warmUp(_ p: UnsafeRawPointer, before position: Int) -> UInt64 {
        var digest: UInt64 = 0
        var e = position &- rollingWindowSize
        while e < position {
            digest = append(digest, p.load(fromByteOffset: e, as: UInt8.self))
            e &+= 1
        }
        return digest
    }

    @inline(__always)
    func isHit(_ digest: UInt64) -> Bool {
        digest & mask == 0
    }

    /// Scans `a ..< b` one byte at a time from `digest` (the digest at a - 1). Returns the first hit
    /// and leaves `digest` at it, or nil with `digest` at b - 1.
    func firstHitSequential(_ p: UnsafeRawPointer, from a: Int, to b: Int, digest: inout UInt64) -> Int? {
        var d = digest
        var e = a
        while e < b {
            d = roll(d, in: p.load(fromByteOffset: e, as: UInt8.self),
                     out: p.load(fromByteOffset: e &- rollingWindowSize, as: UInt8.self))
            if isHit(d) {
                digest = d
                return e
            }
            e &+= 1
        }
        digest = d
        return nil
    }

    /// Like `firstHitSequential`, four lanes at a time.
    func firstHit(_ p: UnsafeRawPointer, from a: Int, to b: Int, digest: inout UInt64) -> Int? {
        let count = b - a
        if count < Self.minLanedRange {
            return firstHitSequential(p, from: a, to: b, digest: &digest)
        }
        let segment = count / 4
        var lanes = startLanes(p, at: a, segment: segment, digest: digest)
        let done = runLanes(p, &lanes, steps: segment)
        if done < segment {
            return resolveHit(p, lanes: lanes, remaining: segment - done, digest: &digest)
        }
        // No lane hit; the tail after the four segments continues lane 3.
        digest = lanes.d3
        return firstHitSequential(p, from: lanes.e3, to: b, digest: &digest)
    }

    /// Four lanes: the byte each rolls next (`e0 ... e3`, ascending) and its digest so far.
    struct Lanes {
        var e0, e1, e2, e3: Int
        var d0, d1, d2, d3: UInt64
    }

    /// Lane 0 continues from `digest`; lanes 1-3 start `segment`, 2·`segment`, 3·`segment` later, warmed up.
    func startLanes(_ p: UnsafeRawPointer, at a: Int, segment: Int, digest: UInt64) -> Lanes {
        let s1 = a + segment, s2 = s1 + segment, s3 = s2 + segment
        return Lanes(e0: a, e1: s1, e2: s2, e3: s3,
                     d0: digest, d1: warmUp(p, before: s1), d2: warmUp(p, before: s2), d3: warmUp(p, before: s3))
    }

    /// Rolls the lanes up to `steps` bytes each. Returns the steps completed: fewer than `steps` means
    /// some lane hit at the byte `e` it now points at, with its digest at that byte.
    func runLanes(_ p: UnsafeRawPointer, _ lanes: inout Lanes, steps: Int) -> Int {
        // restic's parameters as literals let the compiler use immediates and keep more in registers.
        if shift == 45, mask == 0xF_FFFF {
            return runLanes(p, &lanes, steps: steps, shift: 45, mask: 0xF_FFFF)
        }
        return runLanes(p, &lanes, steps: steps, shift: shift, mask: mask)
    }

    @inline(__always)
    private func runLanes(_ p: UnsafeRawPointer, _ lanes: inout Lanes, steps: Int, shift: UInt64, mask m: UInt64) -> Int {
        let outTable = out, modTable = mod
        @inline(__always)
        func roll(_ digest: UInt64, _ q: UnsafeRawPointer) -> UInt64 {
            let removed = digest ^ outTable[Int(q.load(fromByteOffset: -rollingWindowSize, as: UInt8.self))]
            return ((removed &<< 8) | UInt64(q.load(as: UInt8.self))) ^ modTable[Int(truncatingIfNeeded: removed &>> shift)]
        }
        var q0 = p + lanes.e0, q1 = p + lanes.e1, q2 = p + lanes.e2, q3 = p + lanes.e3
        var d0 = lanes.d0, d1 = lanes.d1, d2 = lanes.d2, d3 = lanes.d3
        var j = 0
        while j < steps {
            d0 = roll(d0, q0)
            d1 = roll(d1, q1)
            d2 = roll(d2, q2)
            d3 = roll(d3, q3)
            if d0 & m == 0 || d1 & m == 0 || d2 & m == 0 || d3 & m == 0 {
                break
            }
            q0 += 1; q1 += 1; q2 += 1; q3 += 1
            j &+= 1
        }
        lanes = Lanes(e0: lanes.e0 &+ j, e1: lanes.e1 &+ j, e2: lanes.e2 &+ j, e3: lanes.e3 &+ j,
                      d0: d0, d1: d1, d2: d2, d3: d3)
        return j
    }

    /// Some lane hit; each lane has `remaining` bytes left including the one it points at. Lanes cover
    /// increasing positions, so a hit in lane k only stands if the rest of every lane before k has none.
    private func resolveHit(_ p: UnsafeRawPointer, lanes: Lanes, remaining: Int, digest: inout UInt64) -> Int? {
        let positions = [lanes.e0, lanes.e1, lanes.e2, lanes.e3]
        let digests = [lanes.d0, lanes.d1, lanes.d2, lanes.d3]
        // runLanes stops early only on a hit, so if lanes 0-2 did not hit, lane 3 did.
        let hitLane = digests.prefix(3).firstIndex(where: isHit) ?? 3
        for lane in 0..<hitLane {
            var d = digests[lane]
            let e = positions[lane]
            if let hit = firstHit(p, from: e + 1, to: e + remaining, digest: &d) {
                digest = d
                return hit
            }
        }
        digest = digests[hitLane]
        return positions[hitLane]
    }
}
