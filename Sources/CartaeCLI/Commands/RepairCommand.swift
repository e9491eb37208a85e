import ArgumentParser
import ResticCore
import ResticRepository
import ResticMaintenance

struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair", abstract: "Repair the repository.",
        subcommands: [Index.self, Snapshots.self])

    struct Index: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "index", abstract: "Build a new index from the pack files.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .customLong("read-all-packs"), help: "Read all pack files to generate the index, even those listed in the old index.")
        var readAllPacks = false

        func run() async throws {
            let repo = try await global.openRepository()
            let quiet = global.quiet
            let report = try await RepositoryLock.withLock(repo, exclusive: true, retryFor: try global.retryLockDuration()) {
                try await IndexRepair.run(repo, readAllPacks: readAllPacks) { if !quiet { Output.print($0) } }
            }
            for problem in report.unreadableIndexFiles + report.unreadablePacks { Output.error("warning: \(problem)") }
            if !quiet {
                Output.print("read \(report.packsRead) pack headers, reused \(report.packsReused) index entries")
                Output.print("saved \(report.newIndexFiles) new index files, removed \(report.removedIndexFiles) old index files")
                Output.print("done")
            }
        }
    }

    struct Snapshots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "snapshots", abstract: "Repair snapshots that reference missing data.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var filter: SnapshotFilterOptions
        @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Do not do anything, just print what would be done.")
        var dryRun = false
        @Flag(name: .customLong("forget"), help: "Remove original snapshots after creating new ones.")
        var forget = false
        @Argument(help: "Snapshots to repair (default: all).")
        var snapshotIDs: [String] = []

        func run() async throws {
            let repo = try await global.openRepository()
            try await RepositoryLock.withLock(repo, exclusive: true, retryFor: try global.retryLockDuration()) {
                let indexed = try await repo.loadIndex()
                var records: [SnapshotRecord] = []
                if snapshotIDs.isEmpty {
                    records = try await repo.loadSnapshots().filter { filter.filter.matches($0.snapshot) }
                } else {
                    for reference in snapshotIDs { records.append(try await repo.findSnapshot(reference, filter: filter.filter)) }
                }
                let repair = SnapshotRepair(repository: indexed, dryRun: dryRun)
                var changed = 0
                for record in records {
                    if !global.quiet { Output.print("snapshot \(record.id.shortHex) of \(record.snapshot.paths) at \(record.snapshot.time.rfc3339))") }
                    switch try await repair.repair(record) {
                    case .unchanged:
                        continue
                    case .repaired(let newID, let changes):
                        changed += 1
                        if !global.quiet { changes.forEach { Output.print("  \($0)") } }
                        if let newID, !global.quiet { Output.print("saved new snapshot \(newID.shortHex)") }
                    case .unrepairable(let reason):
                        changed += 1
                        Output.error("  \(reason)")
                    }
                    // Only snapshots that were rewritten (or cannot be) lose their original.
                    if forget && !dryRun {
                        try await repo.backend.remove(FileHandle(.snapshot, record.id))
                        if !global.quiet { Output.print("removed old snapshot \(record.id.shortHex)") }
                    }
                }
                if !global.quiet {
                    Output.print(changed == 0 ? "no snapshots were modified" : "\(changed) snapshots were modified")
                }
            }
        }
    }
}

struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unlock", abstract: "Remove locks other processes created.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("remove-all"), help: "Remove all locks, even non-stale ones.")
    var removeAll = false

    func run() async throws {
        let repo = try await global.openRepository()
        let removed = try await RepositoryLock.removeLocks(repo, all: removeAll)
        if !global.quiet { Output.print("successfully removed \(removed) locks") }
    }
}
