#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ResticCore

/// Finds the repository password the way restic does: `--password-file` or
/// `--password-command` (or their environment variables) first, then `RESTIC_PASSWORD`, then a
/// prompt on a terminal, else the first line of standard input.
enum Credentials {
    static func password(_ options: GlobalOptions, prompt: String = "enter password for repository: ") throws -> String {
        try password(file: options.passwordFile ?? Environment.get("RESTIC_PASSWORD_FILE"),
                     command: options.passwordCommand ?? Environment.get("RESTIC_PASSWORD_COMMAND"),
                     environment: Environment.get("RESTIC_PASSWORD"), prompt: prompt)
    }

    /// The same search from explicit sources (a second repository's, or a new key's password);
    /// a `GlobalOptions` made outside parsing cannot be read, so callers pass values.
    static func password(file: String?, command: String?, environment: String?, prompt: String) throws -> String {
        if file != nil && command != nil {
            throw ResticError.invalid("Password file and command are mutually exclusive")
        }
        let password: String
        if let command {
            password = try run(command)
        } else if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ResticError.invalid("--password-file: cannot read \(file)")
            }
            password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let environment {
            password = environment
        } else {
            password = try readInteractively(prompt)
        }
        guard !password.isEmpty else {
            throw ResticError.invalid("an empty password is not allowed by default")
        }
        return password
    }

    /// Runs a password command without a shell in between when it has no shell syntax, and
    /// never puts the password on a command line.
    private static func run(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        do {
            try process.run()
        } catch {
            throw ResticError.invalid("--password-command: cannot start: \(error.localizedDescription)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ResticError.invalid("--password-command: command exited with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func readInteractively(_ prompt: String) throws -> String {
        if isatty(STDIN_FILENO) == 1 {
            FileHandle.standardError.write(Data(prompt.utf8))
            var old = termios()
            tcgetattr(STDIN_FILENO, &old)
            var silent = old
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
            defer {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old)
                FileHandle.standardError.write(Data("\n".utf8))
            }
            return readLine(strippingNewline: true) ?? ""
        }
        guard let line = readLine(strippingNewline: true) else {
            throw ResticError.invalid("Resolving password failed: no password given (set RESTIC_PASSWORD, RESTIC_PASSWORD_FILE or --password-file)")
        }
        return line
    }
}
