import ResticCore

/// One problem (or remark) that `check` found, named by the file or blob it concerns.
///
/// Severities follow restic: errors make the check fail; hints (duplicate or mixed packs) and
/// notes (packs no index lists, e.g. left by an interrupted backup) do not.
public struct CheckFinding: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// An index file could not be loaded or decoded (error; check stops after the index phase).
        case indexLoad
        /// Two index files list different blobs for the same pack (error).
        case incompletePack
        /// The same pack with the same blobs in several index files (hint).
        case duplicatePack
        /// A pack holding both data and tree blobs (hint).
        case mixedPack
        /// An indexed pack that the backend does not have (error).
        case packMissing
        /// A pack whose file size differs from what its index entries add up to (error).
        case packSize
        /// A pack file that no index lists (note).
        case packUnreferenced
        /// A snapshot file that cannot be loaded (error).
        case snapshot
        /// A tree that cannot be loaded or decoded, or whose nodes are invalid (error).
        case tree
        /// Damage found while reading a pack's bytes (`--read-data`) (error).
        case packData
    }

    public enum Severity: Sendable, Equatable {
        case error, hint, note
    }

    public var kind: Kind
    /// The index file, pack, snapshot or tree concerned.
    public var subject: ObjectID
    /// The individual problems. Tree details name the tree themselves (restic's
    /// `tree ID: file "x" blob ID not found in index`); the others leave the subject out.
    public var details: [String]
    /// Other IDs involved (the index files of a duplicate or incomplete pack).
    public var related: [ObjectID]

    public init(_ kind: Kind, _ subject: ObjectID, _ details: [String], related: [ObjectID] = []) {
        self.kind = kind
        self.subject = subject
        self.details = details
        self.related = related
    }

    public var severity: Severity {
        switch kind {
        case .duplicatePack, .mixedPack: return .hint
        case .packUnreferenced: return .note
        default: return .error
        }
    }

    /// How many errors this finding counts for in the summary (restic counts each tree and
    /// pack-data problem separately).
    public var errorCount: Int {
        guard severity == .error else { return 0 }
        switch kind {
        case .tree, .packData: return max(1, details.count)
        default: return 1
        }
    }

    /// Whether the pack named by `subject` is damaged (missing, wrong size or bad bytes).
    public var isDamagedPack: Bool {
        switch kind {
        case .packMissing, .packSize, .packData, .incompletePack: return true
        default: return false
        }
    }

    /// The message as restic words it; multi-line for trees and damaged packs.
    public var description: String {
        let detail = details.joined(separator: "; ")
        let set = "{" + related.map(\.shortHex).joined(separator: " ") + "}"
        switch kind {
        case .indexLoad:
            return "error loading index \(subject.hex): \(detail)"
        case .incompletePack:
            return "pack \(subject.hex) has different data in indexes: \(set)"
        case .duplicatePack:
            return "pack \(subject.hex) contained in several indexes: \(set)"
        case .mixedPack:
            return "pack \(subject.shortHex) contains a mix of tree and data blobs"
        case .packMissing, .packSize, .packUnreferenced:
            return "pack \(subject.hex): \(detail)"
        case .snapshot:
            return "snapshot \(subject.hex): \(detail)"
        case .tree:
            return (["error for tree \(subject.shortHex):"] + details.map { "  \($0)" })
                .joined(separator: "\n")
        case .packData:
            return details.map { "pack \(subject.hex): \($0)" }.joined(separator: "\n")
        }
    }
}

/// What `check` reports while it runs: the start of each phase, and each finding.
public enum CheckEvent: Sendable, Equatable {
    case phase(CheckPhase)
    case finding(CheckFinding)
}

public enum CheckPhase: Sendable, Equatable {
    case loadIndexes
    case checkPacks
    case checkStructure
    /// `chosen` of `total` indexed packs are about to be read.
    case readData(CheckReadData, chosen: Int, total: Int, totalBytes: Int64)

    /// The progress line restic prints for this phase.
    public var description: String {
        switch self {
        case .loadIndexes: return "load indexes"
        case .checkPacks: return "check all packs"
        case .checkStructure: return "check snapshots, trees and blobs"
        case .readData(let mode, let chosen, let total, let totalBytes):
            switch mode {
            case .none, .all:
                return "read all data"
            case .subset(.bucket(let n, let t)):
                return "read group #\(n) of \(chosen) data packs (out of total \(total) packs in \(t) groups)"
            case .subset(.percentage(let p)):
                return "read \(CheckSubset.formatPercent(p))% of data packs"
            case .subset(.size(let bytes)):
                let capped = min(bytes, totalBytes)
                let percent = totalBytes > 0 ? Double(capped) / Double(totalBytes) * 100 : 100
                return "read \(capped) bytes (\(CheckSubset.formatPercent(percent))%) of data packs"
            }
        }
    }
}

/// Which pack data `check` reads besides the structure.
public enum CheckReadData: Sendable, Equatable {
    case none
    case all
    case subset(CheckSubset)
}

/// The outcome of a whole check.
public struct CheckSummary: Sendable, Equatable {
    public var errorCount = 0
    public var hintCount = 0
    /// Pack files that no index lists.
    public var unreferencedPacks = 0
    /// Packs that are missing, have the wrong size or bad bytes, sorted.
    public var brokenPacks: [ObjectID] { brokenPackSet.sorted() }
    private var brokenPackSet = Set<ObjectID>()
    /// Snapshot files that could not be loaded.
    public var brokenSnapshots: [ObjectID] = []
    /// restic's `suggest_repair_index`: duplicate packs or a damaged index.
    public var suggestRepairIndex = false
    /// restic's `suggest_prune`: mixed packs or unreferenced pack files.
    public var suggestPrune = false
    /// Packs whose bytes were read and verified.
    public var packsRead = 0

    public init() {}

    public var hasErrors: Bool { errorCount > 0 }

    mutating func record(_ finding: CheckFinding) {
        errorCount += finding.errorCount
        switch finding.kind {
        case .duplicatePack, .indexLoad: suggestRepairIndex = true
        case .mixedPack: suggestPrune = true
        case .packUnreferenced: suggestPrune = true; unreferencedPacks += 1
        case .snapshot: brokenSnapshots.append(finding.subject)
        default: break
        }
        if finding.severity == .hint { hintCount += 1 }
        if finding.isDamagedPack { brokenPackSet.insert(finding.subject) }
    }
}
