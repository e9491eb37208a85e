import ResticCore
import ResticRepository

/// How much unused space prune may leave behind.
public enum MaxUnused: Sendable, Equatable {
    case percent(Double)
    case bytes(UInt64)
    case unlimited

    /// Parses restic's `--max-unused`: "5%", "10M", "unlimited".
    public init(parsing text: String) throws {
        if text == "unlimited" {
            self = .unlimited
        } else if text.hasSuffix("%"), let value = Double(text.dropLast()), value >= 0, value < 100 {
            self = .percent(value)
        } else if let bytes = SizeParser.parse(text) {
            self = .bytes(bytes)
        } else {
            throw ResticError.invalid("--max-unused: invalid value \"\(text)\" (use a percentage like 5%, a size like 100M, or unlimited)")
        }
    }

    func limit(used: UInt64) -> UInt64 {
        switch self {
        case .unlimited: return .max
        case .bytes(let bytes): return bytes
        case .percent(let p): return UInt64(Double(used) * p / (100 - p))
        }
    }
}

/// Sizes like restic's: a number with an optional k, m, g or t suffix (powers of 1024).
public enum SizeParser {
    public static func parse(_ text: String) -> UInt64? {
        guard let last = text.last else { return nil }
        let units: [Character: UInt64] = ["b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40]
        if let unit = units[Character(last.lowercased())] {
            return UInt64(text.dropLast()).map { $0 * unit }
        }
        return UInt64(text)
    }
}

public struct PruneSettings: Sendable {
    public var maxUnused: MaxUnused = .percent(5)
    public var maxRepackSize: UInt64?
    public var repackSmall = false
    public var repackUncompressed = false
    public var repackCacheableOnly = false
    public var packSize = 16 * 1024 * 1024
    public var dryRun = false

    public init() {}
}

/// What prune will do, decided before anything is changed (and all `--dry-run` shows).
public struct PrunePlan: Sendable {
    public struct Totals: Sendable {
        public var blobs = 0
        public var bytes: UInt64 = 0
        public init() {}
        mutating func add(_ length: UInt32) { blobs += 1; bytes += UInt64(length) }
    }

    /// Packs that stay as they are.
    public var keep: Set<ObjectID> = []
    /// Packs whose used blobs are copied into new packs before they are deleted.
    public var repack: [ObjectID] = []
    /// Indexed packs with nothing in use.
    public var remove: Set<ObjectID> = []
    /// Pack files no index lists (left over from interrupted backups).
    public var unindexed: [ObjectID] = []
    /// For each used blob stored in more than one pack, the one pack whose copy is kept (a
    /// used blob stored once is kept where it is).
    public var duplicateOwner: [BlobKey: ObjectID] = [:]

    public var used = Totals(), unused = Totals(), duplicate = Totals()
    public var toRepack = Totals(), repackRemoves = Totals(), toDelete = Totals()
    public var totallyUsedPacks = 0, partlyUsedPacks = 0, unusedPacks = 0
    public var unindexedBytes: UInt64 = 0

    public var nothingToDo: Bool { repack.isEmpty && remove.isEmpty && unindexed.isEmpty }

    /// Whether repacking `pack` copies this blob: it is used and this pack holds its kept copy.
    public func copies(_ id: ObjectID, _ type: BlobType, from pack: ObjectID, used: UsedBlobSet) -> Bool {
        guard used.contains(id, type) else { return false }
        return duplicateOwner[BlobKey(id, type)].map { $0 == pack } ?? true
    }
}
