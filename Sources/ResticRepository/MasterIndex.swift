#if canImport(Glibc)
import Glibc
#endif
import ResticCore

/// Where one blob is stored.
public struct BlobLocation: Sendable, Hashable {
    public var pack: ObjectID
    public var offset: UInt32
    public var length: UInt32
    /// 0 when the blob is stored uncompressed.
    public var uncompressedLength: UInt32

    public init(pack: ObjectID, offset: UInt32, length: UInt32, uncompressedLength: UInt32) {
        self.pack = pack
        self.offset = offset
        self.length = length
        self.uncompressedLength = uncompressedLength
    }

    public var isCompressed: Bool { uncompressedLength != 0 }
    /// The plaintext size: the stored length minus the crypto overhead, or the uncompressed length.
    public var plaintextLength: Int { isCompressed ? Int(uncompressedLength) : Int(length) - 32 }
}

/// The in-memory index of every blob in the repository.
///
/// Per blob type, one flat array of 48-byte entries sorted by ID, and a directory of 32-bit
/// positions indexed by the top bits of the ID (about one slot per 8 entries). A lookup reads one
/// slot and searches its bucket from where the ID's next bits place it; IDs are SHA-256 digests,
/// so buckets stay even. Packs are numbered with 32 bits. At 10 million blobs this costs 49-51
/// bytes per blob, against 89 malloc'd for arrays grown by appending (`Benchmarks/README.md`).
public struct MasterIndex: Sendable {
    struct Entry: Sendable {
        var id: ObjectID
        var pack: UInt32
        var offset: UInt32
        var length: UInt32
        var uncompressedLength: UInt32
    }

    private(set) var packIDs: [ObjectID] = []
    /// Pack numbers by ID, only while adding: `finalize` drops it (about 50 bytes per pack) and a
    /// later `add` rebuilds it.
    private var packNumbers: [ObjectID: UInt32] = [:]
    /// Which index file listed each pack, as a number into `indexFileIDs`.
    private var packIndexFileNumbers: [UInt32] = []
    private var indexFileIDs: [ObjectID] = []
    private var data = BlobTable()
    private var tree = BlobTable()

    public init() {}

    public var packCount: Int { packIDs.count }
    public var blobCount: Int { data.count + tree.count }
    public func blobCount(_ type: BlobType) -> Int { type == .data ? data.count : tree.count }
    public var allPacks: [ObjectID] { packIDs }
    /// The index files that listed at least one pack.
    public var indexFiles: [ObjectID] { indexFileIDs }
    /// Which index file listed each pack (by pack number), for check and prune.
    public var packIndexFile: [ObjectID] { packIndexFileNumbers.map { indexFileIDs[Int($0)] } }

    /// Adds every pack of one index file. A pack already known from another index file keeps its
    /// first number; its blobs are added again, which only creates duplicate locations.
    public mutating func add(_ file: IndexFile, from indexID: ObjectID) {
        if packNumbers.count != packIDs.count {
            packNumbers = Dictionary(uniqueKeysWithValues: packIDs.enumerated().map { ($1, UInt32($0)) })
        }
        let fileNumber = UInt32(indexFileIDs.count)
        var listedNewPack = false
        for pack in file.packs {
            let number: UInt32
            if let known = packNumbers[pack.id] {
                number = known
            } else {
                number = UInt32(packIDs.count)
                packIDs.append(pack.id)
                packIndexFileNumbers.append(fileNumber)
                packNumbers[pack.id] = number
                listedNewPack = true
            }
            for blob in pack.blobs {
                let entry = Entry(id: blob.id, pack: number, offset: blob.offset, length: blob.length,
                                  uncompressedLength: blob.uncompressedLength)
                if blob.type == .data { data.append(entry) } else { tree.append(entry) }
            }
        }
        if listedNewPack { indexFileIDs.append(indexID) }
    }

    /// Must run after the last `add` and before lookups.
    public mutating func finalize() {
        data.finalize()
        tree.finalize()
        packNumbers = [:]
        packIDs.shrinkToFit()
        packIndexFileNumbers.shrinkToFit()
    }

    // The tables are used in place (`type == .data ? data : tree` would copy one, which costs
    // three retains and releases per lookup).
    public func contains(_ id: ObjectID, _ type: BlobType) -> Bool {
        (type == .data ? data.firstIndex(of: id) : tree.firstIndex(of: id)) != nil
    }

    /// All stored copies of a blob (usually one), by pack number (the order packs were added in).
    public func locations(of id: ObjectID, _ type: BlobType) -> [BlobLocation] {
        (type == .data ? data.entries(of: id) : tree.entries(of: id)).map { location($0) }
    }

