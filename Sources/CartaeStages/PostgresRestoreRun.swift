import Foundation
import ResticCore
import ResticRepository
import Subprocess

/// Streams a stored dump into `pg_restore --clean --if-exists`: blobs are loaded one ahead
/// and written to pg_restore's stdin as they arrive, so no copy of the dump touches the disk.
enum PostgresRestoreRun {
    static func pipe(_ repository: IndexedRepository, node: Node, into database: String,
                     client: PostgresClient) async throws -> ProcessOutcome {
        let arguments = ["--clean", "--if-exists", "--no-password", "--dbname=\(conninfo(database))"]
        do {
            let result = try await Subprocess.run(
                .name("pg_restore"), arguments: Arguments(arguments),
                environment: ChildProcess.environment(client.environment(database: database)),
                input: .inputWriter, output: .discarded, error: .string(limit: ChildProcess.errorLimit)
            ) { execution -> String? in
                let writer = execution.standardInputWriter
                do {
                    try await DRContext.streamContent(repository, node) { bytes in
                        _ = try await writer.write(bytes)
                    }
                    try await writer.finish()
                    return nil
                } catch {
                    try? await writer.finish()
                    return "\(error)"
                }
            }
            var outcome = ProcessOutcome(name: "pg_restore", status: result.terminationStatus, stdout: [],
                                         stderr: result.standardError)
            // A write error only matters when pg_restore itself did not explain what went wrong.
            if let problem = result.closureResult, outcome.succeeded {
                outcome.exitCode = 1
                outcome.stderr += "\nerror: feeding the dump: \(problem)"
            }
            return outcome
        } catch let error as SubprocessError {
            throw ChildProcess.launchFailure("pg_restore", error)
        }
    }

    /// A libpq connection string naming only the database, with its value quoted, so a name
    /// holding `=` or spaces is still a name; host, port and user come from the environment.
    static func conninfo(_ database: String) -> String {
        let escaped = database.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        return "dbname='\(escaped)'"
    }
}
