import Testing
@testable import ResticCore
import ResticCompress

/// Replays every input in Fixtures/fuzz/regressions: files named `<decoder>-<short-name>`, each
/// one that once trapped, hung or allocated by a claimed size. Each must now give a value or
/// the decoder's own error.
@Suite("fuzz: regressions")
struct FuzzRegressionTests {
    static var decoders: [String: ([UInt8]) throws -> Void] { [
        "tree": { _ = try Tree.decode($0) },
        "index": { _ = try IndexFile.decode($0) },
        "snapshot": { _ = try Snapshot.decode($0) },
        "config": { _ = try RepositoryConfig.decode($0) },
        "keyfile": { _ = try KeyFile.decode($0) },
        "lock": { _ = try LockFile.decode($0) },
        "masterkey": { _ = try MasterKeyJSON.decode($0) },
        "node": { _ = try Node.decodeJSON($0) },
        "packheader": { _ = try PackHeader.parse($0) },
        "packtail": { input in
            guard input.count >= 4 else { return }
            _ = try FuzzPackHeaderTests.readTail(input[4...], fileSize: FuzzPackHeaderTests.readLE32(input[..<4]) + input.count - 4)
        },
        "zstd": { input in
            let decompressor = try ZstdDecompressor()
            for expected in [nil, 5, 400 << 20] as [Int?] {
                _ = try? decompressor.decompress(input, expectedSize: expected, limit: 512 << 20)
            }
            _ = try decompressor.decompress(input, expectedSize: nil, limit: 512 << 20)
        },
    ] }

    static var files: [(name: String, bytes: [UInt8])] {
        FuzzCorpus.files(in: FuzzCorpus.root.appendingPathComponent("regressions"))
    }

    @Test func everyRegressionHasADecoder() {
        #expect(!Self.files.isEmpty)
        for file in Self.files {
            let decoder = file.name.split(separator: "-").first.map(String.init) ?? ""
            #expect(Self.decoders[decoder] != nil, "no decoder for regression \(file.name)")
        }
    }

    @Test func regressionsGiveAValueOrTheirError() {
        for file in Self.files {
            let decoder = file.name.split(separator: "-").first.map(String.init) ?? ""
            guard let decode = Self.decoders[decoder] else { continue }
            do {
                try decode(file.bytes)
            } catch {
                #expect(error is FormatError || error is ZstdError || error is FuzzPackHeaderTests.TailError
                        || "\(type(of: error))" == "CryptoError",
                        "\(file.name): \(type(of: error)) \(error)")
            }
        }
    }
}
