import Foundation
import ResticArchiver
import ResticCore
import ResticRepository

/// Backs up each database as `postgres/<db>.dump` (pg_dump custom format, uncompressed so the
/// repository deduplicates and compresses it) plus `postgres/<db>.meta.json` (versions and
/// row counts), one snapshot per database tagged `postgres` and `db=<name>`.
///
/// The dump streams from pg_dump straight into the archiver, with a copy of every byte fed
/// to `pg_restore --list`; the snapshot is written only when pg_dump exited 0, produced
/// bytes, and pg_restore could read the archive and lists data for every counted table.
/// pg_dump runs on a snapshot exported by a separate repeatable-read session in which the
/// rows are counted, so the counts match the dump exactly under concurrent writes.
public struct PostgresStage: Sendable {
    let context: DRContext
    let settings: DRConfig.PostgresSettings
    let client: PostgresClient

    public init(context: DRContext, settings: DRConfig.PostgresSettings) {
        self.context = context
        self.settings = settings
        client = PostgresClient(settings: settings)
    }

    public struct DumpInfo: Codable, Sendable {
        public var format = 1
        public var database: String
        public var server: String
        public var serverVersion: String
        public var pgDumpVersion: String
        public var dumpedFromVersion: String?
        public var snapshot: String
        public var startedAt: String
        public var dumpFile: String
        public var dumpBytes: UInt64
        public var tocEntries: Int?
        public var tables: [PostgresClient.TableCount]
    }

    static func paths(_ database: String) -> (dump: String, meta: String) {
        let name = DRContext.fileName(database)
        return ("postgres/\(name).dump", "postgres/\(name).meta.json")
    }

    static func tags(_ database: String) -> [String] { [StageKind.postgres.tag, "db=\(database)"] }

    static func requireTools() throws {
        for tool in ["psql", "pg_dump", "pg_restore"] where ChildProcess.which(tool) == nil {
            throw StageError("\(tool) not found in PATH (install it: \(ChildProcess.installHint(tool)))")
        }
    }

    // MARK: backup