    public func location(of id: ObjectID, _ type: BlobType) -> BlobLocation? {
        // Not `.map(location)`: a partially applied method allocates a context per call.
        guard let entry = type == .data ? data.first(id) : tree.first(id) else { return nil }
        return location(entry)
    }

    /// Visits every blob location, in ID order per type.
    public func forEach(_ body: (ObjectID, BlobType, BlobLocation) throws -> Void) rethrows {
        for (type, table) in [(BlobType.data, data), (BlobType.tree, tree)] {
            try table.forEach { try body($0.id, type, location($0)) }
        }
    }

    private func location(_ e: Entry) -> BlobLocation {
        BlobLocation(pack: packIDs[Int(e.pack)], offset: e.offset, length: e.length,
                     uncompressedLength: e.uncompressedLength)
    }
}

/// The entries of one blob type: appended in segments, then sorted into one exact-size array.
struct BlobTable: Sendable {
    typealias Entry = MasterIndex.Entry

    /// Sorted by ID, then by pack number and offset (copies of a blob in several packs).
    private(set) var entries: [Entry] = []
    /// `directory[b] ..< directory[b + 1]` holds the entries whose ID starts with the `bits`-bit
    /// prefix b.
    private var directory: [UInt32] = [0, 0]
    private var bits = 0
    /// Entries added since the last `finalize`, in order. Fixed-size segments rather than one
    /// growing array: no copy on growth and no doubled capacity. A full segment (48 MiB) is above
    /// glibc's largest mmap threshold, so freeing it returns its memory to the system at once.
    private var pending: [[Entry]] = []
    private var pendingCount = 0

    static let segmentSize = 1 << 20

    var count: Int { entries.count + pendingCount }

    mutating func append(_ entry: Entry) {
        if pending.isEmpty || pending[pending.count - 1].count >= Self.segmentSize {
            pending.append([])
            if pendingCount > 0 { pending[pending.count - 1].reserveCapacity(Self.segmentSize) }
        }
        pending[pending.count - 1].append(entry)
        pendingCount += 1
    }

    /// One ID prefix bit per doubling of the entry count past 16, so a bucket holds 8-16 entries
    /// on average and the directory costs at most half a byte per entry.
    static func directoryBits(for count: Int) -> Int {
        let buckets = count / 8
        return buckets < 2 ? 0 : min(30, Int.bitWidth - 1 - buckets.leadingZeroBitCount)
    }

    @inline(__always)
    private static func bucket(_ id: ObjectID, bits: Int) -> Int {
        bits == 0 ? 0 : Int(truncatingIfNeeded: id.w0 &>> UInt64(64 - bits))
    }

    /// Sorts everything added so far in place, so that memory peaks at about one copy of the
    /// entries: the segments are moved into the final array one by one (each freed once moved),
    /// permuted into their ID-prefix buckets, then each small bucket is sorted. A stable scatter
    /// into a second array would be simpler but would double the peak.
    mutating func finalize() {
        guard pendingCount > 0 else { return }
        let total = count
        precondition(total <= Int(UInt32.max), "MasterIndex holds at most 2^32 - 1 blobs of a type")
        var segments = pending
        pending = []
        pendingCount = 0
        if !entries.isEmpty { segments.insert(entries, at: 0) }
        entries = []
        var all = [Entry](unsafeUninitializedCapacity: total) { buffer, initialized in
            Self.adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            for s in segments.indices {
                let moved = UnsafeMutableBufferPointer(rebasing: buffer[initialized...])
                initialized += moved.initialize(fromContentsOf: segments[s])
                segments[s] = []
            }
        }

        let bits = Self.directoryBits(for: total)
        var starts = [UInt32](repeating: 0, count: (1 << bits) + 1)
        for e in all { starts[Self.bucket(e.id, bits: bits) + 1] += 1 }
        for b in 1..<starts.count { starts[b] += starts[b - 1] }
        all.withUnsafeMutableBufferPointer { a in
            // Two levels, so that each pass's moves stay within a cache-sized region: first by the
            // top 8 prefix bits into 256 partitions, then each partition by the remaining bits.
            let low = max(0, bits - 8)
            Self.permute(a, starts: starts, buckets: 0, 1 << bits, shift: low, bits: bits)
            if low > 0 {
                for p in 0..<(1 << (bits - low)) {
                    Self.permute(a, starts: starts, buckets: p << low, (p + 1) << low, shift: 0, bits: bits)
                }
            }
            for b in 0..<(starts.count - 1) {
                Self.sortBucket(UnsafeMutableBufferPointer(rebasing: a[Int(starts[b])..<Int(starts[b + 1])]))
            }
        }
        entries = all
        directory = starts
        self.bits = bits
    }

