import ResticChunker
import Testing

@Suite struct ChunkerStreamingTests {
    /// Pieces around the window size, odd primes, and sizes larger than a chunk.
    static let oddPieces = [1, 7, 63, 64, 65, 4093, 100_003, 1 << 20, 333_333, 2, 9 * 1024 * 1024]

    @Test func cutsDoNotDependOnBufferSplits() {
        let whole = chunkVectors(TestData.lcg20MiB)
        #expect(chunkVectors(TestData.lcg20MiB, pieceSizes: Self.oddPieces) == whole)
        #expect(chunkVectors(TestData.lcg20MiB, pieceSizes: [65_536]) == whole)
        #expect(chunkVectors(TestData.lcg20MiB, pieceSizes: [524_287]) == whole)

        let mixed = chunkVectors(TestData.mixed, averageBits: 16)
        #expect(chunkVectors(TestData.mixed, averageBits: 16, pieceSizes: Self.oddPieces.reversed()) == mixed)
    }

    @Test func byteByByteFeedingMatches() {
        // Zeros then random: the zero run makes a cut at MinSize, then the random part is scanned.
        let data = [UInt8](repeating: 0, count: 600_000) + TestData.lcg(seed: 99, count: 700_000).bytes
        let whole = chunkVectors(data, averageBits: 10)
        #expect(whole.count >= 2)
        #expect(chunkVectors(data, averageBits: 10, pieceSizes: [1]) == whole)
    }

    @Test func matchesThePlainReferenceWhereHitsAreFrequent() {
        // Short average bits put hits in every lane of the four-lane scan, including lanes after the
        // first, which exercises the resolution of out-of-order hits.
        var rng = TestData.SplitMix(state: 5)
        var data = [UInt8](repeating: 0, count: 5 * TestData.mebibyte)
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: rng.next()) }
        for bits in [6, 12, 15] {
            let reference = ReferenceChunker(polynomial: TestData.testPolynomial, averageBits: bits).chunks(data)
            #expect(chunkVectors(data, averageBits: bits) == reference, "average bits \(bits)")
            #expect(chunkVectors(data, averageBits: bits, pieceSizes: [70_001, 3]) == reference, "average bits \(bits), split")
        }
    }

    @Test func matchesTheReferenceOnRunsAndNoise() {
        let data = Array(TestData.mixed.prefix(7 * TestData.mebibyte))
        let reference = ReferenceChunker(polynomial: TestData.testPolynomial, averageBits: 14).chunks(data)
        #expect(chunkVectors(data, averageBits: 14) == reference)
    }

    @Test func resetStartsAFreshFile() {
        var chunker = Chunker(polynomial: TestData.testPolynomial)
        TestData.lcg20MiB.withUnsafeBytes { all in
            #expect(chunker.scan(UnsafeRawBufferPointer(rebasing: all[..<300_000])) == nil)
            #expect(chunker.currentChunkLength == 300_000)
            chunker.reset()
            #expect(chunker.currentChunkLength == 0)
            #expect(chunker.digest == 1)
            let cut = chunker.scan(all)
            #expect(cut == 785578)
            #expect(chunker.lastCutDigest == 0x1028765a00000)
            #expect(chunker.lastCutLength == 785578)
            #expect(chunker.currentChunkLength == 0)
        }
    }

    @Test func progressIsCountedWithinAChunk() {
        var chunker = Chunker(polynomial: TestData.testPolynomial)
        TestData.lcg20MiB.withUnsafeBytes { all in
            #expect(chunker.scan(UnsafeRawBufferPointer(rebasing: all[..<700_000])) == nil)
            #expect(chunker.currentChunkLength == 700_000)
            // The first cut is at 785578, so the second buffer is cut 85578 bytes in.
            #expect(chunker.scan(UnsafeRawBufferPointer(rebasing: all[700_000..<800_000])) == 85_578)
            #expect(chunker.lastCutLength == 785_578)
            #expect(chunker.scan(UnsafeRawBufferPointer(rebasing: all[700_000..<700_000])) == nil)
        }
    }

    @Test func tablesConstructorAndPolynomialConstructorAgree() {
        let tables = ChunkerTables.shared(for: TestData.testPolynomial)
        #expect(tables === ChunkerTables.shared(for: TestData.testPolynomial))
        var a = Chunker(tables: tables, averageBits: 20)
        var b = Chunker(polynomial: TestData.testPolynomial)
        TestData.lcg20MiB.withUnsafeBytes { all in
            #expect(a.scan(all) == b.scan(all))
            #expect(a.lastCutDigest == b.lastCutDigest)
        }
    }
}
