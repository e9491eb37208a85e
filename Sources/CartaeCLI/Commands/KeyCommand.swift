import ArgumentParser
import ResticCore
import ResticRepository

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Manage keys (passwords).",
        subcommands: [List.self, Add.self, Remove.self, Passwd.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let repo = try await global.openRepository()
            var rows: [[String]] = []
            var json = GoJSONWriter()
            json.beginArray()
            for id in try await repo.list(.key).sorted() {
                guard let file = try? KeyFile.decode(try await repo.backend.load(FileHandle(.key, id))) else {
                    Output.error("could not load key \(id.shortHex)")
                    continue
                }
                let current = id == repo.keyID
                let created = GoTime(rfc3339: file.created).map(TimeFormat.local) ?? file.created
                rows.append([(current ? "*" : " ") + id.shortHex, file.username, file.hostname, created])
                json.beginObject()
                json.key("current"); json.bool(current)
                json.key("id"); json.string(id.hex)
                json.key("userName"); json.string(file.username)
                json.key("hostName"); json.string(file.hostname)
                json.key("created"); json.string(created)
                json.endObject()
            }
            json.endArray()
            if global.json {
                Output.write(json.bytes + [10])
            } else {
                Output.table([" ID", "User", "Host", "Created"], rows).forEach(Output.print)
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a new key (password) to the repository.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("new-password-file"), help: "File from which to read the new password.")
        var newPasswordFile: String?
        @Option(name: .customLong("user"), help: "The username for the new key.")
        var user: String?
        @Option(name: .customLong("host"), help: "The hostname for the new key.")
        var host: String?

        func run() async throws {
            let repo = try await global.openRepository()
            let password = try KeyCommand.newPassword(newPasswordFile)
            let id = try await RepositoryLock.withLock(repo, exclusive: false) {
                try await KeyRing.add(repo.backend, master: repo.key, password: password,
                                      parameters: KeyRing.calibrate(), username: user, hostname: host)
            }
            if !global.quiet { Output.print("saved new key with ID \(id.hex)") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a key (password) from the repository.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "ID of the key to remove.") var id: String

        func run() async throws {
            let repo = try await global.openRepository()
            let target = try await repo.resolve(.key, prefix: id)
            guard target != repo.keyID else {
                throw ResticError.invalid("refusing to remove key \(target.shortHex): it is the key currently used to access the repository")
            }
            try await RepositoryLock.withLock(repo, exclusive: true) {
                try await repo.backend.remove(FileHandle(.key, target))
            }
            if !global.quiet { Output.print("removed key \(target.hex)") }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "passwd", abstract: "Change key (password); creates a new key ID.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("new-password-file"), help: "File from which to read the new password.")
        var newPasswordFile: String?

        func run() async throws {
            let repo = try await global.openRepository()
            let password = try KeyCommand.newPassword(newPasswordFile)
            let id = try await RepositoryLock.withLock(repo, exclusive: true) {
                let id = try await KeyRing.add(repo.backend, master: repo.key, password: password,
                                               parameters: KeyRing.calibrate())
                // The old key goes only after the new one is durable, so a crash leaves one usable.
                try await repo.backend.remove(FileHandle(.key, repo.keyID))
                return id
            }
            if !global.quiet { Output.print("saved new key as <Key of \(KeyRing.currentUserName())@\(KeyRing.currentHostName()), created on \(TimeFormat.local(GoTime.now()))> \(id.shortHex)") }
        }
    }

    static func newPassword(_ file: String?) throws -> String {
        if let file {
            return try Credentials.password(file: file, command: nil, environment: nil, prompt: "")
        }
        let first = try Credentials.readInteractively("enter new password: ")
        let second = try Credentials.readInteractively("enter password again: ")
        guard first == second else { throw ResticError.invalid("passwords do not match") }
        guard !first.isEmpty else { throw ResticError.invalid("an empty password is not allowed by default") }
        return first
    }
}
