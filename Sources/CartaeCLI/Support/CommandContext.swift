import ResticCore
import ResticRepository

extension GlobalOptions {
    func backend() throws -> any Backend { try RepositoryLocation.backend(self) }

    func password() throws -> String { try Credentials.password(self) }

    /// Opens the repository named by the options with the password they lead to.
    func openRepository() async throws -> Repository {
        try await openRepository(try backend())
    }

    func openRepository(_ backend: any Backend) async throws -> Repository {
        guard try await backend.repositoryExists() else {
            throw ResticError(.noRepository, "repository does not exist: unable to open config file: stat \(backend.location)/config: no such file or directory\nIs there a repository at the following location?\n\(backend.location)")
        }
        return try await Repository.open(backend, password: try password(),
                                         keyHint: keyHint ?? Environment.get("RESTIC_KEY_HINT"))
    }

    func openIndexed() async throws -> IndexedRepository {
        try await openIndexed(try backend())
    }

    func openIndexed(_ backend: any Backend) async throws -> IndexedRepository {
        try await openRepository(backend).loadIndex().cachingTreePacks()
    }
}
