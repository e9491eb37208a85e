import ResticChunker
import Testing

@Suite struct CandidateCutsTests {
    static func ends(_ lengths: [Int]) -> [Int] {
        var total = 0
        return lengths.map { total += $0; return total }
    }

    static func picked(_ data: [UInt8], averageBits: Int) -> [Int] {
        data.withUnsafeBytes { buffer in
            let tables = ChunkerTables.shared(for: TestData.testPolynomial)
            let candidates = candidateCuts(in: buffer, tables: tables, averageBits: averageBits)
            return cutPositions(candidates: candidates, length: buffer.count)
        }
    }

    @Test(arguments: [20, 16, 11])
    func pickingFromCandidatesReproducesTheChunker(averageBits: Int) {
        for data in [TestData.lcg20MiB, TestData.mixed] {
            let expected = Self.ends(chunkVectors(data, averageBits: averageBits).map(\.length))
            #expect(Self.picked(data, averageBits: averageBits) == expected)
        }
    }

    @Test func regionsCanBeScannedSeparately() {
        let data = TestData.mixed
        let tables = ChunkerTables.shared(for: TestData.testPolynomial)
        data.withUnsafeBytes { buffer in
            let whole = candidateCuts(in: buffer, tables: tables, averageBits: 18)
            // Split at an odd offset inside a zero run's neighbourhood; the second region starts 64
            // bytes early for warm-up, and its positions are shifted back.
            let split = 4 * TestData.mebibyte + 12_345
            let first = candidateCuts(in: UnsafeRawBufferPointer(rebasing: buffer[..<split]), tables: tables, averageBits: 18)
            let second = candidateCuts(in: UnsafeRawBufferPointer(rebasing: buffer[(split - 64)...]), tables: tables, averageBits: 18)
                .map { $0 + split - 64 }
            #expect(first + second == whole)
            #expect(!whole.isEmpty)
        }
    }

    @Test func candidatesAreExactlyTheHitsOfTheWindowDigest() {
        let data = TestData.lcg(seed: 3, count: 300_000).bytes
        let tables = ChunkerTables(polynomial: TestData.testPolynomial)
        let mask: UInt64 = (1 << 9) - 1
        // Brute force: roll every window from scratch with the tables.
        var expected: [Int] = []
        var digest: UInt64 = 0
        for (i, byte) in data.enumerated() {
            let leaving: UInt8 = i >= 64 ? data[i - 64] : 0
            digest ^= tables.outEntry(leaving)
            let index = UInt8(digest >> 45)
            digest = ((digest << 8) | UInt64(byte)) ^ tables.modEntry(index)
            if i >= 63, digest & mask == 0 {
                expected.append(i + 1)
            }
        }
        let got = data.withUnsafeBytes { candidateCuts(in: $0, tables: tables, averageBits: 9) }
        #expect(expected.count > 400)
        #expect(got == expected)
    }

    @Test func zerosHitEverywhereAndShortBuffersHaveNone() {
        let tables = ChunkerTables.shared(for: TestData.testPolynomial)
        let zeros = [UInt8](repeating: 0, count: 10_000)
        let got = zeros.withUnsafeBytes { candidateCuts(in: $0, tables: tables, averageBits: 20) }
        #expect(got == Array(64...10_000))
        let short = [UInt8](repeating: 0, count: 63)
        #expect(short.withUnsafeBytes { candidateCuts(in: $0, tables: tables, averageBits: 20) } == [])
    }

    @Test func cutPositionsFollowsTheSizeLimits() {
        let mib = TestData.mebibyte
        // No candidates: MaxSize chunks, then the rest.
        #expect(cutPositions(candidates: [], length: 17 * mib) == [8 * mib, 16 * mib, 17 * mib])
        // Candidates before MinSize are ignored; one at exactly MinSize is taken.
        #expect(cutPositions(candidates: [100, Chunker.minSize - 1, Chunker.minSize], length: mib)
                == [Chunker.minSize, mib])
        #expect(cutPositions(candidates: [], length: 0) == [])
    }
}