    /// Lookups land at random in the table: with 4 KiB pages nearly each one also misses the TLB
    /// (twice the walk under a hypervisor). Asked before the pages are touched, Linux backs the
    /// table with 2 MiB pages where transparent huge pages are in "madvise" mode.
    private static func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        let huge = 2 << 20
        guard buffer.count >= 2 * huge, let base = buffer.baseAddress else { return }
        let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(huge - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
        #endif
    }

    /// Groups the entries of buckets `first ..< end`, which fill `a[starts[first] ..< starts[end]]`,
    /// by bucket >> `shift` (American flag sort: every swap puts one entry in its group).
    private static func permute(_ a: UnsafeMutableBufferPointer<Entry>, starts: [UInt32], buckets first: Int, _ end: Int,
                                shift: Int, bits: Int) {
        let groups = (end - first) >> shift
        var next = (0..<groups).map { starts[first + $0 << shift] }
        for g in 0..<groups {
            let groupEnd = starts[first + (g + 1) << shift]
            while next[g] < groupEnd {
                let i = Int(next[g])
                let target = (bucket(a[i].id, bits: bits) - first) >> shift
                if target == g {
                    next[g] += 1
                } else {
                    a.swapAt(i, Int(next[target]))
                    next[target] += 1
                }
            }
        }
    }

    @inline(__always)
    private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        if a.id != b.id { return a.id < b.id }
        return (a.pack, a.offset) < (b.pack, b.offset)
    }

    private static func sortBucket(_ slots: UnsafeMutableBufferPointer<Entry>) {
        var bucket = slots
        guard bucket.count > 1 else { return }
        if bucket.count > 32 {
            // Only for IDs that are not digests (tests).
            bucket.sort(by: precedes)
            return
        }
        for i in 1..<bucket.count {
            let e = bucket[i]
            var j = i
            while j > 0 && precedes(e, bucket[j - 1]) {
                bucket[j] = bucket[j - 1]
                j -= 1
            }
            bucket[j] = e
        }
    }

    /// The position of the first entry with this ID. IDs are uniform, so the search starts where
    /// the ID's next bits place it within its bucket and walks a few entries from there, which
    /// usually touches one or two cache lines.
    func firstIndex(of id: ObjectID) -> Int? {
        precondition(pendingCount == 0, "MasterIndex.finalize() must run before lookups")
        let b = Self.bucket(id, bits: bits)
        return directory.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { table in
                let low = Int(slots[b]), high = Int(slots[b + 1])
                guard low < high else { return nil }
                // The 32 bits after the prefix, as a fraction of the bucket.
                let fraction = (id.w0 &<< UInt64(bits)) &>> 32
                let guess = low + Int(truncatingIfNeeded: (UInt64(high - low) &* fraction) &>> 32)
                // The first entry not below `id` is in lo ... hi.
                var lo = low, hi = high
                let forward = table[guess].id < id
                if forward { lo = guess + 1 } else { hi = guess }
                var steps = 0
                while lo < hi && steps < 4 {
                    if forward {
                        if table[lo].id < id { lo += 1 } else { hi = lo }
                    } else {
                        if table[hi - 1].id < id { lo = hi } else { hi -= 1 }
                    }
                    steps += 1
                }
                // IDs that are not uniform (crafted or from tests) end up here.
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if table[mid].id < id { lo = mid + 1 } else { hi = mid }
                }
                let i = lo
                return i < high && table[i].id == id ? i : nil
            }
        }
    }

    func first(_ id: ObjectID) -> Entry? {
        firstIndex(of: id).map { entries[$0] }
    }

    func entries(of id: ObjectID) -> ArraySlice<Entry> {
        guard let first = firstIndex(of: id) else { return [] }
        var end = first + 1
        while end < entries.count && entries[end].id == id { end += 1 }
        return entries[first..<end]
    }

    func forEach(_ body: (Entry) throws -> Void) rethrows {
        for e in entries { try body(e) }
        for segment in pending {
            for e in segment { try body(e) }
        }
    }
}

extension Array {
    /// Drops spare capacity left by appending (up to half the array) once it stops growing.
    fileprivate mutating func shrinkToFit() {
        guard capacity > count + count / 16 + 16 else { return }
        self = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: self)
        }
    }
}
