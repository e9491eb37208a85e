import ArgumentParser
import ResticBackends
import ResticCore

/// Parses the command line, runs the command and turns every outcome into restic's exit codes:
/// 0 ok, 1 error, 3 partial, 10 no repository, 11 locked, 12 wrong password, 130 interrupted.
public enum Runner {
    public static func run(_ arguments: [String]) async -> Int32 {
        let status = await runCommand(arguments)
        BackendUsage.reportIfVerbose()
        await HTTPBackends.shutdown()  // the shared HTTP client(s), if any backend opened one
        return status
    }

    static func runCommand(_ arguments: [String]) async -> Int32 {
        let arguments = moveGlobalFlags(arguments)
        let command: ParsableCommand
        do {
            command = try CartaeRestic.parseAsRoot(arguments)
        } catch {
            let code = CartaeRestic.exitCode(for: error)
            let message = CartaeRestic.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Output.print(message) }
                return 0
            }
            Output.error(usageError(error))
            return 1  // restic exits 1 on usage errors
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
            return 0
        } catch let error as ResticError {
            Output.error("Fatal: \(error.message)")
            return exitCode(for: error.kind)
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch is CancellationError {
            Output.error("Fatal: interrupted")
            return 130
        } catch {
            // Help and usage errors surface from run() for built-in subcommands such as help.
            let code = CartaeRestic.exitCode(for: error)
            let message = CartaeRestic.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Output.print(message) }
                return 0
            }
            Output.error(usageError(error))
            return 1
        }
    }

    /// A usage error as one line, as restic prints it (no usage text): the problem and where
    /// to read more.
    static func usageError(_ error: Error) -> String {
        let lines = CartaeRestic.message(for: error).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return "Fatal: \(lines.isEmpty ? "\(error)" : lines.joined(separator: "; ")) (see --help)"
    }

    public static func exitCode(for kind: ResticError.Kind) -> Int32 {
        switch kind {
        case .noRepository: return 10
        case .locked: return 11
        case .wrongPassword: return 12
        case .interrupted: return 130
        default: return 1
        }
    }

    /// restic accepts global flags before the command name (`restic -r REPO snapshots`); the
    /// parser wants them after it, so they are moved there.
    static func moveGlobalFlags(_ arguments: [String]) -> [String] {
        var moved: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if GlobalOptions.valueFlags.contains(name) {
                moved.append(argument)
                if !argument.contains("="), index + 1 < arguments.count {
                    moved.append(arguments[index + 1])
                    index += 1
                }
            } else if GlobalOptions.booleanFlags.contains(argument) || isVerbosityFlag(argument) {
                moved.append(argument)
            } else {
                break
            }
            index += 1
        }
        guard index < arguments.count, !moved.isEmpty else { return arguments }
        // Insert after the command path (e.g. `key list`), i.e. after the leading words.
        var commandWords = index
        while commandWords < arguments.count, !arguments[commandWords].hasPrefix("-"),
              commandWords - index < 2, isSubcommandWord(arguments[index..<(commandWords + 1)]) {
            commandWords += 1
        }
        return Array(arguments[index..<commandWords]) + moved + Array(arguments[commandWords...])
    }

    private static func isVerbosityFlag(_ argument: String) -> Bool {
        argument.count > 1 && argument.hasPrefix("-") && argument.dropFirst().allSatisfy { $0 == "v" }
    }

    private static func isSubcommandWord(_ words: ArraySlice<String>) -> Bool {
        var command: ParsableCommand.Type = CartaeRestic.self
        for word in words {
            guard let next = command.configuration.subcommands.first(where: { $0._commandName == word }) else {
                return false
            }
            command = next
        }
        return true
    }
}
