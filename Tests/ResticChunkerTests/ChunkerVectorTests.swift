import ResticChunker
import Testing

/// Known answers. "notes" = REPO_FORMAT_NOTES §13; "restic" = printed by Debian's
/// golang-github-restic-chunker-dev (restic/chunker, `New` + `SetAverageBits` + `Next`) over the
/// inputs defined in TestData, which were generated identically in Go.
@Suite struct ChunkerVectorTests {
    @Test func lcgStreamMatchesNotesAndRestic() {
        let expected: [ChunkVector] = [
            .init(length: 785578, cut: 0x1028765a00000), .init(length: 617204, cut: 0xb9335bae00000),
            .init(length: 1876441, cut: 0x102a0962200000), .init(length: 776842, cut: 0x156c01d6e00000),
            .init(length: 1301735, cut: 0x1cbb812d100000), .init(length: 1519556, cut: 0x1932c5dfd00000),
            .init(length: 978998, cut: 0x550c173400000), .init(length: 1009379, cut: 0x77f2968f00000),
            .init(length: 636350, cut: 0x1cfed75ba00000), .init(length: 1078805, cut: 0xf621976200000),
            .init(length: 1078173, cut: 0xfe57127700000), .init(length: 797294, cut: 0x3613ad3100000),
            .init(length: 2157180, cut: 0x1f886d0000000), .init(length: 1720115, cut: 0x159c09de300000),
            .init(length: 1724066, cut: 0x1011d01a500000), .init(length: 1617974, cut: 0x97c0583a00000),
            .init(length: 1225866, cut: 0x167a7c03600000), .init(length: 69964, cut: 0x1),
        ]
        #expect(Array(TestData.lcg20MiB.prefix(8)) == [0x6c, 0x59, 0x88, 0x3c, 0xdb, 0x85, 0x88, 0x5e])
        #expect(chunkVectors(TestData.lcg20MiB) == expected)
    }

    @Test func lcgStreamOtherPolynomialAndAverageBits() {
        let expected: [ChunkVector] = [
            .init(length: 1215106, cut: 0x15ab53a6780000), .init(length: 851119, cut: 0x9695275000000),
            .init(length: 552907, cut: 0x134c398f300000), .init(length: 712974, cut: 0x581e080000),
            .init(length: 549981, cut: 0x3fb4e23d80000), .init(length: 1256160, cut: 0x4364597b00000),
            .init(length: 929881, cut: 0xe6c8012680000), .init(length: 1006798, cut: 0x1bba66ccd00000),
            .init(length: 611470, cut: 0x19394671600000), .init(length: 743666, cut: 0x165e6e3000000),
            .init(length: 1357049, cut: 0x187e5a9c00000), .init(length: 1443475, cut: 0x1d4e8c61c80000),
            .init(length: 586143, cut: 0x15c1819e280000), .init(length: 2283766, cut: 0x168604d500000),
            .init(length: 1096589, cut: 0x16391f52e00000), .init(length: 2460985, cut: 0x13816745f00000),
            .init(length: 1021796, cut: 0xc06e675100000), .init(length: 2291655, cut: 0x125b8fdf382af5),
        ]
        let got = chunkVectors(TestData.lcg20MiB, polynomial: Polynomial(0x2482734cacca49), averageBits: 19)
        #expect(got == expected)
    }

    @Test func mixedRunsMatchRestic() {
        let expected: [ChunkVector] = [
            .init(length: 965420, cut: 0x123e7469b00000), .init(length: 2078587, cut: 0x2962aec600000),
            .init(length: 524288, cut: 0x0), .init(length: 524288, cut: 0x0),
            .init(length: 2119979, cut: 0x176b6788500000), .init(length: 8388608, cut: 0x1cbac803e01d82),
            .init(length: 1844348, cut: 0x0), .init(length: 524288, cut: 0x0),
            .init(length: 1626056, cut: 0x1d8e18626f4f32),
        ]
        #expect(TestData.mixed.count == 18595862)
        #expect(chunkVectors(TestData.mixed) == expected)
    }

