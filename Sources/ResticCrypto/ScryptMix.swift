#if canImport(Glibc)
import Glibc
#endif
import CartaeSync
import Synchronization

/// scrypt's ROMix (RFC 7914 §5) over the p independent lanes of B, spread over threads.
///
/// OpenSSL runs the lanes one after another; restic's calibration (p·one lane ≈ 0.5 s, with p = 8
/// typically) makes that the largest fixed cost of every command. The lanes are independent, so
/// they run on several cores here. To keep the peak memory at one lane's V (128·r·N bytes, 32 MiB
/// for restic's N = 2^15, r = 8) instead of one per thread, each of k threads stores every k-th
/// element of V and recomputes the others from the stored one before it (the scrypt paper's
/// time-memory trade-off): for k = 2 that costs a quarter more work per lane and halves the time.
/// The result is bit for bit RFC 7914's, which the tests check against OpenSSL.
enum ScryptMix {
    /// Mixes every lane of `lanes` (p blocks of 128·r bytes, as PBKDF2 produced them) in place.
    static func mix(_ lanes: UnsafeMutableRawPointer, n: Int, r: Int, p: Int, threads requested: Int) throws(CryptoError) {
        let threads = max(1, min(requested, p))
        let blockBytes = 128 * r
        // One thread keeps all of V (keepEvery 1) and starts no other.
        var workers: [Worker] = []
        defer { for worker in workers { worker.release() } }
        for _ in 0..<threads { workers.append(try Worker(n: n, r: r, keepEvery: threads)) }
        nonisolated(unsafe) let base = lanes
        // Lanes are handed out one at a time, not split up front: when another thread of the
        // process (backup's metadata scan) takes a core for a while, a fixed half would leave
        // one worker finishing alone; so the tail is at most one lane.
        let lanesTaken = LaneCounter()
        let run = { @Sendable [workers] (index: Int) in
            while true {
                let lane = lanesTaken.next.wrappingAdd(1, ordering: .relaxed).oldValue
                if lane >= p { return }
                workers[index].romix(base + lane * blockBytes)
            }
        }
        // Worker 0 runs here; a thread the system refuses runs here too, after it.
        var started: [pthread_t] = []
        var refused: [Int] = []
        for index in 1..<threads {
            if let thread = OSThread.start({ run(index) }) { started.append(thread) } else { refused.append(index) }
        }
        run(0)
        for index in refused { run(index) }
        for thread in started { pthread_join(thread, nil) }
    }

    final class LaneCounter: Sendable {
        let next = Atomic<Int>(0)
    }

    /// One thread's working memory: X, two scratch blocks, and its share of V.
    final class Worker: @unchecked Sendable {
        let n: Int
        let r: Int
        let keepEvery: Int
        /// 32-bit words per 128·r-byte block.
        let blockWords: Int
        private let scratch: UnsafeMutablePointer<UInt32>
        private let v: UnsafeMutableRawPointer
        private let vBytes: Int

