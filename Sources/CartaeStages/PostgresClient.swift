import Foundation
import Subprocess

/// Talks to PostgreSQL through its own tools. Connection settings and the password go to the
/// tools through libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD), so no
/// secret appears in a process list and a database name is never parsed as a connection string.
public struct PostgresClient: Sendable {
    public let settings: DRConfig.PostgresSettings

    public init(settings: DRConfig.PostgresSettings) {
        self.settings = settings
    }

    public struct TableCount: Codable, Sendable, Equatable {
        public var schema: String
        public var table: String
        public var rows: Int64
    }

    func environment(database: String) -> [String: String?] {
        ["PGHOST": settings.host, "PGPORT": String(settings.port), "PGUSER": settings.user,
         "PGDATABASE": database, "PGPASSWORD": settings.password, "PGCONNECT_TIMEOUT": "10",
         "PGAPPNAME": "cartae-dr", "PGSERVICE": nil, "PGOPTIONS": nil]
    }

    static let psqlFlags = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]

    /// Rows of every ordinary or partitioned table pg_dump writes (extension members and
    /// temporary tables are left out, as pg_dump leaves them out), as one line of JSON.
    /// `query_to_xml` lets one statement count every table inside the current snapshot.
    static let tableCountsSQL = """
        SELECT coalesce(jsonb_agg(jsonb_build_object('schema', n.nspname, 'table', c.relname, 'rows', \
        (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), \
        false, true, '')))[1]::text::bigint) ORDER BY n.nspname, c.relname), '[]'::jsonb)::text \
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
        WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' \
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' \
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass \
        AND d.objid = c.oid AND d.deptype = 'e');
        """

    static func decodeCounts(_ line: String) throws -> [TableCount] {
        do {
            return try JSONDecoder().decode([TableCount].self, from: Data(line.utf8))
                .sorted { ($0.schema, $0.table) < ($1.schema, $1.table) }
        } catch {
            throw StageError("cannot read the table counts psql returned: \(line.prefix(200))")
        }
    }

    /// Runs SQL (given on stdin, so psql variables such as `:'name'` work) and returns stdout.
    public func query(_ sql: String, database: String, variables: [String: String] = [:]) async throws -> String {
        var arguments = Self.psqlFlags
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) { arguments += ["-v", "\(name)=\(value)"] }
        let outcome = try await ChildProcess.run("psql", arguments, environment: environment(database: database),
                                                 input: Array(sql.utf8))
        guard outcome.succeeded else { throw StageError(outcome.failureDescription) }
        return outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func tableCounts(database: String) async throws -> [TableCount] {
        try Self.decodeCounts(try await query(Self.tableCountsSQL, database: database))
    }

    public func serverVersion(database: String) async throws -> String {
        try await query("SELECT current_setting('server_version');", database: database)
    }

    public func databaseExists(_ name: String) async throws -> Bool {
        let answer = try await query("SELECT count(*) FROM pg_catalog.pg_database WHERE datname = :'name';",
                                     database: "postgres", variables: ["name": name])
        return answer == "1"
    }

    public func createDatabase(_ name: String) async throws {
        _ = try await query("CREATE DATABASE :\"name\";", database: "postgres", variables: ["name": name])
    }

    /// What a snapshot session saw: the exported snapshot, the server version and the row
    /// counts, all inside one repeatable-read transaction.
    public struct SnapshotView: Sendable {
        public var snapshot: String
        public var serverVersion: String
        public var tables: [TableCount]
    }

    /// Opens a read-only repeatable-read transaction, exports its snapshot, counts every
    /// table in it, and runs `body` while the transaction stays open, so a `pg_dump
    /// --snapshot` started by `body` sees exactly the rows counted, whatever is written
    /// meanwhile.
    public func withSnapshot<T: Sendable>(database: String, _ body: (SnapshotView) async throws -> T) async throws -> T {
        let result = try await Subprocess.run(
            .name("psql"), arguments: Arguments(Self.psqlFlags), environment: ChildProcess.environment(environment(database: database)),
            input: .inputWriter, output: .sequence, error: .string(limit: ChildProcess.errorLimit)
        ) { execution -> SessionOutcome<T> in
            let writer = execution.standardInputWriter
            var lines = execution.standardOutput.strings(bufferingPolicy: .maxLineLength(64 << 20)).makeAsyncIterator()
            do {
                _ = try await writer.write("""
                    BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
                    SELECT json_build_object('snapshot', pg_export_snapshot(), 'version', current_setting('server_version'))::text;

                    """)
                guard let header = try await lines.next() else { return .disconnected }
                guard let object = try JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: Any],
                      let snapshot = object["snapshot"] as? String, let version = object["version"] as? String else {
                    throw StageError("unexpected answer from psql: \(header.prefix(200))")
                }
                _ = try await writer.write(Self.tableCountsSQL + "\n")
                guard let countsLine = try await lines.next() else { return .disconnected }
                let view = SnapshotView(snapshot: snapshot, serverVersion: version, tables: try Self.decodeCounts(countsLine))
                let value = try await body(view)
                _ = try await writer.write("COMMIT;\n")
                try await writer.finish()
                while try await lines.next() != nil {}
                return .done(value)
            } catch {
                try? await writer.finish()
                return .failed(error)
            }
        }
        switch result.closureResult {
        case .done(let value): return value
        case .failed(let error): throw error
        case .disconnected:
            let outcome = ProcessOutcome(name: "psql", status: result.terminationStatus, stdout: [], stderr: result.standardError)
            throw StageError("cannot open a snapshot of \(database) on \(settings.host):\(settings.port): \(outcome.failureDescription)")
        }
    }
}

/// How an interactive psql session ended: `body` ran, failed, or psql went away first.
enum SessionOutcome<T: Sendable>: Sendable {
    case done(T)
    case failed(Error)
    case disconnected
}
