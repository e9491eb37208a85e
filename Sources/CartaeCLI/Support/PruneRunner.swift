import ResticCore
import ResticRepository
import ResticMaintenance

/// Runs prune for `prune` and `forget --prune`: exclusive lock, plan, print, execute.
enum PruneRunner {
    /// `repository`: one the caller opened already (forget --prune), so the key is not derived
    /// twice: scrypt costs about half a second and 32 MiB. `locked`: the caller holds the
    /// exclusive lock on it already (taking a lock waits 200 ms for racing processes).
    static func run(global: GlobalOptions, settings: PruneSettings, repository: Repository? = nil,
                    locked: Bool = false) async throws {
        let repo: Repository
        if let repository { repo = repository } else { repo = try await global.openRepository() }
        if locked {
            try await prune(repo, global: global, settings: settings)
        } else {
            try await RepositoryLock.withLock(repo, exclusive: true, retryFor: try global.retryLockDuration()) {
                try await prune(repo, global: global, settings: settings)
            }
        }
    }

    private static func prune(_ repo: Repository, global: GlobalOptions, settings: PruneSettings) async throws {
        var settings = settings
        if let packSize = global.packSize { settings.packSize = packSize * 1024 * 1024 }
        let quiet = global.quiet
        if !quiet { Output.print("loading indexes...") }
        let indexed = try await repo.loadIndex()
        if !quiet { Output.print("loading all snapshots...") }
        let snapshots = try await repo.loadSnapshots { id, error in
            Output.error("could not load snapshot \(id.shortHex): \(error)")
        }
        let pruner = Pruner(repository: indexed, settings: settings,
                            compression: try global.compressionMode(version: repo.version),
                            verifyBeforeUpload: !global.noExtraVerify)
        let inputs = try await pruner.makePlan(snapshots: snapshots) { if !quiet { Output.print($0) } }
        if !quiet { PrunePlanPrinter.print(inputs.plan, dryRun: settings.dryRun) }
        guard !settings.dryRun else { return }
        try await pruner.execute(inputs) { if !quiet { Output.print($0) } }
        let leftovers = try await pruner.removeLeftovers()
        if !quiet && leftovers.files > 0 {
            Output.print("removed \(leftovers.files) temporary files left by interrupted runs (\(SizeFormat.bytes(UInt64(leftovers.bytes))))")
        }
        if !quiet { Output.print("done") }
    }
}

enum PrunePlanPrinter {
    static func print(_ plan: PrunePlan, dryRun: Bool) {
        func line(_ label: String, _ totals: PrunePlan.Totals) -> String {
            label.padding(toLength: 21, withPad: " ", startingAt: 0) + "\(totals.blobs) blobs / \(SizeFormat.bytes(totals.bytes))"
        }
        var total = PrunePlan.Totals()
        total.blobs = plan.repackRemoves.blobs + plan.toDelete.blobs
        total.bytes = plan.repackRemoves.bytes + plan.toDelete.bytes + plan.unindexedBytes
        var remaining = PrunePlan.Totals()
        remaining.blobs = plan.used.blobs + plan.unused.blobs + plan.duplicate.blobs - total.blobs
        remaining.bytes = plan.used.bytes + plan.unused.bytes + plan.duplicate.bytes - (total.bytes - plan.unindexedBytes)
        let unusedAfter = remaining.bytes >= plan.used.bytes ? remaining.bytes - plan.used.bytes : 0
        Output.print("")
        Output.print(line("to repack:", plan.toRepack))
        Output.print(line("this removes:", plan.repackRemoves))
        Output.print(line("to delete:", plan.toDelete))
        Output.print(line("total prune:", total))
        Output.print(line("remaining:", remaining))
        let share = remaining.bytes == 0 ? 0 : Double(unusedAfter) / Double(remaining.bytes) * 100
        Output.print("unused size after prune: \(SizeFormat.bytes(unusedAfter)) (\(String(format: "%.2f", share))% of remaining size)")
        Output.print("")
        Output.print("totally used packs:  \(plan.totallyUsedPacks)")
        Output.print("partly used packs:   \(plan.partlyUsedPacks)")
        Output.print("unused packs:        \(plan.unusedPacks)")
        Output.print("")
        Output.print("to keep:      \(plan.keep.count) packs")
        Output.print("to repack:    \(plan.repack.count) packs")
        Output.print("to delete:    \(plan.remove.count) packs")
        if !plan.unindexed.isEmpty {
            Output.print("to delete:    \(plan.unindexed.count) unreferenced packs (\(SizeFormat.bytes(plan.unindexedBytes)))")
        }
        if dryRun { Output.print("\nWould have made the following changes (dry run): nothing was changed") }
    }
}
