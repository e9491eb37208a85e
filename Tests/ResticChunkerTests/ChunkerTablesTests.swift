import ResticChunker
import Testing

@Suite struct ChunkerTablesTests {
    @Test func tablesMatchTheirDefinition() {
        let polynomial = TestData.testPolynomial
        let tables = ChunkerTables(polynomial: polynomial)
        // x^(8·63) mod P, by repeated multiplication by x^8.
        var x504 = Polynomial(1)
        for _ in 0..<63 {
            x504 = x504.mulMod(Polynomial(1 << 8), modulus: polynomial)
        }
        for byte in [0, 1, 2, 0x80, 0xAB, 0xFF] as [UInt8] {
            let out = Polynomial(UInt64(byte)).mulMod(x504, modulus: polynomial)
            #expect(tables.outEntry(byte) == out.value, "out[\(byte)]")
            let high = UInt64(byte) << 53
            #expect(tables.modEntry(byte) == Polynomial(high).modulo(polynomial).value | high, "mod[\(byte)]")
        }
        #expect(tables.outEntry(0) == 0)
        #expect(tables.modEntry(0) == 0)
        // Value printed by restic for a 512 KiB - 1 zero file (see ChunkerVectorTests).
        #expect(tables.outEntry(1) == 0x17eb4232e19216)
    }

    @Test func unusablePolynomialsDoNotCrash() {
        // Cuts are meaningless for these, but scanning must stay within the tables.
        let data = TestData.lcg(seed: 11, count: 2 * TestData.mebibyte).bytes
        for value: UInt64 in [0, 1, 0x7, 1 << 63 | 1, .max] {
            let lengths = data.withUnsafeBytes { chunkLengths(of: $0, polynomial: Polynomial(value)) }
            #expect(lengths.reduce(0, +) == data.count)
        }
    }

    @Test func sharedTablesAreCachedPerPolynomial() async {
        let polynomial = Polynomial(0x2482734cacca49)
        let instances = await withTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<8 {
                group.addTask { ObjectIdentifier(ChunkerTables.shared(for: polynomial)) }
            }
            var ids = Set<ObjectIdentifier>()
            for await id in group { ids.insert(id) }
            return ids
        }
        #expect(instances.count == 1)
        #expect(ChunkerTables.shared(for: polynomial) !== ChunkerTables.shared(for: TestData.testPolynomial))
    }
}
