import ResticCore
import ResticCrypto
import ResticChunker

extension Repository {
    /// Creates a new repository: random master key, a key file for `password`, and the config
    /// with a fresh random irreducible chunker polynomial (or a given one, for
    /// `--copy-chunker-params`).
    public static func initialize(_ backend: any Backend, password: String, version: Int = 2,
                                  polynomial: Polynomial? = nil,
                                  scrypt: KeyRing.ScryptParameters? = nil) async throws -> Repository {
        guard (1...2).contains(version) else {
            throw ResticError.invalid("--repository-version: only versions 1 and 2 are supported, not \(version)")
        }
        guard !password.isEmpty else { throw ResticError.invalid("an empty password is not allowed by default") }
        try await backend.create()
        let master = MasterKey.random()
        let parameters = scrypt ?? KeyRing.calibrate()
        let keyID = try await KeyRing.add(backend, master: master, password: password, parameters: parameters)
        let chosen = polynomial ?? Polynomial.random { randomWord() }
        let config = RepositoryConfig(version: version, id: SecureRandom.bytes(32).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(), chunkerPolynomial: chosen.value)
        // The config is encrypted but never compressed, even in v2.
        try await backend.save(.config, data: master.seal(config.encode()))
        return Repository(backend: backend, key: master, config: config, keyID: keyID)
    }

    static func randomWord() -> UInt64 {
        SecureRandom.bytes(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
}
