import Testing
import ResticCompress

/// Fuzzes the zstd decompressor with restic-made (klauspost) frames, libzstd frames and
/// hand-made raw/RLE/skippable frames, including frames whose header claims a huge content size.
@Suite("fuzz: zstd frames")
struct FuzzZstdTests {
    static let limit = 1 << 20

    static func seeds() -> [[UInt8]] {
        var seeds = FuzzCorpus.seeds("zstd")
        let text = Array(String(repeating: "restic zstd seed corpus; ", count: 40).utf8)
        for contentSize in [true, false] {
            if let c = try? ZstdCompressor(level: 3, writeContentSize: contentSize), let frame = try? c.compress(text) {
                seeds.append(frame)
            }
        }
        return seeds
    }

    /// Every input decodes or throws a ZstdError. What decodes fits the bound its block headers
    /// give and the limit, comes back in a buffer not much larger than the data, and decodes
    /// again to the same bytes when its size is given; a wrong expected size is a mismatch.
    @Test func decompressor() throws {
        let decompressor = try ZstdDecompressor()
        var rng = FuzzRNG(seed: 0x7A73_7464)
        let target = FuzzTarget(name: "zstd", seeds: Self.seeds(), executions: 24_000, style: .binary, decode: { input in
            let wrong = rng.pick([0, 1, 1 << 19, Self.limit, 1 << 30])
            let output: [UInt8]
            do {
                output = try decompressor.decompress(input, expectedSize: nil, limit: Self.limit)
            } catch {
                // With a size the caller trusts, the outcome is an error too (never a value).
                _ = try decompressor.decompress(input, expectedSize: wrong, limit: Self.limit)
                throw FuzzOracleError(description: "accepted with expectedSize \(wrong) what failed without: \(error)")
            }
            if let bound = ZstdFrameBound.summarize(input)?.maxDecodedSize, output.count > bound {
                throw FuzzOracleError(description: "decoded \(output.count) bytes beyond the block bound \(bound)")
            }
            guard output.count <= Self.limit, output.capacity <= output.count + (1 << 16) + 64 else {
                throw FuzzOracleError(description: "decoded \(output.count) bytes into a buffer of \(output.capacity)")
            }
            guard try decompressor.decompress(input, expectedSize: output.count, limit: Self.limit) == output else {
                throw FuzzOracleError(description: "decoding with the known size gives other bytes")
            }
            if wrong != output.count {
                do {
                    _ = try decompressor.decompress(input, expectedSize: wrong, limit: Self.limit)
                    throw FuzzOracleError(description: "expected size \(wrong) accepted for \(output.count) bytes")
                } catch let error as ZstdError {
                    switch error {
                    case .sizeMismatch, .sizeLimitExceeded: break
                    default: throw FuzzOracleError(description: "wrong size gave \(error)")
                    }
                }
            }
            return true
        }, expectedError: { $0 is ZstdError })
        Fuzzer.check(target, seed: 0x7A73_7464)
    }

    /// A frame that claims far more content than its blocks hold is refused from its headers,
    /// for a claim just under the limit, one over it (1 TiB) and as the caller's expected size.
    @Test(arguments: [UInt64(500 << 20), 1 << 40, UInt64.max - 1])
    func hugeContentClaims(claim: UInt64) throws {
        // Magic, descriptor 0xE0 (8-byte content size, single segment), the claim, one raw block.
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0]
        frame += (0..<8).map { UInt8(truncatingIfNeeded: claim >> (8 * UInt64($0))) }
        frame += [0x29, 0x00, 0x00] + Array("hello".utf8)  // raw, last, 5 bytes
        #expect(ZstdFrameBound.summarize(frame) == .init(maxDecodedSize: 5, declaredSize: claim))
        let decompressor = try ZstdDecompressor()
        let limit = 512 << 20
        #expect {
            try decompressor.decompress(frame, expectedSize: nil, limit: limit)
        } throws: { error in
            claim > UInt64(limit) ? error as? ZstdError == .sizeLimitExceeded(limit) || "\(error)".contains("invalid frame")
                                  : "\(error)".contains("declares \(claim) bytes of content, but its blocks hold at most 5")
        }
        // The blob path: the index claims 400 MiB; the 5 bytes are all there is.
        #expect(throws: ZstdError.sizeMismatch(expected: 400 << 20, actual: 5)) {
            try decompressor.decompress(Self.rawFrame(Array("hello".utf8)), expectedSize: 400 << 20, limit: limit)
        }
    }

    /// Window sizes are claims too: a frame that declares a 128 MiB window for 5 bytes is
    /// decoded in one shot into 5 bytes (no window buffer), a damaged one is refused by a capped
    /// streaming window, and a legacy (v0.7) frame never reaches libzstd's legacy decoders.
    @Test func windowClaimsAreNotAllocated() throws {
        let decompressor = try ZstdDecompressor()
        let regressions = Dictionary(uniqueKeysWithValues: FuzzCorpus.regressions("zstd").map { ($0.name, $0.bytes) })
        let valid = try #require(regressions["zstd-window-128mib-no-content-size"])
        #expect(try decompressor.decompress(valid, expectedSize: nil, limit: 512 << 20) == Array("hello".utf8))
        let truncated = try #require(regressions["zstd-window-128mib-truncated-block"])
        #expect(throws: ZstdError.self) { try decompressor.decompress(truncated, expectedSize: nil, limit: 512 << 20) }
        let legacy = try #require(regressions["zstd-legacy-v07-frame-128mib-window"])
        #expect(throws: ZstdError.library("Unknown frame descriptor: magic 0xfd2fb527 at byte 0 is not a zstd frame")) {
            try decompressor.decompress(legacy, expectedSize: nil, limit: 512 << 20)
        }
        // Still usable afterwards, with its window limit reset.
        let frame = try ZstdCompressor(level: 3, writeContentSize: false).compress(Array(repeating: 7, count: 300_000))
        #expect(try decompressor.decompress(frame, expectedSize: nil, limit: 512 << 20).count == 300_000)
    }

    static func rawFrame(_ payload: [UInt8]) -> [UInt8] {
        [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58] + [UInt8(truncatingIfNeeded: payload.count << 3 | 1),
                                                UInt8(truncatingIfNeeded: payload.count >> 5), 0] + payload
    }

    /// The header walker's bound never undercuts what libzstd decodes, and never exceeds the
    /// format's maximum expansion (a 4-byte RLE block per 128 KiB).
    @Test func frameBoundHoldsForEveryDecode() throws {
        let decompressor = try ZstdDecompressor()
        let target = FuzzTarget(name: "zstd-bound", seeds: Self.seeds(), executions: 10_000, style: .binary, decode: { input in
            guard let summary = ZstdFrameBound.summarize(input) else { return false }
            guard summary.maxDecodedSize <= (input.count / 4 + 1) * ZstdFrameBound.maxBlockSize else {
                throw FuzzOracleError(description: "bound \(summary.maxDecodedSize) for \(input.count) input bytes")
            }
            let output = try decompressor.decompress(input, expectedSize: nil, limit: 8 << 20)
            guard output.count <= summary.maxDecodedSize else {
                throw FuzzOracleError(description: "decoded \(output.count) past the bound \(summary.maxDecodedSize)")
            }
            return true
        }, expectedError: { $0 is ZstdError })
        Fuzzer.check(target, seed: 0x626F_756E)
    }
}
