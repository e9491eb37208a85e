import ArgumentParser
import ResticCore
import ResticRepository
import ResticMaintenance
import CartaeSync

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check the repository for errors.",
        discussion: """
            Verifies the structural consistency of the repository: the index against the pack files, \
            and every tree reachable from a snapshot. --read-data or --read-data-subset also read pack \
            contents and verify every blob. Exit status is 0 if no errors were found, 1 otherwise.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("read-data"), help: "Read all data blobs.")
    var readData = false

    @Option(name: .customLong("read-data-subset"),
            help: "Read a subset of data packs, specified as 'n/t' for a specific part, or either 'x%' or 'x.y%' or a size in bytes with suffixes k/K, m/M, g/G, t/T for a random subset.")
    var readDataSubset: String?

    @Flag(name: .customLong("with-cache"), help: "Use existing cache, only read uncached data from repository.")
    var withCache = false

    @Flag(name: .customLong("check-unused"), help: .hidden)
    var checkUnused = false

    func run() async throws {
        let selection = try readDataSelection()
        var options = global
        options.noCache = options.noCache || !withCache  // as restic: check reads the repository, not cached copies
        let backend = try options.backend()
        // Hashing the pack files needs no key: it runs while the key is derived.
        let digests = selection == .all ? await PackDigests.start(backend) : nil
        defer { digests?.stop() }
        let repo = try await options.openRepository(backend)
        var printer = CheckPrinter(verbose: !global.quiet && !global.json, json: global.json)
        if !global.noLock { printer.progress("create exclusive lock for repository") }
        // restic checks under an exclusive lock so no prune can delete packs while they are read.
        let summary: CheckSummary
        let shared = Locked(printer)
        let check: @Sendable () async throws -> CheckSummary = {
            var checker = Checker(repository: repo)
            checker.packDigests = digests
            return try await checker.run(readData: selection) { event in shared.withLock { $0.handle(event) } }
        }
        if global.noLock {
            summary = try await check()
        } else {
            // Checking only reads, so it need not wait for the lock's confirmation to start.
            summary = try await RepositoryLock.withLockConfirmedAlongside(
                repo, exclusive: true, retryFor: try global.retryLockDuration(), check)
        }
        printer = shared.withLock { $0 }
        printer.finish(summary)
        if summary.hasErrors { throw ResticError(.other, "repository contains errors") }
    }

    func readDataSelection() throws -> CheckReadData {
        guard let subset = readDataSubset, !subset.isEmpty else { return readData ? .all : .none }
        if readData {
            throw ResticError.invalid("check flags --read-data and --read-data-subset cannot be used together")
        }
        return .subset(try CheckSubset(parsing: subset))
    }
}

/// Prints check's progress like restic: phase lines and notes on stdout, errors on stderr, the
/// non-critical advice once per phase. With `--json`, only errors (as JSON) and a summary.
struct CheckPrinter {
    let verbose: Bool
    let json: Bool
    private var hints = Set<String>()
    private var unreferenced = 0
    private var errorsSoFar = 0
    private var indexBroken = false

    init(verbose: Bool, json: Bool) {
        self.verbose = verbose
        self.json = json
    }

    func progress(_ line: String) {
        if verbose { Output.print(line) }
    }

    mutating func handle(_ event: CheckEvent) {
        switch event {
        case .phase(let phase):
            flushAdvice(before: phase)
            progress(phase.description)
        case .finding(let finding):
            switch finding.severity {
            case .error:
                errorsSoFar += 1
                if finding.kind == .indexLoad { indexBroken = true }
                let text = finding.kind == .indexLoad || finding.kind == .incompletePack
                    ? "error: \(finding)" : finding.description
                printError(text)
            case .hint:
                if !json { Output.print(finding.description) }
                hints.insert(finding.kind == .duplicatePack
                    ? "Duplicate packs are non-critical, you can run `repair index' to correct this."
                    : "Mixed packs with tree and data blobs are non-critical, you can run `prune` to correct this.")
            case .note:
                unreferenced += 1
                progress(finding.description)
            }
        }
    }

    private mutating func flushAdvice(before phase: CheckPhase) {
        if phase == .checkPacks {
            for hint in hints.sorted() where !json { Output.print(hint) }
            hints.removeAll()
        }
        if phase == .checkStructure && unreferenced > 0 && errorsSoFar == 0 {
            progress("\(unreferenced) additional files were found in the repo, which likely contain duplicate data.\nThis is non-critical, you can run `prune` to correct this.")
        }
    }

    private func printError(_ text: String) {
        if json {
            var w = GoJSONWriter()
            w.beginObject()
            w.key("message_type"); w.string("error")
            w.key("message"); w.string(text + "\n")
            w.endObject()
            Output.error(String(decoding: w.bytes, as: UTF8.self))
        } else {
            Output.error(text)
        }
    }

    mutating func finish(_ summary: CheckSummary) {
        if indexBroken {
            printError("\nThe repository index is damaged and must be repaired.\n")
        } else if !summary.brokenPacks.isEmpty {
            printError("\nThe repository contains damaged pack files:\n"
                       + summary.brokenPacks.map(\.hex).joined(separator: "\n") + "\n")
        }
        if !summary.brokenSnapshots.isEmpty {
            printError("\nThe repository contains damaged snapshot files:\n"
                       + summary.brokenSnapshots.map(\.hex).joined(separator: "\n") + "\n")
        }
        if json {
            var w = GoJSONWriter()
            w.beginObject()
            w.key("message_type"); w.string("summary")
            w.key("num_errors"); w.number(summary.errorCount)
            w.key("broken_packs")
            if summary.brokenPacks.isEmpty {
                w.null()
            } else {
                w.beginArray()
                for pack in summary.brokenPacks { w.string(pack.hex) }
                w.endArray()
            }
            w.key("suggest_repair_index"); w.bool(summary.suggestRepairIndex)
            w.key("suggest_prune"); w.bool(summary.suggestPrune)
            BackendUsage.appendJSON(to: &w)
            w.endObject()
            Output.print(String(decoding: w.bytes, as: UTF8.self))
        } else if !summary.hasErrors {
            progress("no errors were found")
        }
    }
}
