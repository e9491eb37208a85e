import Testing
@testable import ResticCore
import ResticCrypto
import ResticCompress

/// Fuzzes the whole way from stored bytes to a value: decrypt, undo the v2 version byte and zstd,
/// and parse, with inputs sealed under the right key (so the damage gets past the MAC, as it
/// would from a buggy or malicious writer). The steps are those of `Repository.decodeUnpacked`
/// and `BlobCodec.open` (ResticRepository, which this test target cannot import; the same
/// entry points are driven for real in IntegrationTests/Hardening/HostilePackTests.swift).
@Suite("fuzz: decrypt, decompress, parse")
struct FuzzObjectPathTests {
    static let limit = 4 << 20
    static var key: MasterKey { FuzzPackHeaderTests.key }

    struct EncodingError: Error {}

    /// The unpacked-file rule of repository v2: `{`/`[` = raw JSON, 2 = zstd, else an error.
    static func unpack(_ sealed: [UInt8], decompressor: ZstdDecompressor) throws -> [UInt8] {
        let plaintext = try key.open(sealed)
        guard let first = plaintext.first else { return plaintext }
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["): return plaintext
        case 2: return try decompressor.decompress(Array(plaintext[1...]), expectedSize: nil, limit: limit)
        default: throw EncodingError()
        }
    }

    /// Index and snapshot files as restic 0.14 stored them (`0x02 ‖ zstd(JSON)`), plus raw JSON.
    @Test func unpackedFiles() throws {
        let decompressor = try ZstdDecompressor()
        let seeds = FuzzCorpus.seeds("unpacked") + FuzzCorpus.seeds("index").prefix(2) + FuzzCorpus.seeds("snapshot").prefix(2)
        let target = FuzzTarget(name: "unpacked", seeds: seeds, executions: 12_000, style: .binary, decode: { input in
            let json = try Self.unpack(Self.key.seal(input), decompressor: decompressor)
            // Which decoder the file is for depends on its folder; try both, as a hostile file may be either.
            let asIndex = Result { try IndexFile.decode(json) }
            let asSnapshot = Result { try Snapshot.decode(json) }
            for result in [asIndex.map { _ in () }, asSnapshot.map { _ in () }] {
                if case .failure(let error) = result, !(error is FormatError) { throw error }
            }
            if case .failure(let error) = asIndex, case .failure = asSnapshot { throw error }
            return true
        }, expectedError: { $0 is FormatError || $0 is ZstdError || $0 is EncodingError })
        Fuzzer.check(target, seed: 0x756E_7061)
    }

    struct HashMismatch: Error {}

    /// Tree blobs as restic packs them: the fuzz input is `le32(uncompressed length) ‖ zstd
    /// frame`, sealed, opened, decompressed to exactly that length, hashed and parsed. The ID
    /// is the hash of the seed's plaintext, so mutants mostly fail the hash check; the parse
    /// also runs on what decompressed, as a hostile writer could have hashed its own garbage.
    @Test func treeBlobs() throws {
        let decompressor = try ZstdDecompressor()
        let seeds = FuzzCorpus.files(in: FuzzCorpus.root.appendingPathComponent("zstd"))
            .filter { $0.name.contains("-t3") }
            .compactMap { file -> [UInt8]? in
                guard let plain = try? decompressor.decompress(file.bytes, expectedSize: nil, limit: Self.limit) else { return nil }
                return FuzzPackHeaderTests.le32(plain.count) + file.bytes
            }
        #expect(seeds.count >= 3)
        let target = FuzzTarget(name: "blob", seeds: seeds, executions: 12_000, style: .binary, decode: { input in
            guard input.count > 4 else { throw HashMismatch() }
            let length = FuzzPackHeaderTests.readLE32(input[..<4])
            let sealed = Self.key.seal(Array(input[4...]))
            let plaintext = try decompressor.decompress(try Self.key.open(sealed), expectedSize: length, limit: Self.limit)
            guard plaintext.count == length else { throw FuzzOracleError(description: "length \(plaintext.count) ≠ \(length)") }
            _ = ObjectID(bytes: SHA256.digest(plaintext))
            _ = try Tree.decode(plaintext)
            return true
        }, expectedError: { $0 is FormatError || $0 is ZstdError || $0 is HashMismatch })
        Fuzzer.check(target, seed: 0x626C_6F62)
    }
}
