import ArgumentParser
import Foundation
import ResticCore
import ResticRepository
import ResticArchiver

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Create a new backup of files and/or directories.")

    @OptionGroup var global: GlobalOptions

    /// With --stdin-from-command these are the command and its arguments (after `--`, which
    /// makes the parser take every later word as a positional value).
    @Argument(help: "Files and directories to back up (with --stdin-from-command: the command and its arguments, after --).")
    var paths: [String] = []

    @Option(name: [.customShort("H"), .customLong("host")], help: "Set the hostname for the snapshot manually.")
    var host: String?
    @Option(name: .customLong("tag"), help: "Add tags for the new snapshot in the format tag[,tag,...] (can be specified multiple times).")
    var tag: [String] = []
    @Option(name: [.customShort("e"), .customLong("exclude")], help: "Exclude a pattern (can be specified multiple times).")
    var exclude: [String] = []
    @Option(name: .customLong("iexclude"), help: "Same as --exclude but ignores the casing of filenames.")
    var iexclude: [String] = []
    @Option(name: .customLong("exclude-file"), help: "Read exclude patterns from a file (can be specified multiple times).")
    var excludeFile: [String] = []
    @Option(name: .customLong("iexclude-file"), help: "Same as --exclude-file but ignores casing of filenames in patterns.")
    var iexcludeFile: [String] = []
    @Flag(name: .customLong("exclude-caches"), help: "Exclude cache directories that are marked with a CACHEDIR.TAG file.")
    var excludeCaches = false
    @Flag(name: [.customShort("x"), .customLong("one-file-system")], help: "Exclude other file systems; don't cross filesystem boundaries and subvolumes.")
    var oneFileSystem = false
    @Option(name: .customLong("files-from"), help: "Read the files to backup from a file (can be combined with file args; can be specified multiple times).")
    var filesFrom: [String] = []
    @Option(name: .customLong("parent"), help: "Use this parent snapshot (default: latest snapshot of the same host and paths).")
    var parent: String?
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Force re-reading the target files/directories (overrides the \"parent\" flag).")
    var force = false
    @Option(name: .customLong("time"), help: "Time of the backup (ex. '2012-11-01 22:08:41') (default: now).")
    var time: String?
    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Do not upload or write any data, just show what would be done.")
    var dryRun = false
    @Flag(name: .customLong("stdin"), help: "Read backup from stdin.")
    var stdin = false
    @Option(name: .customLong("stdin-filename"), help: "Filename to use when reading from stdin.")
    var stdinFilename: String = "stdin"
    @Flag(name: .customLong("stdin-from-command"), help: "Interpret arguments as command to execute and store its stdout.")
    var stdinFromCommand = false
    @Option(name: .customLong("read-concurrency"), help: "Read N files concurrently (default: $RESTIC_READ_CONCURRENCY or 2).")
    var readConcurrency: Int?

    func run() async throws {
        if stdin && (!paths.isEmpty || !filesFrom.isEmpty) {
            throw ResticError.invalid("--stdin was specified and files/dirs were listed as arguments")
        }
        // Warms the source's metadata, and keeps it for the walker, while the key is derived
        // and the index loaded.
        let prefetch = stdin || stdinFromCommand ? nil : MetadataPrefetch(
            paths: (try? targetPaths()) ?? [], oneFileSystem: oneFileSystem, excludes: (try? excludePatterns()) ?? [])
        defer { prefetch?.stop() }
        let backend = try global.backend()
        // Pack names need no key: they are listed while it is derived.
        let packListing = dryRun ? nil : Task { try await backend.listNames(.pack) }
        defer { packListing?.cancel() }
        let repo = try await global.openIndexed(backend)
        let options = try makeOptions(repo, scanCache: prefetch?.cache, packListing: packListing)
        let reporter = BackupReporter(json: global.json, quiet: global.quiet)
        // The index was loaded before the lock: once the lock is sure, no prune can run, but
        // one may have finished just before; then a loaded index file is gone.
        let loadedIndexFiles = repo.index.indexFiles
        let source = try archiveSource()
        let summary: BackupSummary = try await RepositoryLock.withLockConfirmedAlongside(
            repo.repository, exclusive: false, retryFor: try global.retryLockDuration(),
            confirmed: { try await ArchiveSource.ensureIndexCurrent(repo.repository, loaded: loadedIndexFiles) }
        ) {
            try await source.archive(repo, options: options, reporter: reporter)
        }
        reporter.finish(summary, dryRun: dryRun)
        if !summary.warnings.isEmpty {
            Output.error("Warning: at least one source file could not be read")
            throw ExitCode(3)
        }
    }

    private func makeOptions(_ repo: IndexedRepository, scanCache: ScanCache?,
                             packListing: Task<[String], any Error>?) throws -> BackupOptions {
        var options = BackupOptions(hostname: host ?? Environment.get("RESTIC_HOST") ?? KeyRing.currentHostName())
        options.scanCache = scanCache
        if let packListing { options.packListing = { try await packListing.value } }
        options.tags = tag.flatMap { $0.split(separator: ",").map(String.init) }
        options.excludes = try excludePatterns()
        options.excludeCaches = excludeCaches
        options.oneFileSystem = oneFileSystem
        options.force = force
        options.dryRun = dryRun
        options.programVersion = "cartae-restic \(CartaeVersion.number)"
        options.compression = try global.compressionMode(version: repo.repository.version)
        options.verifyBeforeUpload = !global.noExtraVerify
        if let packSize = global.packSize ?? Environment.get("RESTIC_PACK_SIZE").flatMap({ Int($0) }) {
            guard (4...128).contains(packSize) else { throw ResticError.invalid("--pack-size: must be between 4 and 128 MiB, not \(packSize)") }
            options.packSize = packSize * 1024 * 1024
        }
        if let readers = readConcurrency ?? Environment.get("RESTIC_READ_CONCURRENCY").flatMap({ Int($0) }) {
            guard (1...64).contains(readers) else { throw ResticError.invalid("--read-concurrency: must be between 1 and 64, not \(readers)") }
            options.fileConcurrency = readers
        }
        if let time {
            guard let parsed = TimeFormat.parseLocal(time) else {
                throw ResticError.invalid("--time: unable to parse \"\(time)\" (expected \"2006-01-02 15:04:05\")")
            }
            options.time = parsed
        }
        return options
    }

    private func excludePatterns() throws -> [PathPattern] {
        exclude.map { PathPattern($0) } + iexclude.map { PathPattern($0, caseInsensitive: true) }
            + (try excludeFile.flatMap { try Self.patterns(in: $0).map { PathPattern($0) } })
            + (try iexcludeFile.flatMap { try Self.patterns(in: $0).map { PathPattern($0, caseInsensitive: true) } })
    }

    private func targetPaths() throws -> [String] {
        var targets = paths
        for file in filesFrom {
            targets += try Self.patterns(in: file)
        }
        guard !targets.isEmpty else { throw ResticError.invalid("nothing to backup, please specify source files/dirs") }
        return targets
    }

    private func archiveSource() throws -> ArchiveSource {
        let isStream = stdin || stdinFromCommand
        return ArchiveSource(targets: isStream ? [] : try targetPaths(),
                             stream: isStream ? (stdinFilename, stdinFromCommand ? paths : nil) : nil,
                             force: force, parent: parent)
    }

    /// Lines of a pattern or file-list file, without comments and blank lines.
    static func patterns(in file: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ResticError.invalid("cannot read \(file)")
        }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}

