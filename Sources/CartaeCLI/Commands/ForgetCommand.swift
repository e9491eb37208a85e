import ArgumentParser
import Foundation
import ResticCore
import ResticMaintenance
import ResticRepository

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Remove snapshots from the repository.",
        discussion: """
            The "forget" command removes snapshots according to a policy. All snapshots are first divided \
            into groups according to "--group-by", and after that the policy specified by the "--keep-*" \
            options is applied to each group individually. Snapshots named on the command line are removed \
            without a policy. Only the snapshot files are removed; "prune" (or "--prune") removes the data \
            no snapshot references any more.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keep: KeepOptions

    @Option(name: .customLong("host"), help: ArgumentHelp("Only consider snapshots for this host (can be specified multiple times, use empty string to unset default value) (default: $RESTIC_HOST).", valueName: "host"))
    var hosts: [String] = []

    @Option(name: .customLong("tag"), help: ArgumentHelp("Only consider snapshots including tag[,tag,...] (can be specified multiple times).", valueName: "tag[,tag,...]"))
    var tags: [String] = []

    @Option(name: .customLong("path"), help: ArgumentHelp("Only consider snapshots including this (absolute) path (can be specified multiple times, snapshots must include all specified paths).", valueName: "path"))
    var paths: [String] = []

    @Flag(name: [.customShort("c"), .customLong("compact")], help: "Use compact output format.")
    var compact = false

    @Option(name: [.customShort("g"), .customLong("group-by")], help: ArgumentHelp("Group snapshots by host, paths and/or tags, separated by comma (disable grouping with '').", valueName: "group"))
    var groupBy = "host,paths"

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Do not delete anything, just print what would be done.")
    var dryRun = false

    @Flag(name: .customLong("prune"), help: "Automatically run the 'prune' command if snapshots have been removed.")
    var prune = false

    @OptionGroup var pruneOptions: PruneOptions

    @Argument(help: ArgumentHelp("Snapshots to remove (IDs or unique prefixes), instead of applying a policy.", valueName: "snapshot-id"))
    var snapshotIDs: [String] = []

    /// `--host`, defaulting to $RESTIC_HOST; `--host ""` clears that default.
    var filter: SnapshotFilter {
        var hostList = hosts.isEmpty ? (Environment.get("RESTIC_HOST").map { [$0] } ?? []) : hosts
        if hostList == [""] { hostList = [] }
        return SnapshotFilter(hosts: hostList, tags: tags, paths: paths)
    }

    func run() async throws {
        let policy = try keep.policy()
        try pruneOptions.validate()
        let grouping = try SnapshotGrouping(groupBy)
        if global.noLock && !dryRun {
            throw ResticError.invalid("--no-lock is only applicable in combination with --dry-run for forget command")
        }
        let repo = try await global.openRepository()
        // --prune runs on the same repository (one key derivation) and, as in restic, under
        // the same lock.
        func pruneIfAsked(removed: Int, locked: Bool) async throws {
            guard prune, removed > 0 else { return }
            if !global.json && !global.quiet {
                Output.print(dryRun ? "\(removed) snapshots would be removed, running prune dry run"
                                    : "\(removed) snapshots have been removed, running prune")
            }
            try await PruneRunner.run(global: global, settings: try pruneOptions.settings(dryRun: dryRun),
                                      repository: repo, locked: locked)
        }
        if dryRun && global.noLock {
            try await pruneIfAsked(removed: try await forget(repo, policy: policy, grouping: grouping), locked: false)
        } else {
            try await RepositoryLock.withLock(repo, exclusive: true, retryFor: try global.retryLockDuration()) {
                try await pruneIfAsked(removed: try await forget(repo, policy: policy, grouping: grouping), locked: true)
            }
        }
    }

    /// Plans, prints and (unless `--dry-run`) removes; returns how many snapshots were (or would be) removed.
    func forget(_ repo: Repository, policy: ForgetPolicy, grouping: SnapshotGrouping) async throws -> Int {
        let talk = !global.json && !global.quiet
        let plan: ForgetPlan
        if snapshotIDs.isEmpty {
            guard !policy.isEmpty else {
                if talk { Output.print("no policy was specified, no snapshots will be removed") }
                return 0
            }
            let records = try await repo.loadSnapshots { id, error in
                Output.error("could not load snapshot \(id.shortHex): \(error)")
            }.filter { filter.matches($0.snapshot) }.map { ForgetOutput.normalized($0, grouping) }
            if talk { Output.print("Applying Policy: \(policy)") }
            plan = try ForgetPlan(policy: policy, records: records, grouping: grouping,
                                  now: GoTime.now(), localZone: TimeZone.current)
            if !global.json { ForgetOutput.printGroups(plan, grouping, verbose: global.verbosity >= 1, quiet: global.quiet, compact: compact) }
        } else {
            var records: [SnapshotRecord] = []
            for reference in snapshotIDs {
                records.append(try await repo.findSnapshot(reference, filter: filter))
            }
            plan = ForgetPlan(explicit: records)
        }

        var failed = 0
        if !plan.removals.isEmpty {
            if dryRun {
                if !global.json {
                    Output.print("Would have removed the following snapshots:\n{\(plan.removals.map(\.shortHex).joined(separator: " "))}\n")
                }
            } else {
                failed = await ForgetOutput.remove(plan.removals, from: repo, json: global.json, progress: talk)
            }
        }
        if global.json && !plan.groups.isEmpty {
            Output.write(ForgetOutput.json(plan, grouping))
        }
        if failed > 0 {
            Output.error("failed to remove one or more snapshots")
            throw ExitCode(3)
        }
        return plan.removals.count
    }
}

/// forget's text tables, JSON and removal progress, shaped like restic's.
enum ForgetOutput {
    /// restic sorts each snapshot's paths while grouping (and its tags when grouping by tags),
    /// and prints them that way.
    static func normalized(_ record: SnapshotRecord, _ grouping: SnapshotGrouping) -> SnapshotRecord {
        var record = record
        record.snapshot.paths.sort()
        if grouping.tags { record.snapshot.tags.sort() }
        return record
    }

    static func printGroups(_ plan: ForgetPlan, _ grouping: SnapshotGrouping, verbose: Bool, quiet: Bool, compact: Bool) {
        for group in plan.groups {
            if verbose, let header = header(group.key, grouping) { Output.print(header) }
            let keep = group.keep
            if !keep.isEmpty && !quiet {
                Output.print("keep \(keep.count) snapshots:")
                var reasons: [ObjectID: [String]] = [:]
                for decision in keep { reasons[decision.record.id] = decision.reasons.map(\.description) }
                table(keep.map(\.record), reasons: reasons, compact: compact).forEach(Output.print)
                Output.print("")
            }
            let remove = group.remove
            if !remove.isEmpty && !quiet {
                Output.print("remove \(remove.count) snapshots:")
                table(remove, reasons: nil, compact: compact).forEach(Output.print)
                Output.print("")
            }
        }
    }

    /// "snapshots for (host [h1], tags [a, b], paths [/x, /y]):", nil when nothing is grouped.
    static func header(_ key: SnapshotGrouping.Key, _ grouping: SnapshotGrouping) -> String? {
        var parts: [String] = []
        if grouping.host && !key.hostname.isEmpty { parts.append("host [\(key.hostname)]") }
        if grouping.tags && !key.tags.isEmpty { parts.append("tags [\(key.tags.joined(separator: ", "))]") }
        if grouping.paths { parts.append("paths [\(key.paths.joined(separator: ", "))]") }
        return parts.isEmpty ? nil : "snapshots for (\(parts.joined(separator: ", "))):"
    }

    /// restic's snapshot table, oldest first, with a Reasons column for kept snapshots.
    static func table(_ records: [SnapshotRecord], reasons: [ObjectID: [String]]?, compact: Bool) -> [String] {
        let ordered = records.enumerated().sorted { a, b in
            if a.element.snapshot.time < b.element.snapshot.time { return true }
            if b.element.snapshot.time < a.element.snapshot.time { return false }
            return a.offset < b.offset
        }.map(\.element)
        let multiline = !compact && ordered.contains { $0.snapshot.paths.count > 1 }
        var rows: [[String]] = []
        for (number, record) in ordered.enumerated() {
            let s = record.snapshot
            if multiline && number > 0 { rows.append([]) }
            var columns: [[String]]
            if compact {
                columns = [[record.id.shortHex], [TimeFormat.local(s.time)], [s.hostname], s.tags]
            } else {
                columns = [[record.id.shortHex], [TimeFormat.local(s.time)], [s.hostname], [s.tags.joined(separator: ",")]]
                if let reasons { columns.append(reasons[record.id] ?? []) }
                columns.append(s.paths)
            }
            let height = max(1, columns.map(\.count).max() ?? 1)
            for line in 0..<height {
                rows.append(columns.map { line < $0.count ? $0[line] : "" })
            }
        }
        var header = compact ? ["ID", "Time", "Host", "Tags  "] : ["ID", "Time", "Host      ", "Tags      "]
        if !compact {
            if reasons != nil { header.append("Reasons") }
            header.append("Paths")
        }
        return Output.table(header, rows, footer: "\(ordered.count) snapshots")
    }

    /// Removes the snapshot files, a few at a time; prints restic's progress line and a warning per
    /// failure. Returns the number of failures.
    static func remove(_ ids: [ObjectID], from repo: Repository, json: Bool, progress: Bool) async -> Int {
        let start = ContinuousClock.now
        let width = max(1, repo.backend.connections)
        var failed = 0
        await withTaskGroup(of: (ObjectID, Bool).self) { group in
            var pending = ids[...]
            func startNext() {
                guard let id = pending.popFirst() else { return }
                group.addTask {
                    do {
                        try await repo.backend.remove(FileHandle(.snapshot, id))
                        return (id, true)
                    } catch {
                        return (id, false)
                    }
                }
            }
            for _ in 0..<width { startNext() }
            while let (id, ok) = await group.next() {
                if !ok {
                    failed += 1
                    if !json { Output.error("unable to remove snapshot/\(id.hex) from the repository") }
                }
                startNext()
            }
        }
        if progress {
            let seconds = Int((ContinuousClock.now - start).components.seconds)
            let done = ids.count - failed
            let percent = ids.isEmpty ? 100 : Double(done) / Double(ids.count) * 100
            Output.print(String(format: "[%d:%02d] %.2f%%  %d / %d files deleted\n", seconds / 60, seconds % 60,
                                percent, done, ids.count))
        }
        return failed
    }

    /// restic's `--json` result: one object per group with the kept and removed snapshots and
    /// the reasons (the snapshot, the matching rules and the counters left).
    static func json(_ plan: ForgetPlan, _ grouping: SnapshotGrouping) -> [UInt8] {
        var out = GoJSONWriter()
        out.beginArray()
        for group in plan.groups {
            out.beginObject()
            out.key("tags"); SnapshotJSON.stringsOrNull(&out, grouping.tags && !group.key.tags.isEmpty ? group.key.tags : nil)
            out.key("host"); out.string(group.key.hostname)
            out.key("paths"); SnapshotJSON.stringsOrNull(&out, grouping.paths ? group.key.paths : nil)
            let keep = group.keep
            out.key("keep"); snapshots(&out, keep.map(\.record))
            out.key("remove"); snapshots(&out, group.remove)
            out.key("reasons")
            if keep.isEmpty {
                out.null()
            } else {
                out.beginArray()
                for decision in keep {
                    out.beginObject()
                    out.key("snapshot"); out.raw(SnapshotJSON.object(decision.record))
                    out.key("matches"); SnapshotJSON.stringsOrNull(&out, decision.reasons.map(\.description))
                    out.key("counters"); counters(&out, decision.counters)
                    out.endObject()
                }
                out.endArray()
            }
            out.endObject()
        }
        out.endArray()
        return out.bytes + [10]
    }

    /// A Go nil slice is null, not [].
    static func snapshots(_ out: inout GoJSONWriter, _ records: [SnapshotRecord]) {
        guard !records.isEmpty else { out.null(); return }
        out.beginArray()
        for record in records { out.raw(SnapshotJSON.object(record)) }
        out.endArray()
    }

    /// Go's `omitempty`: counters that are 0 are left out.
    static func counters(_ out: inout GoJSONWriter, _ c: ForgetCounters) {
        out.beginObject()
        for (name, value) in [("last", c.last), ("hourly", c.hourly), ("daily", c.daily),
                              ("weekly", c.weekly), ("monthly", c.monthly), ("yearly", c.yearly)] where value != 0 {
            out.key(name); out.number(value)
        }
        out.endObject()
    }
}