    @Test func mixedRunsWithSixteenAverageBitsMatchRestic() {
        let expected: [ChunkVector] = [
            .init(length: 558903, cut: 0x1d9717731a0000), .init(length: 615471, cut: 0x10295d0c970000),
            .init(length: 555624, cut: 0xd90d408230000), .init(length: 700078, cut: 0x9becb1260000),
            .init(length: 558305, cut: 0x1e11d927fa0000), .init(length: 524288, cut: 0x0),
            .init(length: 524288, cut: 0x0), .init(length: 542087, cut: 0x1082a847690000),
            .init(length: 529947, cut: 0x112b7201280000), .init(length: 529461, cut: 0x1b5d2feadc0000),
            .init(length: 574110, cut: 0x176b6788500000), .init(length: 8388608, cut: 0x1cbac803e01d82),
            .init(length: 1212571, cut: 0x394440a370000), .init(length: 573281, cut: 0x161cd80d780000),
            .init(length: 524288, cut: 0x0), .init(length: 547207, cut: 0x128041f0a00000),
            .init(length: 557058, cut: 0x7767060e30000), .init(length: 524519, cut: 0x54f107f850000),
            .init(length: 55768, cut: 0x1),
        ]
        #expect(chunkVectors(TestData.mixed, averageBits: 16) == expected)
    }

    @Test func allOnesTakesTheMaxSizePath() {
        let data = [UInt8](repeating: 0xFF, count: 20 * TestData.mebibyte)
        let expected: [ChunkVector] = [
            .init(length: 8388608, cut: 0x6d9879d4c4d97), .init(length: 8388608, cut: 0x6d9879d4c4d97),
            .init(length: 4194304, cut: 0x6d9879d4c4d97),
        ]
        #expect(chunkVectors(data) == expected)
    }

    @Test func zerosCutAtMinSize() {
        let four = [UInt8](repeating: 0, count: 4 * Chunker.minSize)
        #expect(chunkVectors(four) == Array(repeating: ChunkVector(length: 524288, cut: 0), count: 4))

        let withTail = [UInt8](repeating: 0, count: 2 * TestData.mebibyte + 100)
        let expected = Array(repeating: ChunkVector(length: 524288, cut: 0), count: 4) + [ChunkVector(length: 100, cut: 1)]
        #expect(chunkVectors(withTail) == expected)
    }

    @Test func smallAndEmptyInputs() {
        let empty: [UInt8] = []
        #expect(empty.withUnsafeBytes { chunkLengths(of: $0, polynomial: TestData.testPolynomial) } == [])
        #expect(chunkVectors(empty) == [])

        let one: [UInt8] = [42]
        #expect(one.withUnsafeBytes { chunkLengths(of: $0, polynomial: TestData.testPolynomial) } == [1])

        // One byte short of MinSize: no cut, and the reset's byte 1 is still in the window after the
        // 63 hashed zeros, so the digest is 1·x^(8·63) mod P = out[1] (restic prints the same).
        let almost = [UInt8](repeating: 0, count: Chunker.minSize - 1)
        let outOfOne = ChunkerTables(polynomial: TestData.testPolynomial).outEntry(1)
        #expect(outOfOne == 0x17eb4232e19216)
        #expect(chunkVectors(almost) == [ChunkVector(length: Chunker.minSize - 1, cut: outOfOne)])
    }

    @Test func chunkLengthsAgreesWithTheVectors() {
        let lengths = TestData.lcg20MiB.withUnsafeBytes { chunkLengths(of: $0, polynomial: TestData.testPolynomial) }
        #expect(lengths == chunkVectors(TestData.lcg20MiB).map(\.length))
        #expect(lengths.reduce(0, +) == TestData.lcg20MiB.count)
    }
}
