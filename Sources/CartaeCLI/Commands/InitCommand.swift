import ArgumentParser
import ResticCore
import ResticChunker
import ResticRepository

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Initialize a new repository.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("repository-version"), help: "Repository format version to use: 1, 2, \"stable\" or \"latest\" (default: stable = 2).")
    var repositoryVersion: String = "stable"

    @Flag(name: .customLong("copy-chunker-params"), help: "Copy chunker parameters from the secondary repository (useful with the copy command).")
    var copyChunkerParams = false

    @Option(name: .customLong("from-repo"), help: "Source repository to copy chunker parameters from (default: $RESTIC_FROM_REPOSITORY).")
    var fromRepo: String?

    @Option(name: .customLong("from-password-file"), help: "File to read the source repository password from (default: $RESTIC_FROM_PASSWORD_FILE).")
    var fromPasswordFile: String?

    func run() async throws {
        let version: Int
        switch repositoryVersion {
        case "stable", "latest", "2": version = 2
        case "1": version = 1
        default: throw ResticError.invalid("--repository-version: unsupported repository version \"\(repositoryVersion)\" (use 1, 2, stable or latest)")
        }
        var polynomial: Polynomial?
        if copyChunkerParams {
            // A copy of the parsed options (one made with GlobalOptions() cannot be read).
            var source = global
            source.repo = fromRepo ?? Environment.get("RESTIC_FROM_REPOSITORY")
            source.repositoryFile = nil
            guard source.repo != nil else { throw ResticError.invalid("--copy-chunker-params needs --from-repo") }
            let password = try Credentials.password(
                file: fromPasswordFile ?? Environment.get("RESTIC_FROM_PASSWORD_FILE"),
                command: Environment.get("RESTIC_FROM_PASSWORD_COMMAND"),
                environment: Environment.get("RESTIC_FROM_PASSWORD"), prompt: "enter password for source repository: ")
            polynomial = try await Repository.open(try source.backend(), password: password).polynomial
        }
        let backend = try global.backend()
        let password = try global.password()
        let repo = try await Repository.initialize(backend, password: password, version: version, polynomial: polynomial)
        if global.json {
            var json = GoJSONWriter()
            json.beginObject()
            json.key("message_type"); json.string("initialized")
            json.key("id"); json.string(repo.config.id)
            json.key("repository"); json.string(backend.location)
            json.endObject()
            Output.write(json.bytes + [10])
        } else if !global.quiet {
            Output.print("created restic repository \(String(repo.config.id.prefix(10))) at \(backend.location)")
            Output.print("")
            Output.print("Please note that knowledge of your password is required to access")
            Output.print("the repository. Losing your password means that your data is")
            Output.print("irrecoverably lost.")
        }
    }
}
