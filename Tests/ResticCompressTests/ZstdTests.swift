import Testing
import ResticCompress

@Suite struct ZstdRoundTripTests {
    @Test(arguments: [0, 1, 100, 131_073, 1 << 20, 3 << 20 + 17])
    func roundTripAtResticLevels(size: Int) throws {
        for level: Int32 in [1, 3, 7, 11] {
            let compressor = try ZstdCompressor(level: level)
            let decompressor = try ZstdDecompressor()
            for input in [compressible(size), noise(size)] {
                let frame = try compressor.compress(input)
                #expect(Array(frame.prefix(4)) == [0x28, 0xb5, 0x2f, 0xfd])
                let flags = frameFlags(frame)
                #expect(flags.hasContentSize && !flags.hasChecksum)
                #expect(try decompressor.decompress(frame, expectedSize: size, limit: size) == input)
                #expect(try decompressor.decompress(frame, expectedSize: nil, limit: size) == input)
            }
        }
    }

    @Test func compressesAndReusesContexts() throws {
        let compressor = try ZstdCompressor(level: 3)
        let decompressor = try ZstdDecompressor()
        let big = compressible(1 << 20)
        let frame = try compressor.compress(big)
        #expect(frame.count < big.count / 20)
        // Small after large: no state or stale scratch bytes may leak into the next frame.
        for input in [noise(10), [], compressible(5000), big] {
            let again = try input.withUnsafeBytes { try compressor.compress($0) }
            let decoded = try again.withUnsafeBytes {
                try decompressor.decompress($0, expectedSize: input.count, limit: 1 << 21)
            }
            #expect(decoded == input)
        }
    }

    @Test func rejectsInvalidLevel() {
        #expect(throws: ZstdError.self) { try ZstdCompressor(level: 99) }
        #expect(ZstdCompressor.levels.contains(19) && ZstdCompressor.levels.contains(-1))
    }
}

@Suite struct ZstdFramesWithoutContentSizeTests {
    @Test(arguments: [0, 1, 999, 1000, 1001, 300_000])
    func handMadeRawFrameDecodes(size: Int) throws {
        let payload = noise(size, seed: 9)
        let frame = handMadeFrame(payload)
        #expect(!frameFlags(frame).hasContentSize)
        let decompressor = try ZstdDecompressor()
        #expect(try decompressor.decompress(frame, expectedSize: nil, limit: size) == payload)
        #expect(try decompressor.decompress(frame, expectedSize: size, limit: size) == payload)
    }

    /// Compressed frames without the size field go through the streaming path (several output chunks).
    @Test func libzstdFrameWithoutContentSizeDecodes() throws {
        let input = compressible(1 << 20) + noise(300_000)
        let frame = try ZstdCompressor(level: 3, writeContentSize: false).compress(input)
        #expect(!frameFlags(frame).hasContentSize)
        let decompressor = try ZstdDecompressor()
        #expect(try decompressor.decompress(frame, expectedSize: nil, limit: input.count) == input)
        #expect(try decompressor.decompress(frame, expectedSize: input.count, limit: input.count) == input)
    }

    @Test func concatenatedFramesDecodeToConcatenation() throws {
        let compressor = try ZstdCompressor(level: 3)
        let a = compressible(70_000), b = noise(5)
        let joined = try compressor.compress(a) + handMadeFrame(b)
        let decompressor = try ZstdDecompressor()
        #expect(try decompressor.decompress(joined, expectedSize: nil, limit: 1 << 20) == a + b)
        #expect(try decompressor.decompress(joined, expectedSize: a.count + b.count, limit: 1 << 20) == a + b)
    }
}

@Suite struct ZstdErrorTests {
    static let input = compressible(200_000)

    @Test(arguments: [false, true])
    func expectedSizeMismatch(withContentSize: Bool) throws {
        let frame = try ZstdCompressor(level: 3, writeContentSize: withContentSize).compress(Self.input)
        let decompressor = try ZstdDecompressor()
        let n = Self.input.count
        #expect(throws: ZstdError.sizeMismatch(expected: n + 1, actual: n)) {
            try decompressor.decompress(frame, expectedSize: n + 1, limit: 1 << 20)
        }
        #expect(throws: ZstdError.sizeMismatch(expected: n - 1, actual: n)) {
            try decompressor.decompress(frame, expectedSize: n - 1, limit: 1 << 20)
        }
        #expect(throws: ZstdError.sizeMismatch(expected: 0, actual: n)) {
            try decompressor.decompress(frame, expectedSize: 0, limit: 1 << 20)
        }
        // Still usable after errors.
        #expect(try decompressor.decompress(frame, expectedSize: n, limit: n) == Self.input)
    }

    @Test(arguments: [false, true])
    func limitExceeded(withContentSize: Bool) throws {
        let frame = try ZstdCompressor(level: 3, writeContentSize: withContentSize).compress(Self.input)
        let decompressor = try ZstdDecompressor()
        let n = Self.input.count
        #expect(throws: ZstdError.sizeLimitExceeded(n - 1)) {
            try decompressor.decompress(frame, expectedSize: nil, limit: n - 1)
        }
        #expect(throws: ZstdError.sizeLimitExceeded(1000)) {
            try decompressor.decompress(frame, expectedSize: n, limit: 1000)
        }
        // Too long for the expected size and for the limit: the limit wins, nothing big is allocated.
        #expect(throws: ZstdError.sizeLimitExceeded(n - 1)) {
            try decompressor.decompress(frame, expectedSize: 10, limit: n - 1)
        }
        #expect(try decompressor.decompress(frame, expectedSize: nil, limit: n) == Self.input)
    }

    @Test func garbageInputReportsZstdsMessage() throws {
        let decompressor = try ZstdDecompressor()
        for expected in [nil, 10] as [Int?] {
            #expect {
                try decompressor.decompress(Array("{\"not\":\"zstd\"}".utf8), expectedSize: expected, limit: 1 << 20)
            } throws: { error in
                guard case ZstdError.library(let message) = error else { return false }
                return message.contains("Unknown frame descriptor")
            }
        }
        #expect(throws: ZstdError.self) { try decompressor.decompress([], expectedSize: nil, limit: 10) }
        #expect(throws: ZstdError.self) { try decompressor.decompress([], expectedSize: 0, limit: 10) }
    }

    @Test(arguments: [false, true])
    func truncatedOrCorruptFrameFails(withContentSize: Bool) throws {
        let frame = try ZstdCompressor(level: 3, writeContentSize: withContentSize).compress(Self.input)
        let decompressor = try ZstdDecompressor()
        let cut = Array(frame.dropLast(7))
        #expect(throws: ZstdError.self) { try decompressor.decompress(cut, expectedSize: nil, limit: 1 << 20) }
        #expect(throws: ZstdError.self) {
            try decompressor.decompress(cut, expectedSize: Self.input.count, limit: 1 << 20)
        }
        let raw = handMadeFrame(noise(3000))
        #expect(throws: ZstdError.self) {
            try decompressor.decompress(Array(raw.dropLast(1)), expectedSize: nil, limit: 1 << 20)
        }
    }
}