/// What a backup reads, taken out of the parsed command so the lock's body can carry it.
struct ArchiveSource: Sendable {
    var targets: [String]
    /// --stdin or --stdin-from-command: the file name, and the command when there is one.
    var stream: (filename: String, command: [String]?)?
    var force: Bool
    var parent: String?

    func archive(_ repo: IndexedRepository, options: BackupOptions, reporter: BackupReporter) async throws -> BackupSummary {
        var options = options
        if let stream {
            options.parent = nil
            return try await StreamSource.backup(repo, options: options, filename: stream.filename, command: stream.command)
        }
        if !force {
            options.parent = try await findParent(repo, hostname: options.hostname)
        }
        let archiver = Archiver(repository: repo, options: options)
        return try await reporter.run(archiver.progress) { try await archiver.backup(paths: targets) }
    }

    private func findParent(_ repo: IndexedRepository, hostname: String) async throws -> SnapshotRecord? {
        if let parent { return try await repo.repository.findSnapshot(parent) }
        let cleaned = Set(targets.map { PathClean.clean($0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0) })
        return try await repo.repository.loadSnapshots().last {
            $0.snapshot.hostname == hostname && Set($0.snapshot.paths) == cleaned
        }
    }

    /// Refuses when an index file loaded before the lock is gone: a prune finished in between,
    /// and the loaded index may name packs it deleted.
    static func ensureIndexCurrent(_ repository: Repository, loaded: [ObjectID]) async throws {
        let present = Set(try await repository.list(.index))
        if let gone = loaded.first(where: { !present.contains($0) }) {
            throw ResticError(.other, "index file \(gone.shortHex) was removed while the lock was being taken (a prune finished meanwhile): run the backup again")
        }
    }
}
