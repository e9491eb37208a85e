import Foundation
import ResticCore
import ResticMaintenance
import ResticRepository

/// The scheduled upkeep: `check --read-data-subset $CHECK_SUBSET` and `forget --prune` with
/// the KEEP_* policy, each under the exclusive lock restic takes, each pushing its results.
public struct DRMaintenance: Sendable {
    public let context: DRContext
    public let repository: DRRepository
    let metrics: MetricsPusher

    public init(context: DRContext, repository: DRRepository) {
        self.context = context
        self.repository = repository
        metrics = MetricsPusher(url: context.config.pushgatewayURL, instance: context.config.host, console: context.console)
    }

    public struct Outcome: Sendable {
        public var succeeded: Bool
        public var message: String
    }

    public func check(subset: String? = nil) async -> Outcome {
        let start = ContinuousClock.now
        var errors = 0, packsRead = 0
        var outcome: Outcome
        var repo: Repository?
        do {
            let selection = CheckReadData.subset(try CheckSubset(parsing: subset ?? context.config.checkSubset))
            let opened = try await repository.open()
            repo = opened
            let console = context.console
            let summary = try await RepositoryLock.withLock(opened, exclusive: true) {
                try await Checker(repository: opened).run(readData: selection) { event in
                    switch event {
                    case .phase(let phase): console.info("check: \(phase.description)")
                    case .finding(let finding) where finding.severity == .error: console.warning("check: \(finding.description)")
                    case .finding: break
                    }
                }
            }
            errors = summary.errorCount
            packsRead = summary.packsRead
            outcome = summary.hasErrors
                ? Outcome(succeeded: false, message: "check found \(summary.errorCount) errors")
                : Outcome(succeeded: true, message: "no errors were found (\(summary.packsRead) packs read)")
        } catch {
            errors = max(errors, 1)
            outcome = Outcome(succeeded: false, message: "check failed: \(DRRunner.describe(error))")
        }
        await push("check", outcome, start: start, repo: repo,
                   values: [("errors", "Errors found by the last check", Double(errors)),
                            ("packs_read", "Packs whose data the last check read", Double(packsRead))])
        return outcome
    }

    /// forget with KEEP_DAILY/WEEKLY/MONTHLY over this host's snapshots, grouped by host and
    /// paths (each database, Redis and the volumes apart), days counted in UTC; then prune.
    public func prune(dryRun: Bool = false) async -> Outcome {
        let start = ContinuousClock.now
        var removed = 0, kept = 0, packsDeleted = 0
        var outcome: Outcome
        var repo: Repository?
        let config = context.config
        let policy = ForgetPolicy(daily: config.keepDaily, weekly: config.keepWeekly, monthly: config.keepMonthly)
        do {
            let opened = try await repository.open()
            repo = opened
            let console = context.console
            (removed, kept, packsDeleted) = try await RepositoryLock.withLock(opened, exclusive: true) {
                let records = try await opened.loadSnapshots().filter { $0.snapshot.hostname == config.host }
                let plan = try ForgetPlan(policy: policy, records: records,
                                          grouping: SnapshotGrouping(host: true, paths: true, tags: false),
                                          now: GoTime.now(), localZone: TimeZone(identifier: "UTC"))
                console.info("forget: policy \(policy): keep \(records.count - plan.removals.count), remove \(plan.removals.count) of \(records.count) snapshots")
                guard !dryRun else { return (plan.removals.count, records.count - plan.removals.count, 0) }
                for id in plan.removals {
                    try await opened.backend.remove(FileHandle(.snapshot, id))
                }
                let remaining = try await opened.loadSnapshots()
                let pruner = Pruner(repository: try await opened.loadIndex(), settings: PruneSettings())
                let inputs = try await pruner.makePlan(snapshots: remaining) { console.info("prune: \($0)") }
                let deleted = inputs.plan.remove.count + inputs.plan.repack.count + inputs.plan.unindexed.count
                console.info("prune: \(inputs.plan.remove.count) unused packs to delete, \(inputs.plan.repack.count) to repack")
                try await pruner.execute(inputs) { console.info("prune: \($0)") }
                let leftovers = try await pruner.removeLeftovers()
                if leftovers.files > 0 {
                    console.info("prune: removed \(leftovers.files) temporary files (\(leftovers.bytes) bytes) left by interrupted runs")
                }
                return (plan.removals.count, records.count - plan.removals.count, deleted)
            }
            outcome = Outcome(succeeded: true, message: "removed \(removed) snapshots, kept \(kept), \(packsDeleted) packs deleted or repacked"
                              + (dryRun ? " (dry run: nothing changed)" : ""))
        } catch {
            outcome = Outcome(succeeded: false, message: "forget/prune failed: \(DRRunner.describe(error))")
        }
        await push("prune", outcome, start: start, repo: repo,
                   values: [("removed_snapshots", "Snapshots the last forget removed", Double(removed)),
                            ("kept_snapshots", "Snapshots the last forget kept", Double(kept)),
                            ("packs_deleted", "Packs the last prune deleted or repacked", Double(packsDeleted))])
        return outcome
    }

    private func push(_ operation: String, _ outcome: Outcome, start: ContinuousClock.Instant, repo: Repository?,
                      values: [(String, String, Double)]) async {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let size: UInt64? = if let repo { try? await DRRepository.totalSize(repo) } else { nil }
        let text = MetricsPusher.maintenanceExposition(operation, succeeded: outcome.succeeded, durationSeconds: seconds,
                                                       finishedAt: Date().timeIntervalSince1970, values: values, repositoryBytes: size)
        await metrics.push(stage: operation, text: text)
    }
}
