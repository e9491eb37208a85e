import Foundation
import ResticCore
import ResticBackends

/// Turns `-r`/`RESTIC_REPOSITORY` into a backend, spelled as restic spells locations.
enum RepositoryLocation {
    static func text(_ options: GlobalOptions) throws -> String {
        if let repo = options.repo ?? Environment.get("RESTIC_REPOSITORY") { return repo }
        if let file = options.repositoryFile ?? Environment.get("RESTIC_REPOSITORY_FILE") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ResticError.invalid("--repository-file: cannot read \(file)")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        throw ResticError.invalid("Please specify repository location (-r or --repository-file)")
    }

    static func backend(_ options: GlobalOptions) throws -> any Backend {
        let location = try text(options)
        if location.hasPrefix("local:") {
            return LocalBackend(path: String(location.dropFirst("local:".count)))
        }
        for scheme in ["rest:", "s3:", "sftp:", "b2:", "azure:", "gs:", "swift:", "rclone:"] where location.hasPrefix(scheme) {
            throw ResticError.invalid("repository \(location.split(separator: "@").last ?? ""): backend \"\(scheme.dropLast())\" is not supported yet")
        }
        return LocalBackend(path: location)
    }
}
