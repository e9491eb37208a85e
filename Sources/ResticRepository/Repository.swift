import ResticCore
import ResticCrypto
import ResticCompress
import ResticChunker

/// An opened repository: the backend, the master key and the config. It can read and write
/// whole files; blobs need an `IndexedRepository`, so nothing can look up a blob before the
/// index is loaded.
public struct Repository: Sendable {
    public let backend: any Backend
    public let key: MasterKey
    public let config: RepositoryConfig
    /// The key file that opened the repository.
    public let keyID: ObjectID

    /// Decompressed files and blobs larger than this are refused instead of allocated.
    public static let maxPlaintextSize = 512 * 1024 * 1024

    public var version: Int { config.version }
    public var polynomial: Polynomial { Polynomial(config.chunkerPolynomial) }

    init(backend: any Backend, key: MasterKey, config: RepositoryConfig, keyID: ObjectID) {
        self.backend = backend
        self.key = key
        self.config = config
        self.keyID = keyID
    }

    /// Opens the repository with the first key file that the password unlocks.
    public static func open(_ backend: any Backend, password: String, keyHint: String? = nil) async throws -> Repository {
        guard try await backend.repositoryExists() else {
            throw ResticError(.noRepository, "repository \(backend.location) does not exist: unable to open config file")
        }
        let (keyID, masterKey) = try await KeyRing.unlock(backend, password: password, hint: keyHint)
        let sealed = try await backend.load(.config)
        let plaintext: [UInt8]
        do {
            plaintext = try masterKey.open(sealed)
        } catch {
            throw ResticError.corrupt("config: \(error)")
        }
        let config: RepositoryConfig
        do {
            config = try RepositoryConfig.decode(plaintext)
        } catch {
            throw ResticError.corrupt("config: \(error)")
        }
        guard Polynomial(config.chunkerPolynomial).isIrreducible,
              Polynomial(config.chunkerPolynomial).degree == 53 else {
            throw ResticError.corrupt("config: invalid chunker polynomial \(String(config.chunkerPolynomial, radix: 16))")
        }
        return Repository(backend: backend, key: masterKey, config: config, keyID: keyID)
    }

    // MARK: unpacked files (index, snapshots, locks)

    /// Loads, authenticates and decodes an unpacked file; its name must be the hash of its bytes.
    public func loadUnpacked(_ type: FileType, _ id: ObjectID) async throws -> [UInt8] {
        let handle = FileHandle(type, id)
        let sealed = try await backend.load(handle)
        guard ObjectID(bytes: SHA256.digest(sealed)) == id else {
            throw ResticError.corrupt("\(handle): content does not match its ID")
        }
        return try decodeUnpacked(sealed, handle: handle)
    }

    func decodeUnpacked(_ sealed: [UInt8], handle: FileHandle) throws -> [UInt8] {
        let plaintext: [UInt8]
        do {
            plaintext = try key.open(sealed)
        } catch {
            throw ResticError.corrupt("\(handle): \(error)")
        }
        guard version >= 2, let first = plaintext.first else { return plaintext }
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            return plaintext  // written before the repository was upgraded to v2
        case 2:
            do {
                return try plaintext.withUnsafeBytes {
                    try ZstdDecompressor().decompress(UnsafeRawBufferPointer(rebasing: $0[1...]),
                                                      expectedSize: nil, limit: Self.maxPlaintextSize)
                }
            } catch {
                throw ResticError.corrupt("\(handle): \(error)")
            }
        default:
            throw ResticError.corrupt("\(handle): unsupported encoding format \(first)")
        }
    }

    /// Encodes (v2: version byte + zstd), encrypts and stores an unpacked file; returns its ID.
    @discardableResult
    public func saveUnpacked(_ type: FileType, _ plaintext: [UInt8]) async throws -> ObjectID {
        var payload = plaintext
        if version >= 2 {
            payload = [2] + (try ZstdCompressor(level: 3).compress(plaintext))
        }
        let sealed = key.seal(payload)
        // Read back what we are about to store, so a fault in compression or encryption never
        // reaches the repository.
        let roundTrip = try decodeUnpacked(sealed, handle: FileHandle(type, "new"))
        guard roundTrip == plaintext else {
            throw ResticError.corrupt("internal: \(type) file failed verification before upload")
        }
        let id = ObjectID(bytes: SHA256.digest(sealed))
        if type != .lock { try await LockConfirmation.waitIfPending() }
        try await backend.save(FileHandle(type, id), data: sealed)
        return id
    }

    /// All IDs of one file type.
    public func list(_ type: FileType) async throws -> [ObjectID] {
        try await backend.list(type).compactMap { ObjectID(hex: $0.name) }
    }

    /// Resolves a full ID or a unique prefix of one, as restic does on its command line.
    public func resolve(_ type: FileType, prefix: String) async throws -> ObjectID {
        if let id = ObjectID(hex: prefix) { return id }
        let lowered = prefix.lowercased()
        let matches = try await list(type).filter { $0.hex.hasPrefix(lowered) }
        switch matches.count {
        case 1: return matches[0]
        case 0: throw ResticError.notFound("no matching ID found for prefix \"\(prefix)\"")
        default: throw ResticError.invalid("multiple IDs with prefix \"\(prefix)\" found")
        }
    }

    // MARK: index

    /// Loads every index file (concurrently) into a master index.
    public func loadIndex() async throws -> IndexedRepository {
        let ids = try await list(.index)
        var index = MasterIndex()
        try await withThrowingTaskGroup(of: (ObjectID, IndexFile).self) { group in
            var pending = ids[...]
            let width = max(2, backend.connections)
            func startNext() {
                guard let id = pending.popFirst() else { return }
                group.addTask {
                    let bytes = try await self.loadUnpacked(.index, id)
                    do {
                        return (id, try IndexFile.decode(bytes))
                    } catch {
                        throw ResticError.corrupt("index \(id.hex): \(error)")
                    }
                }
            }
            for _ in 0..<width { startNext() }
            while let (id, file) = try await group.next() {
                if version < 2, file.packs.contains(where: { $0.blobs.contains { $0.uncompressedLength != 0 } }) {
                    throw ResticError.corrupt("index \(id.hex) uses feature not supported by repository version 1")
                }
                index.add(file, from: id)
                startNext()
            }
        }
        index.finalize()
        return IndexedRepository(repository: self, index: index)
    }
}