    public func backup(database: String, repository: Repository) async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64) {
        try Self.requireTools()
        StreamTee.ignoreBrokenPipes()
        let toolVersion = try await ChildProcess.run("pg_dump", ["--version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let started = DRContext.rfc3339()
        let paths = Self.paths(database)
        let summary = try await context.withBackupLock(repository) { indexed in
            try await client.withSnapshot(database: database) { view in
                context.console.info("postgres: dumping \(database) (\(view.tables.count) tables, \(view.tables.reduce(0) { $0 + $1.rows }) rows, snapshot \(view.snapshot))")
                return try await dump(database, view: view, indexed: indexed, toolVersion: toolVersion, started: started, paths: paths)
            }
        }
        let id = summary.snapshotID
        return ("snapshot \(id?.shortHex ?? "-") saved: \(paths.dump) \(summary.totalBytesProcessed) bytes",
                id, summary.totalBytesProcessed)
    }

    private func dump(_ database: String, view: PostgresClient.SnapshotView, indexed: IndexedRepository,
                      toolVersion: String, started: String, paths: (dump: String, meta: String)) async throws -> BackupSummary {
        let dumpPipe = try ChildProcess.pipe()
        let listPipe = try ChildProcess.pipe()
        let tee = StreamTee(source: dumpPipe.read, copy: listPipe.write)
        let dumpDone = Promise<Result<ProcessOutcome, Error>>()
        let listDone = Promise<Result<ProcessOutcome, Error>>()
        let environment = client.environment(database: database)
        let arguments = ["--format=custom", "--compress=0", "--snapshot=\(view.snapshot)", "--no-password"]
        let archiver = Archiver(repository: indexed, options: context.backupOptions(tags: Self.tags(database)))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                dumpDone.fulfill(await capture {
                    try await ChildProcess.run("pg_dump", arguments, environment: environment, stdin: nil, stdout: dumpPipe.write)
                })
            }
            group.addTask {
                listDone.fulfill(await capture {
                    try await ChildProcess.run("pg_restore", ["--list"], stdin: listPipe.read, stdout: nil)
                })
            }
            let summary = try await archiver.backupStreams { files in
                let bytes = try await files.addStream(paths.dump) { try tee.read(into: $0) }
                tee.closeCopy()
                tee.closeSource()
                let dump = try await dumpDone.value.get()
                guard dump.succeeded else { throw StageError("\(dump.failureDescription): no snapshot written") }
                guard bytes > 0 else { throw StageError("pg_dump produced no output: no snapshot written") }
                let list = try await listDone.value.get()
                let listing = try Self.checkListing(list, tables: view.tables)
                let info = DumpInfo(database: database, server: "\(settings.host):\(settings.port)",
                                    serverVersion: view.serverVersion, pgDumpVersion: toolVersion,
                                    dumpedFromVersion: listing.dumpedFrom, snapshot: view.snapshot, startedAt: started,
                                    dumpFile: paths.dump, dumpBytes: bytes, tocEntries: listing.entries, tables: view.tables)
                try await files.addFile(paths.meta, bytes: Array(try DRContext.jsonEncoder().encode(info)) + [10])
            }
            try await group.waitForAll()
            return summary
        }
    }

    /// Checks what `pg_restore --list` made of the dump: it must have read it, and it must list
    /// data for every table that was counted.
    static func checkListing(_ list: ProcessOutcome, tables: [PostgresClient.TableCount]) throws -> (dumpedFrom: String?, entries: Int?) {
        guard list.succeeded else {
            throw StageError("pg_restore --list cannot read the dump (\(list.failureDescription)): no snapshot written")
        }
        let lines = list.output.split(whereSeparator: \.isNewline).map(String.init)
        func header(_ name: String) -> String? {
            lines.first { $0.hasPrefix(";") && $0.contains(name + ":") }
                .map { $0[$0.range(of: name + ":")!.upperBound...].trimmingSpaces }
        }
        guard header("Format") == "CUSTOM" else {
            throw StageError("pg_restore --list does not see a custom-format archive: no snapshot written")
        }
        for table in tables where !lines.contains(where: { $0.contains(" TABLE DATA \(table.schema) \(table.table) ") }) {
            throw StageError("the dump has no data for table \(table.schema).\(table.table): no snapshot written")
        }
        return (header("Dumped from database version"), header("TOC Entries").flatMap { Int($0) })
    }

    // MARK: restore

    /// Restores one database's snapshot with `pg_restore --clean --if-exists` into `target`
    /// (created when missing) and checks every recorded row count.
    public func restore(record: SnapshotRecord, repository: Repository, database: String,
                        target: String) async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64) {
        try Self.requireTools()
        StreamTee.ignoreBrokenPipes()
        let indexed = try await repository.loadIndex()
        let paths = Self.paths(database)
        let info = try DRContext.jsonDecoder().decode(
            DumpInfo.self, from: Data(try await DRContext.readSmallFile(indexed, snapshot: record, path: paths.meta)))
        guard let node = try await indexed.node(at: paths.dump, below: record.snapshot.tree), node.type == "file" else {
            throw StageError("snapshot \(record.id.shortHex) has no \(paths.dump)")
        }
        if try await !client.databaseExists(target) {
            context.console.info("postgres: creating database \(target)")
            try await client.createDatabase(target)
        }
        context.console.info("postgres: restoring \(database) from snapshot \(record.id.shortHex) into \(target) (\(node.size) bytes)")
        let outcome = try await PostgresRestoreRun.pipe(indexed, node: node, into: target, client: client)
        guard outcome.succeeded else { throw StageError("\(outcome.failureDescription): database \(target) may be incomplete") }

        let restored = try await client.tableCounts(database: target)
        let found = Dictionary(restored.map { ("\($0.schema).\($0.table)", $0.rows) }, uniquingKeysWith: { a, _ in a })
        var mismatches: [String] = []
        for table in info.tables {
            let name = "\(table.schema).\(table.table)"
            let rows = found[name]
            if rows != table.rows { mismatches.append("\(name): \(rows.map(String.init) ?? "missing") rows, expected \(table.rows)") }
        }
        guard mismatches.isEmpty else {
            throw StageError("restored \(target) but row counts differ: " + mismatches.prefix(5).joined(separator: "; ")
                             + (mismatches.count > 5 ? " (and \(mismatches.count - 5) more)" : ""))
        }
        let rows = info.tables.reduce(0) { $0 + $1.rows }
        return ("restored snapshot \(record.id.shortHex) into database \(target): \(info.tables.count) tables, \(rows) rows verified",
                record.id, node.size)
    }
}
