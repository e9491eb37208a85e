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
/// Entries live in one sorted array per blob type (48 bytes each, no per-entry allocation) and
/// are found by binary search; packs are referred to by a 32-bit number. This keeps a
/// multi-million-blob repository in bounded, predictable memory.
public struct MasterIndex: Sendable {
    struct Entry: Sendable {
        var id: ObjectID
        var pack: UInt32
        var offset: UInt32
        var length: UInt32
        var uncompressedLength: UInt32
    }

    private(set) var packIDs: [ObjectID] = []
    private var packNumbers: [ObjectID: UInt32] = [:]
    private var data: [Entry] = []
    private var tree: [Entry] = []
    private var sorted = true
    /// Which index file listed each pack (by pack number), for check and prune.
    public private(set) var packIndexFile: [ObjectID] = []

    public init() {}

    public var packCount: Int { packIDs.count }
    public var blobCount: Int { data.count + tree.count }
    public func blobCount(_ type: BlobType) -> Int { type == .data ? data.count : tree.count }
    public var allPacks: [ObjectID] { packIDs }

    /// Adds every pack of one index file. A pack already known from another index file keeps its
    /// first number; its blobs are added again, which only creates duplicate locations.
    public mutating func add(_ file: IndexFile, from indexID: ObjectID) {
        for pack in file.packs {
            let number: UInt32
            if let known = packNumbers[pack.id] {
                number = known
            } else {
                number = UInt32(packIDs.count)
                packIDs.append(pack.id)
                packIndexFile.append(indexID)
                packNumbers[pack.id] = number
            }
            for blob in pack.blobs {
                let entry = Entry(id: blob.id, pack: number, offset: blob.offset, length: blob.length,
                                  uncompressedLength: blob.uncompressedLength)
                if blob.type == .data { data.append(entry) } else { tree.append(entry) }
            }
        }
        sorted = false
    }

    /// Must run after the last `add` and before lookups.
    public mutating func finalize() {
        guard !sorted else { return }
        data.sort { $0.id < $1.id }
        tree.sort { $0.id < $1.id }
        sorted = true
    }

    public func contains(_ id: ObjectID, _ type: BlobType) -> Bool {
        firstIndex(of: id, in: type == .data ? data : tree) != nil
    }

    /// All stored copies of a blob (usually one).
    public func locations(of id: ObjectID, _ type: BlobType) -> [BlobLocation] {
        let table = type == .data ? data : tree
        guard var i = firstIndex(of: id, in: table) else { return [] }
        var found: [BlobLocation] = []
        while i < table.count && table[i].id == id {
            let e = table[i]
            found.append(BlobLocation(pack: packIDs[Int(e.pack)], offset: e.offset, length: e.length,
                                      uncompressedLength: e.uncompressedLength))
            i += 1
        }
        return found
    }

    public func location(of id: ObjectID, _ type: BlobType) -> BlobLocation? {
        locations(of: id, type).first
    }

    /// Visits every blob location, in ID order per type.
    public func forEach(_ body: (ObjectID, BlobType, BlobLocation) throws -> Void) rethrows {
        for (type, table) in [(BlobType.data, data), (BlobType.tree, tree)] {
            for e in table {
                try body(e.id, type, BlobLocation(pack: packIDs[Int(e.pack)], offset: e.offset,
                                                  length: e.length, uncompressedLength: e.uncompressedLength))
            }
        }
    }

    private func firstIndex(of id: ObjectID, in table: [Entry]) -> Int? {
        precondition(sorted, "MasterIndex.finalize() must run before lookups")
        var low = 0, high = table.count
        while low < high {
            let mid = (low + high) / 2
            if table[mid].id < id { low = mid + 1 } else { high = mid }
        }
        return low < table.count && table[low].id == id ? low : nil
    }
}
