import Testing
@testable import ResticCore

/// Our encoder's output for a decoded value failed to decode again, or encoded differently.
struct FuzzOracleError: Error, CustomStringConvertible {
    var description: String
}

extension FuzzTarget {
    /// A JSON decoder with a round-trip oracle: whatever decodes must re-encode to bytes that
    /// decode again and re-encode identically (the encoding is a fixed point after one step).
    static func json<T>(_ name: String, seeds: [[UInt8]], executions: Int, dictionary: [String],
                        decode: @escaping ([UInt8]) throws -> T, encode: @escaping (T) -> [UInt8]) -> FuzzTarget {
        FuzzTarget(name: name, seeds: seeds, executions: executions, style: .json, dictionary: dictionary,
                   decode: { input in
                       let once = encode(try decode(input))
                       let again: [UInt8]
                       do {
                           again = encode(try decode(once))
                       } catch {
                           throw FuzzOracleError(description: "re-encoded value does not decode: \(error); encoded \(Fuzzer.hex(once.prefix(300)))")
                       }
                       guard again == once else {
                           throw FuzzOracleError(description: "encoding is not stable: \(Fuzzer.hex(once.prefix(200))) vs \(Fuzzer.hex(again.prefix(200)))")
                       }
                       return true
                   },
                   expectedError: { $0 is FormatError })
    }
}

/// Fuzzes the small JSON documents of a repository: key files, the config, locks, snapshots
/// and the master key, each from restic-made seeds in Fixtures/fuzz.
@Suite("fuzz: small JSON documents")
struct FuzzJSONDecoderTests {
    static let timeWords = ["created", "time", "backup_start", "backup_end"]

    @Test func keyFile() {
        Fuzzer.check(.json("keyfile", seeds: FuzzCorpus.seeds("keyfile") + [RepoFixtures.keyFile], executions: 14_000,
                           dictionary: ["created", "username", "hostname", "kdf", "N", "r", "p", "salt", "data", "scrypt"],
                           decode: KeyFile.decode, encode: { $0.encode() }),
                     seed: 0x6B65_7966)
    }

    @Test func config() {
        Fuzzer.check(.json("config", seeds: FuzzCorpus.seeds("config") + [RepoFixtures.config], executions: 14_000,
                           dictionary: ["version", "id", "chunker_polynomial"],
                           decode: RepositoryConfig.decode, encode: { $0.encode() }),
                     seed: 0x636F_6E66)
    }

    @Test func lock() {
        Fuzzer.check(.json("lock", seeds: FuzzCorpus.seeds("lock") + [GoVectors.lockWithIDs], executions: 14_000,
                           dictionary: ["time", "exclusive", "hostname", "username", "pid", "uid", "gid"],
                           decode: LockFile.decode, encode: { $0.encode() }),
                     seed: 0x6C6F_636B)
    }

    @Test func snapshot() {
        let seeds = FuzzCorpus.seeds("snapshot") + [GoVectors.snapshotFull, RepoFixtures.snapshot_6a801d22]
        Fuzzer.check(.json("snapshot", seeds: seeds, executions: 24_000,
                           dictionary: ["time", "parent", "tree", "paths", "hostname", "username", "uid", "gid", "excludes",
                                        "tags", "original", "program_version", "summary", "files_new", "data_added",
                                        "total_bytes_processed"] + Self.timeWords,
                           decode: Snapshot.decode, encode: { $0.encode() }),
                     seed: 0x736E_6170)
    }

    @Test func masterKey() {
        // A made-up key: the fixture repositories' real master keys are not kept in plain text.
        let key = MasterKeyJSON(encrypt: (1...32).map { UInt8($0) }, macK: (33...48).map { UInt8($0) },
                                macR: (49...64).map { UInt8($0) }).encode()
        Fuzzer.check(.json("masterkey", seeds: [key], executions: 8_000, dictionary: ["mac", "k", "r", "encrypt"],
                           decode: MasterKeyJSON.decode, encode: { $0.encode() }),
                     seed: 0x6D61_7374)
    }
}
