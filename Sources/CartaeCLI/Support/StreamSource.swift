#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ResticCore
import ResticRepository
import ResticArchiver

/// `backup --stdin` and `--stdin-from-command`: the stream becomes one file in the snapshot.
/// A command's stderr goes straight to ours; its exit status decides whether a snapshot is
/// written at all.
enum StreamSource {
    static func backup(_ repo: IndexedRepository, options: BackupOptions, filename: String,
                       command: [String]?) async throws -> BackupSummary {
        let archiver = Archiver(repository: repo, options: options)
        guard let command else {
            return try await archiver.backupStream(filename: filename, read: { try readFD(STDIN_FILENO, $0, "stdin") })
        }
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        guard let executable = arguments.first else {
            throw ResticError.invalid("--stdin-from-command: no command given (use: backup --stdin-from-command -- CMD ARGS)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolve(executable))
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw ResticError.invalid("--stdin-from-command: cannot start \(executable): \(error.localizedDescription)")
        }
        let fd = pipe.fileHandleForReading.fileDescriptor
        do {
            return try await archiver.backupStream(filename: filename, read: { try readFD(fd, $0, executable) }) {
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal || process.terminationStatus != 0 {
                    throw ResticError(.other, "\(executable) failed with exit status \(process.terminationStatus): no snapshot saved")
                }
            }
        } catch {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            if process.terminationStatus != 0, (error as? ResticError)?.message.contains("no data read") == true {
                throw ResticError(.other, "\(executable) failed with exit status \(process.terminationStatus): no snapshot saved")
            }
            throw error
        }
    }

    static func readFD(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ name: String) throws -> Int {
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw ResticError(.io, "read \(name): \(String(cString: strerror(errno)))") }
        }
    }

    /// Finds a command on PATH, as a shell would, without starting a shell.
    static func resolve(_ name: String) throws -> String {
        if name.contains("/") { return name }
        for dir in (Environment.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw ResticError.invalid("--stdin-from-command: executable \"\(name)\" not found in PATH")
    }
}