        init(n: Int, r: Int, keepEvery: Int) throws(CryptoError) {
            self.n = n
            self.r = r
            self.keepEvery = keepEvery
            blockWords = 32 * r
            vBytes = (n + keepEvery - 1) / keepEvery * 128 * r
            // mmap rather than malloc: the pages go straight back to the kernel on release, and
            // the kernel zeroes them before anyone else sees them, so nothing derived from the
            // password lingers in the heap.
            let mapped = mmap(nil, vBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let mapped, mapped != MAP_FAILED else {
                throw .library("scrypt could not map \(vBytes >> 20) MiB of working memory")
            }
            // ROMix reads V at random, a 4 KiB page per read: huge pages spare the TLB misses
            // and most of the page faults. Only advice; the kernel may decline.
            _ = madvise(mapped, vBytes, MADV_HUGEPAGE)
            v = mapped
            scratch = .allocate(capacity: 3 * blockWords + 16)
        }

        func release() {
            scratch.update(repeating: 0, count: 3 * blockWords + 16)
            scratch.deallocate()
            munmap(v, vBytes)
        }

        @inline(__always) private func stored(_ index: Int) -> UnsafeMutablePointer<UInt32> {
            (v + index * blockWords * 4).assumingMemoryBound(to: UInt32.self)
        }

        func romix(_ block: UnsafeMutableRawPointer) {
            var a = scratch, b = scratch + blockWords, spare = scratch + 2 * blockWords
            for i in 0..<blockWords {
                a[i] = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            }
            let mask = n - 1
            let lastWord = (2 * r - 1) * 16
            for i in 0..<n {
                if i % keepEvery == 0 { stored(i / keepEvery).update(from: a, count: blockWords) }
                blockMix(a, xor: nil, into: b)
                swap(&a, &b)
            }
            for _ in 0..<n {
                let j = Int(a[lastWord]) & mask
                let skip = j % keepEvery
                if skip == 0 {
                    blockMix(a, xor: stored(j / keepEvery), into: b)
                    swap(&a, &b)
                    continue
                }
                // V_j = BlockMix^skip(V_(j - skip)), rebuilt in b and spare by turns.
                var rebuilt = stored(j / keepEvery)
                for step in 0..<skip {
                    let into = step & 1 == 0 ? spare : b
                    blockMix(rebuilt, xor: nil, into: into)
                    rebuilt = into
                }
                let out = rebuilt == spare ? b : spare
                blockMix(a, xor: rebuilt, into: out)
                (a, b, spare) = (out, a, rebuilt)
            }
            for i in 0..<blockWords {
                block.storeBytes(of: a[i].littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        }

        /// B' = BlockMix(B ⊕ extra): Salsa20/8 over the 2r sub-blocks, chained, evens first.
        @inline(__always)
        private func blockMix(_ input: UnsafeMutablePointer<UInt32>, xor extra: UnsafeMutablePointer<UInt32>?,
                              into output: UnsafeMutablePointer<UInt32>) {
            // The chain starts from the last sub-block of B ⊕ extra.
            let first = scratch + 3 * blockWords
            let last = (2 * r - 1) * 16
            for k in 0..<16 { first[k] = input[last + k] ^ (extra?[last + k] ?? 0) }
            var previous = UnsafePointer(first)
            for i in 0..<(2 * r) {
                let to = output + (i & 1 == 0 ? i / 2 : r + i / 2) * 16
                if let extra {
                    salsa8(previous, input + i * 16, extra + i * 16, into: to)
                } else {
                    salsa8(previous, input + i * 16, nil, into: to)
                }
                previous = UnsafePointer(to)
            }
        }
    }

    @inline(__always)
    static func rotl(_ v: UInt32, _ k: UInt32) -> UInt32 { (v << k) | (v >> (32 - k)) }

    /// out = Salsa20/8(previous ⊕ input ⊕ extra). Scalar on purpose: the four columns are four
    /// independent chains the CPU runs side by side with one-cycle `rol`s, about three times
    /// faster than SSE2 vectors, whose rotations and shuffles form one long dependency chain.
    @inline(__always)
    static func salsa8(_ previous: UnsafePointer<UInt32>, _ input: UnsafePointer<UInt32>,
                       _ extra: UnsafePointer<UInt32>?, into out: UnsafeMutablePointer<UInt32>) {
        @inline(__always) func word(_ k: Int) -> UInt32 { previous[k] ^ input[k] ^ (extra?[k] ?? 0) }
        let b0 = word(0), b1 = word(1), b2 = word(2), b3 = word(3), b4 = word(4), b5 = word(5)
        let b6 = word(6), b7 = word(7), b8 = word(8), b9 = word(9), b10 = word(10), b11 = word(11)
        let b12 = word(12), b13 = word(13), b14 = word(14), b15 = word(15)
        var x0 = b0, x1 = b1, x2 = b2, x3 = b3, x4 = b4, x5 = b5, x6 = b6, x7 = b7
        var x8 = b8, x9 = b9, x10 = b10, x11 = b11, x12 = b12, x13 = b13, x14 = b14, x15 = b15
        for _ in 0..<4 {
            // Columns.
            x4 ^= rotl(x0 &+ x12, 7); x8 ^= rotl(x4 &+ x0, 9); x12 ^= rotl(x8 &+ x4, 13); x0 ^= rotl(x12 &+ x8, 18)
            x9 ^= rotl(x5 &+ x1, 7); x13 ^= rotl(x9 &+ x5, 9); x1 ^= rotl(x13 &+ x9, 13); x5 ^= rotl(x1 &+ x13, 18)
            x14 ^= rotl(x10 &+ x6, 7); x2 ^= rotl(x14 &+ x10, 9); x6 ^= rotl(x2 &+ x14, 13); x10 ^= rotl(x6 &+ x2, 18)
            x3 ^= rotl(x15 &+ x11, 7); x7 ^= rotl(x3 &+ x15, 9); x11 ^= rotl(x7 &+ x3, 13); x15 ^= rotl(x11 &+ x7, 18)
            // Rows.
            x1 ^= rotl(x0 &+ x3, 7); x2 ^= rotl(x1 &+ x0, 9); x3 ^= rotl(x2 &+ x1, 13); x0 ^= rotl(x3 &+ x2, 18)
            x6 ^= rotl(x5 &+ x4, 7); x7 ^= rotl(x6 &+ x5, 9); x4 ^= rotl(x7 &+ x6, 13); x5 ^= rotl(x4 &+ x7, 18)
            x11 ^= rotl(x10 &+ x9, 7); x8 ^= rotl(x11 &+ x10, 9); x9 ^= rotl(x8 &+ x11, 13); x10 ^= rotl(x9 &+ x8, 18)
            x12 ^= rotl(x15 &+ x14, 7); x13 ^= rotl(x12 &+ x15, 9); x14 ^= rotl(x13 &+ x12, 13); x15 ^= rotl(x14 &+ x13, 18)
        }
        out[0] = b0 &+ x0; out[1] = b1 &+ x1; out[2] = b2 &+ x2; out[3] = b3 &+ x3
        out[4] = b4 &+ x4; out[5] = b5 &+ x5; out[6] = b6 &+ x6; out[7] = b7 &+ x7
        out[8] = b8 &+ x8; out[9] = b9 &+ x9; out[10] = b10 &+ x10; out[11] = b11 &+ x11
        out[12] = b12 &+ x12; out[13] = b13 &+ x13; out[14] = b14 &+ x14; out[15] = b15 &+ x15
    }
}
