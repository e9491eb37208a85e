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
    /// How many packs are read and written at once.
    public var concurrency = 4

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

/// Restores a tree into a directory: plan from the trees, write every blob straight to its file
/// offsets reading each pack once, then set metadata in one pass (directories last, deepest first,
/// so writing into them does not disturb their times).
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

        createEntries(&plan, &report)
        let failures = try await writeData(plan, progress: progress, report: &report)
        for file in failures { plan.files[file.index].failed = true }
        report.errors += failures.map(\.message)
        applyMetadata(plan, &report)
        if options.verify {
            report.errors += RestoreVerifier.verify(plan, repository: repository, verified: &report.filesVerified)
        }
        return report
    }

    // MARK: phases

    private func createEntries(_ plan: inout RestorePlan, _ report: inout RestoreReport) {
        for entry in plan.entries {
            do {
                switch entry.kind {
                case .directory:
                    try FS.makeDirectory(entry.path)
                    report.directoriesRestored += 1
                case .file(let index):
                    let fd = try FS.openForWriting(entry.path)
                    defer { close(fd) }
                    try FS.truncate(fd, size: plan.files[index].size, path: entry.path)
                    report.filesRestored += 1
                case .hardlink, .symlink, .special:
                    continue  // after the data, so links point at complete files
                }
            } catch {
                report.errors.append("\(error)")
            }
        }
    }

    struct FileFailure: Sendable {
        var index: Int
        var message: String
    }

    private func writeData(_ plan: RestorePlan, progress: (@Sendable (Int) -> Void)?,
                           report: inout RestoreReport) async throws -> [FileFailure] {
        let work = plan.packWork()
        let files = plan.files.map(\.path)
        let writer = PackRestorer(repository: repository, files: files, sparse: options.sparse)
        var failures: [FileFailure] = []
        try await withThrowingTaskGroup(of: PackRestorer.Outcome.self) { group in
            var next = 0
            func startNext() {
                guard next < work.count else { return }
                let item = work[next]
                next += 1
                group.addTask { await writer.restore(item) }
            }
            for _ in 0..<max(1, options.concurrency) { startNext() }
            while let outcome = try await group.next() {
                try Task.checkCancellation()
                report.bytesWritten += outcome.bytesWritten
                failures += outcome.failures
                progress?(outcome.bytesWritten)
                startNext()
            }
        }
        return failures
    }

    private func applyMetadata(_ plan: RestorePlan, _ report: inout RestoreReport) {
        for entry in plan.entries {
            do {
                switch entry.kind {
                case .directory:
                    continue
                case .file(let index):
                    if plan.files[index].failed { continue }
                    try setMetadata(entry)
                case .hardlink(let index):
                    try FS.hardlink(from: plan.files[index].path, to: entry.path)
                    report.filesRestored += 1
                case .symlink:
                    try FS.symlink(target: entry.node.linkTarget ?? [], at: entry.path)
                    try setMetadata(entry)
                    report.otherRestored += 1
                case .special:
                    try FS.makeNode(entry.path, mode: specialMode(entry.node), device: entry.node.device)
                    try setMetadata(entry)
                    report.otherRestored += 1
                }
            } catch {
                report.errors.append("\(error)")
            }
        }
        let directories = plan.entries.filter { if case .directory = $0.kind { return true } else { return false } }
        for entry in directories.sorted(by: { $0.depth > $1.depth }) {
            do { try setMetadata(entry) } catch { report.errors.append("\(error)") }
        }
    }

    private func setMetadata(_ entry: RestorePlan.Entry) throws {
        let node = entry.node
        if options.restoreOwnership {
            try FS.lchown(entry.path, uid: node.uid, gid: node.gid)
        }
        for attribute in node.extendedAttributes ?? [] {
            try FS.setExtendedAttribute(entry.path, name: attribute.name, value: attribute.value)
        }
        if node.type != "symlink" {
            try FS.chmod(entry.path, mode: mode_t(GoFileMode.unixPermissions(node.mode)))
        }
        try FS.setTimes(entry.path, atime: node.atime, mtime: node.mtime)
    }

    private func specialMode(_ node: Node) -> mode_t {
        let permissions = mode_t(GoFileMode.unixPermissions(node.mode))
        switch node.type {
        case "fifo": return S_IFIFO | permissions
        case "chardev": return S_IFCHR | permissions
        default: return S_IFBLK | permissions
        }
    }
}
