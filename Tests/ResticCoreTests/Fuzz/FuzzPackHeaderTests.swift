import Testing
@testable import ResticCore
import ResticCrypto

/// Fuzzes pack headers: the plain entry parser, the header-length trailer, and the whole tail
/// path a reader takes (trailer → bounds → decrypt → parse → entries inside the data section),
/// as `Repository.loadPackHeader` / `decodeHeader` and check's pack reader run it.
@Suite("fuzz: pack headers")
struct FuzzPackHeaderTests {
    /// A fixed key for sealing fuzz inputs (the outcome of opening does not depend on the IV).
    static let key = try! MasterKey(encryption: (1...32).map { UInt8($0) }, macK: (33...48).map { UInt8($0) },
                                    macR: (49...64).map { UInt8($0) })

    static func le32(_ v: Int) -> [UInt8] { PackHeader.lengthField(v) }

    static func readLE32(_ b: ArraySlice<UInt8>) -> Int {
        b.reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    struct TailError: Error {}

    /// The reader's path over a pack of `fileSize` bytes whose last bytes are `tail`.
    /// Returns the entries, which must lie inside the data section.
    static func readTail(_ tail: ArraySlice<UInt8>, fileSize: Int) throws -> [PackHeaderEntry] {
        let hlen = try PackHeader.headerLength(trailer: Array(tail.suffix(4)), fileSize: fileSize)
        // The real reader loads `hlen` bytes from the file: refused above when the file is shorter.
        guard hlen + 4 <= tail.count else { throw TailError() }
        let sealed = Array(tail[(tail.endIndex - 4 - hlen)..<(tail.endIndex - 4)])
        let entries = try PackHeader.parse(try key.open(sealed))
        if let last = entries.last, Int(last.offset) + Int(last.length) > fileSize - 4 - hlen { throw TailError() }
        return entries
    }

    /// Plaintext entries: every parse is re-encoded and parsed again to the same entries, the
    /// offsets are the running sum, and no more entries come out than the bytes allow.
    @Test func plainEntries() {
        let seeds = FuzzCorpus.seeds("packheader")
        let target = FuzzTarget(name: "packheader", seeds: seeds, executions: 30_000, style: .binary, decode: { input in
            let entries = try PackHeader.parse(input)
            guard entries.count <= input.count / PackHeader.entrySizeUncompressed,
                  try PackHeader.parse(PackHeader.encode(entries)) == entries else {
                throw FuzzOracleError(description: "pack header does not round-trip")
            }
            var offset: UInt64 = 0
            for e in entries {
                guard UInt64(e.offset) == offset else { throw FuzzOracleError(description: "offset is not the running sum") }
                offset += UInt64(e.length)
            }
            return true
        }, expectedError: { $0 is FormatError })
        Fuzzer.check(target, seed: 0x7061_636B)
    }

    /// Hostile tails without the key: `le32(data size) ‖ sealed header ‖ header length`.
    /// Trailers claiming 2^31, more than the file or less than the crypto overhead, and damaged
    /// ciphertext all end in an error before anything is allocated beyond the tail itself.
    @Test func sealedTails() {
        let seeds = FuzzCorpus.seeds("packheader").map { plain -> [UInt8] in
            let sealed = Self.key.seal(plain)
            let dataSize = ((try? PackHeader.parse(plain)) ?? []).reduce(0) { $0 + Int($1.length) }
            return Self.le32(dataSize) + sealed + Self.le32(sealed.count)
        }
        let target = FuzzTarget(name: "packtail", seeds: seeds, executions: 14_000, style: .binary, decode: { input in
            guard input.count >= 4 else { throw TailError() }
            let tail = input[4...]
            _ = try Self.readTail(tail, fileSize: Self.readLE32(input[..<4]) + tail.count)
            return true
        }, expectedError: { $0 is FormatError || $0 is CryptoError || $0 is TailError })
        Fuzzer.check(target, seed: 0x7461_696C)
    }

    /// Hostile headers sealed with the right key (a buggy or malicious writer):
    /// `le32(data size) ‖ plaintext header`, sealed and given a correct trailer before reading.
    @Test func validlySealedHostileHeaders() {
        let seeds = FuzzCorpus.seeds("packheader").map { plain -> [UInt8] in
            let dataSize = ((try? PackHeader.parse(plain)) ?? []).reduce(0) { $0 + Int($1.length) }
            return Self.le32(dataSize) + plain
        }
        let target = FuzzTarget(name: "packheader-sealed", seeds: seeds, executions: 14_000, style: .binary, decode: { input in
            guard input.count >= 4 else { throw TailError() }
            let sealed = Self.key.seal(Array(input[4...]))
            let entries = try Self.readTail((sealed + Self.le32(sealed.count))[...], fileSize: Self.readLE32(input[..<4]) + sealed.count + 4)
            return !entries.isEmpty
        }, expectedError: { $0 is FormatError || $0 is TailError })
        Fuzzer.check(target, seed: 0x7365_616C)
    }

    /// The trailer bounds on their own, for every size class of file and claimed length.
    @Test func headerLengthBounds() {
        var rng = FuzzRNG(seed: 0x686C_656E)
        let claims: [Int] = [0, 1, 31, 32, 33, 72, 73, 1 << 24, (1 << 24) + 1, 1 << 31, Int(UInt32.max)]
        var accepted = 0
        for i in 0..<20_000 {
            let fileSize = i % 3 == 0 ? rng.below(200) : rng.below(1 << 26)
            let claim = i % 2 == 0 ? rng.pick(claims) : rng.below(Int(UInt32.max) + 1)
            do {
                let hlen = try PackHeader.headerLength(trailer: Self.le32(claim), fileSize: fileSize)
                #expect(hlen == claim && hlen >= 32 && hlen <= fileSize - 4 && hlen <= PackHeader.maxHeaderSize - 4)
                accepted += 1
            } catch {
                #expect(error is FormatError)
                #expect(!"\(error)".isEmpty)
            }
        }
        #expect(accepted > 0)
        for trailer in [[], [1], [1, 2, 3], [1, 2, 3, 4, 5]] as [[UInt8]] {
            #expect(throws: FormatError.self) { try PackHeader.headerLength(trailer: trailer, fileSize: 1000) }
        }
    }
}
