import ResticCore
import ResticRepository
import CartaeSync

/// restic's `check`: verifies that the index agrees with the pack files, that every tree
/// reachable from a snapshot loads and names only indexed blobs, and optionally that the pack
/// bytes themselves are intact.
///
/// Memory stays bounded for large repositories: the master index (48 bytes per blob), one small
/// record per pack, the set of tree IDs already visited, and for `--read-data` a bounded window
/// of each pack being read. Trees are checked and dropped, never kept.
public struct Checker: Sendable {
    public let repository: Repository
    /// How many index files, trees or packs are worked on at once.
    public var concurrency: Int
    /// Pack digests computed ahead (see `PackDigests`); the read phase hashes the rest.
    public var packDigests: PackDigests?

    public init(repository: Repository, concurrency: Int? = nil) {
        self.repository = repository
        self.concurrency = max(1, concurrency ?? max(4, repository.backend.connections * 2))
    }

    /// Runs every phase in restic's order and reports phases and findings as they happen.
    /// A damaged index stops the check after the index phase, as in restic. `generator` picks
    /// the packs of a random `--read-data-subset`.
    public func run(readData: CheckReadData = .none, using generator: inout some RandomNumberGenerator,
                    report: (CheckEvent) -> Void) async throws -> CheckSummary {
        var summary = CheckSummary()
        func record(_ finding: CheckFinding) {
            summary.record(finding)
            report(.finding(finding))
        }

        report(.phase(.loadIndexes))
        let index = try await loadIndex(report: record)
        if !index.failedFiles.isEmpty { return summary }

        report(.phase(.checkPacks))
        try await checkPacks(index, report: record)

        report(.phase(.checkStructure))
        guard readData != .none else {
            try await checkStructure(index, report: record)
            return summary
        }
        let sizes = index.packs.mapValues(\.size)
        let chosen: [ObjectID]
        switch readData {
        case .none, .all: chosen = sizes.keys.sorted()
        case .subset(let subset): chosen = subset.select(from: sizes, using: &generator)
        }
        // The packs are read while the trees are walked: walking them leaves a core idle much
        // of the time (one tree waits on the next). What reading finds meanwhile is held back
        // and reported after the structure's findings, in restic's order.
        let heldBack = Locked<[CheckFinding]>([])
        let checker = self
        async let packsRead = checker.readPacks(chosen, index: index) { finding in heldBack.withLock { $0.append(finding) } }
        try await checkStructure(index, report: record)
        let totalBytes = sizes.values.reduce(Int64(0), +)
        report(.phase(.readData(readData, chosen: chosen.count, total: sizes.count, totalBytes: totalBytes)))
        let read = try await packsRead
        for finding in heldBack.withLock({ $0 }) { record(finding) }
        summary.packsRead = read
        return summary
    }

    public func run(readData: CheckReadData = .none, report: (CheckEvent) -> Void) async throws -> CheckSummary {
        var generator = SystemRandomNumberGenerator()
        return try await run(readData: readData, using: &generator, report: report)
    }

    /// Compares the pack files in the backend with the index: indexed packs that are missing or
    /// have another size are errors; pack files no index lists are notes.
    public func checkPacks(_ index: CheckedIndex, report: (CheckFinding) -> Void) async throws {
        var actual: [ObjectID: Int64] = [:]
        for file in try await repository.backend.list(.pack) {
            guard let id = ObjectID(hex: file.name) else { continue }
            actual[id] = Int64(file.size)
        }
        for (pack, expected) in index.packs.sorted(by: { $0.key < $1.key }) {
            guard let size = actual.removeValue(forKey: pack) else {
                report(CheckFinding(.packMissing, pack, ["does not exist"]))
                continue
            }
            if size != expected.size {
                report(CheckFinding(.packSize, pack, ["unexpected file size: got \(size), expected \(expected.size)"]))
            }
        }
        for pack in actual.keys.sorted() {
            report(CheckFinding(.packUnreferenced, pack, ["not referenced in any index"]))
        }
    }
}
