import CartaeSync

/// The two 256-entry lookup tables of restic's rolling Rabin hash for one polynomial.
///
/// - `out[b]` = fingerprint of byte b followed by 63 zero bytes: XOR-ing it removes b as it leaves
///   the 64-byte window.
/// - `mod[b]` = ((b·x^k) mod P) | (b·x^k) with k = deg P: one XOR both reduces and clears the 8 bits
///   that were shifted above the degree.
///
/// Both tables live in one 4 KiB, cache-line-aligned allocation that never changes after `init`,
/// which is why sharing it across threads is safe (hence `@unchecked Sendable`).
public final class ChunkerTables: @unchecked Sendable {
    public let polynomial: Polynomial
    /// `deg P - 8`: the digest's top 8 bits, `digest >> shift`, index `mod`.
    let shift: UInt64
    /// `out` at entries 0 ..< 256, `mod` at 256 ..< 512.
    let entries: UnsafeMutablePointer<UInt64>

    public init(polynomial: Polynomial) {
        self.polynomial = polynomial
        let degree = polynomial.degree
        // For a usable degree the digest stays below 2^deg, so digest >> (deg - 8) indexes 256 entries.
        // Any other polynomial gets meaningless cuts, but a shift of 56 still keeps every index < 256.
        self.shift = polynomial.isUsableForChunking ? UInt64(degree - 8) : 56
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 512 * MemoryLayout<UInt64>.stride, alignment: 64)
        entries = raw.bindMemory(to: UInt64.self, capacity: 512)

        for byte in 0..<256 {
            var hash = Polynomial(0).appendingByte(UInt8(byte), modulus: polynomial)
            for _ in 0..<(rollingWindowSize - 1) {
                hash = hash.appendingByte(0, modulus: polynomial)
            }
            entries[byte] = hash.value
        }
        for byte in 0..<256 {
            // Smart shifts: a degree of -1 (the zero polynomial) gives a useless table but no trap.
            let high = UInt64(byte) << degree
            entries[256 + byte] = Polynomial(high).modulo(polynomial).value | high
        }
    }

    /// Validates a polynomial from outside (a repository config) before building its tables.
    public convenience init(validating polynomial: Polynomial) throws(ChunkerError) {
        try polynomial.validateForChunking()
        self.init(polynomial: polynomial)
    }

    deinit {
        entries.deinitialize(count: 512)
        UnsafeMutableRawPointer(entries).deallocate()
    }

    /// `out[byte]`: removes `byte` from the fingerprint when it leaves the window.
    public func outEntry(_ byte: UInt8) -> UInt64 {
        entries[Int(byte)]
    }

    /// `mod[index]`: the reduction for the 8 bits above the degree.
    public func modEntry(_ index: UInt8) -> UInt64 {
        entries[256 + Int(index)]
    }

    private static let cache = Locked<[Polynomial: ChunkerTables]>([:])

    /// Tables for `polynomial`, computed once per process and shared (restic caches them the same way).
    public static func shared(for polynomial: Polynomial) -> ChunkerTables {
        if let tables = cache.withLock({ $0[polynomial] }) {
            return tables
        }
        // Build outside the lock; if another thread won the race, use its copy.
        let fresh = ChunkerTables(polynomial: polynomial)
        return cache.withLock { cached in
            if let existing = cached[polynomial] {
                return existing
            }
            cached[polynomial] = fresh
            return fresh
        }
    }
}

/// restic's window: the fingerprint covers the last 64 bytes.
let rollingWindowSize = 64
