#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticCrypto
import ResticRepository

public struct RestoreOptions: Sendable {
    public var filter = RestoreFilter()
    /// Blobs of zeros become holes instead of written zeros.
    public var sparse = true
    /// Restore owners (only possible as root; restic does it when running as root).
    public var restoreOwnership = getuid() == 0
    /// Re-read every restored file and check its content against the snapshot.
    public var verify = false
    /// How many packs are read and written at once. Each holds a read and a batch of
    /// plaintext; the file threads, not this, carry the parallel file-system calls. A pack's
    /// worker waits while its batch is written, and large pieces go to the disk directly
    /// (`DirectPieceWriter`), so that wait is device time: six keep two cores decoding.
    public var concurrency = 6
    /// Threads for the file-system calls. Creating files is kernel work that also waits (on
    /// the journal, on a directory's lock), so more threads than cores keep the cores busy.
    public var fileThreads = min(16, max(4, 2 * sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    public init() {}
}

public struct RestoreReport: Sendable {
    public var filesRestored = 0
    public var directoriesRestored = 0
    public var otherRestored = 0
    public var bytesWritten = 0
    public var filesVerified = 0
    /// Everything that went wrong, one line each; the rest was still restored.
    public var errors: [String] = []
}

/// Restores a tree into a directory: plan from the trees; make the directories, then the
/// files that are not confined to one pack; read each pack once, creating, writing and closing
/// (with metadata) every file it holds whole; then links, devices and the metadata left, with
/// directories last, deepest first, so writing into them does not disturb their times.
public struct Restorer: Sendable {
    public let repository: IndexedRepository
    public let options: RestoreOptions

    public init(repository: IndexedRepository, options: RestoreOptions = RestoreOptions()) {
        self.repository = repository
        self.options = options
    }

    public func restore(tree: ObjectID, to target: String,
                        progress: (@Sendable (Int) -> Void)? = nil) async throws -> RestoreReport {
        let targetPath = RawPath(target)
        try FS.makeDirectories(targetPath)
        var plan = try await RestorePlan.make(repository, root: tree, target: targetPath, filter: options.filter)
        var report = RestoreReport()
        report.errors = plan.problems

        let workers = FileWorkers(count: options.fileThreads)
        defer { workers.stop() }
        let phases = EntryPhases(workers: workers, ownership: options.restoreOwnership)

        try absorb(await phases.makeDirectories(plan), &report)
        let made = await phases.makeFilesBeforeData(plan)
        try absorb(made, &report)
        for number in made.unmade { plan.files[number].failed = true }

        let failures = try await writeData(plan, workers: workers, unmade: Set(made.unmade), progress: progress,
                                           report: &report)
        for failure in failures { plan.files[failure.index].failed = true }
        report.errors += failures.map(\.message)

        try absorb(await phases.finishEntries(plan), &report)
        try absorb(await phases.finishDirectories(plan), &report)
        if options.verify {
            report.errors += await RestoreVerifier.verify(plan, workers: workers, verified: &report.filesVerified)
        }
        return report
    }

    private func absorb(_ result: EntryPhases.Result, _ report: inout RestoreReport) throws {
        if let fatal = result.fatal { throw ResticError(.other, fatal.message) }
        report.filesRestored += result.files
        report.directoriesRestored += result.directories
        report.otherRestored += result.other
        report.errors += result.errors
    }

    struct FileFailure: Sendable {
        var index: Int
        var message: String
    }

    private func writeData(_ plan: RestorePlan, workers: FileWorkers, unmade: Set<Int>,
                           progress: (@Sendable (Int) -> Void)?, report: inout RestoreReport) async throws -> [FileFailure] {
        let work = plan.packWork()
        let writer = FileWriter(files: plan.files, entries: plan.entries, workers: workers,
                                ownership: options.restoreOwnership)
        let restorer = PackRestorer(repository: repository, placements: plan.placements, writer: writer, sparse: options.sparse, unmade: unmade)
        var failures: [FileFailure] = []
        try await withThrowingTaskGroup(of: PackRestorer.Outcome.self) { group in
            var next = 0
            // The disk is asked for a pack's bytes two packs before its work starts: workers
            // read with blocking calls on the cooperative threads, which otherwise waited
            // 0.17 s in all for cold packs in a restore of the Swift toolchain's binaries.
            var hinted = 0
            func startNext() {
                guard next < work.count else { return }
                let item = work[next]
                next += 1
                while hinted < min(next + 2, work.count) {
                    restorer.willRead(work[hinted])
                    hinted += 1
                }
                group.addTask { await restorer.restore(item) }
            }
            for _ in 0..<max(1, options.concurrency) { startNext() }
            while let outcome = try await group.next() {
                try Task.checkCancellation()
                if let fatal = outcome.fatal { throw ResticError(.other, fatal.message) }
                report.bytesWritten += outcome.bytesWritten
                report.filesRestored += outcome.filesCreated
                report.errors += outcome.errors
                failures += outcome.failures
                progress?(outcome.bytesWritten)
                startNext()
            }
        }
        // Pack order is arbitrary: report a file's problems in plan order, whatever finished first.
        return failures.enumerated().sorted { ($0.element.index, $0.offset) < ($1.element.index, $1.offset) }.map(\.element)
    }
}
