import ResticChunker
import Testing

@Suite struct PolynomialTests {
    /// restic/chunker `polynomials_test.go` irreducibility table.
    static let irreducible: [UInt64] = [0x3DA3358B4DC173, 0x2482734cacca49]
    static let reducible: [UInt64] = [
        0x38f1e565e288df, 0x30a8295b9d5c91, 0x255f4350b962cb, 0x267f776110a235, 0x2f4dae10d41227,
        0x312daf4b284899, 0x29dfb6553d01d1, 0x3548245eb26257, 0x3199e7ef4211b3, 0x362f39017dae8b,
        0x200d57aa6fdacb, 0x35e0a4efa1d275, 0x2ced55b026577f, 0x260b012010893d, 0x2df29cbcd59e9d,
        0x3f2ac7488bd429, 0x3e5cb1711669fb, 0x226d8de57a9959, 0x3c8de80aaf5835, 0x2026a59efb219b,
        0x39dfa4d13fb231, 0x3143d0464b3299,
    ]

    @Test func irreducibilityMatchesRestic() {
        for value in Self.irreducible {
            #expect(Polynomial(value).isIrreducible, "\(Polynomial(value))")
        }
        for value in Self.reducible {
            #expect(!Polynomial(value).isIrreducible, "\(Polynomial(value))")
        }
        // x^2 + x + 1 is irreducible, x^2 + 1 = (x + 1)^2 is not.
        #expect(Polynomial(0b111).isIrreducible)
        #expect(!Polynomial(0b101).isIrreducible)
    }

    @Test func degree() {
        #expect(Polynomial(0).degree == -1)
        #expect(Polynomial(1).degree == 0)
        #expect(Polynomial(0x3DA3358B4DC173).degree == 53)
        #expect(Polynomial(UInt64(1) << 63).degree == 63)
    }

    @Test func hexRoundTrip() {
        let polynomial = Polynomial(0x3DA3358B4DC173)
        #expect(polynomial.hexString == "3da3358b4dc173")
        #expect(polynomial.description == "0x3da3358b4dc173")
        #expect(Polynomial(hexString: "3da3358b4dc173") == polynomial)
        #expect(Polynomial(hexString: "3DA3358B4DC173") == polynomial)
        #expect(Polynomial(hexString: "003da3358b4dc173") == polynomial)
        #expect(Polynomial(hexString: "384b4ee69c10f5")?.value == 0x384b4ee69c10f5)
        #expect(Polynomial(hexString: "ffffffffffffffff")?.value == .max)
        for bad in ["", "0x3da3", "+3da3", "-1", "3da3 ", "g", "10000000000000000"] {
            #expect(Polynomial(hexString: bad) == nil, "\(bad)")
        }
    }

    @Test func gcdMatchesRestic() {
        let cases: [(UInt64, UInt64, UInt64)] = [
            (10, 50, 2), (0, 1, 1), (0b101101001, 0b1010, 1), (2, 2, 2), (0b1010, 0b11, 0b11),
            (0x8000000000000000, 0x8000000000000000, 0x8000000000000000), (0b1100, 0b101, 0b11),
            (0b1100001111, 0b10011, 0b10011), (0x3DA3358B4DC173, 0x3DA3358B4DC173, 0x3DA3358B4DC173),
            (0x3DA3358B4DC173, 0x230d2259defd, 1), (0x230d2259defd, 0x51b492b3eff2, 0b10011),
        ]
        for (a, b, expected) in cases {
            #expect(Polynomial(a).gcd(Polynomial(b)).value == expected)
            #expect(Polynomial(b).gcd(Polynomial(a)).value == expected)
        }
    }

    @Test func mulModMatchesRestic() {
        #expect(Polynomial(0x1230).mulMod(Polynomial(0x230), modulus: Polynomial(0x55)).value == 0x22)
        let big = Polynomial(0x0eae8c07dbbb3026).mulMod(Polynomial(0xd5d6db9de04771de), modulus: Polynomial(0xdd2bda3b77c9))
        #expect(big.value == 0x425ae8595b7a)
    }

    @Test func divMod() {
        // (x^3 + x + 1)(x + 1) = x^4 + x^3 + x^2 + 1, plus remainder x.
        let (q, r) = Polynomial(0b11111).divMod(Polynomial(0b1011))
        #expect(q.value == 0b11)
        #expect(r.value == 0b10)
        #expect(Polynomial(0b11111).modulo(Polynomial(0)).value == 0b11111)
    }

    @Test func randomGivesIrreducibleDegree53() {
        var rng = TestData.SplitMix(state: 2024)
        var seen = Set<Polynomial>()
        for _ in 0..<5 {
            let polynomial = Polynomial.random { rng.next() }
            #expect(polynomial.degree == 53)
            #expect(polynomial.value & 1 == 1)
            #expect(polynomial.isIrreducible)
            #expect(throws: Never.self) { try polynomial.validateForChunking() }
            seen.insert(polynomial)
        }
        #expect(seen.count == 5)
    }

    @Test func randomKeepsTheFirstIrreducibleCandidate() {
        // Words are masked to bits 0..53 with bits 53 and 0 set: the reducible 0x38f1e565e288df is
        // skipped, the irreducible 0x3DA3358B4DC173 (given with junk in the high bits) is taken.
        var words: [UInt64] = [0xFFC0_0000_0000_0000 | 0x38f1e565e288df, 0xAB00_0000_0000_0000 | 0x3DA3358B4DC172]
        let polynomial = Polynomial.random(randomWord: { words.removeFirst() }, maxTries: 2)
        #expect(polynomial == Polynomial(0x3DA3358B4DC173))
        #expect(Polynomial.random(randomWord: { 0 }, maxTries: 100) == nil)
    }

    @Test func validationRejectsWhatResticWouldNotWrite() {
        #expect(throws: ChunkerError.reduciblePolynomial(Polynomial(0x38f1e565e288df))) {
            try Polynomial(0x38f1e565e288df).validateForChunking()
        }
        #expect(throws: ChunkerError.unsupportedPolynomialDegree(Polynomial(0x7))) {
            try ChunkerTables(validating: Polynomial(0x7))
        }
        #expect(throws: ChunkerError.unsupportedPolynomialDegree(Polynomial(1 << 60 | 1))) {
            try Polynomial(1 << 60 | 1).validateForChunking()
        }
    }
}
