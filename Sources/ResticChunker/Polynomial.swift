/// A polynomial over GF(2) packed into a `UInt64`: bit i is the coefficient of x^i.
///
/// restic stores the chunker polynomial of a repository in its config as lowercase hex; every
/// repository made by restic uses a random irreducible polynomial of degree 53.
public struct Polynomial: Sendable, Hashable, CustomStringConvertible {
    public let value: UInt64

    /// The degree restic uses for random polynomials (the largest prime below 64 - 8).
    public static let chunkerDegree = 53

    /// How many random candidates `random(randomWord:)` tries, as restic does.
    public static let randomMaxTries = 1_000_000

    public init(_ value: UInt64) {
        self.value = value
    }

    /// The highest exponent with a non-zero coefficient, -1 for the zero polynomial.
    public var degree: Int {
        63 - value.leadingZeroBitCount
    }

    /// Go-style rendering (`0x3da3358b4dc173`), as restic's `Pol.String()` prints it.
    public var description: String {
        "0x" + hexString
    }

    /// Lowercase hex without prefix or leading zeros, the form of `chunker_polynomial` in the config.
    public var hexString: String {
        String(value, radix: 16)
    }

    /// Parses hex digits (either case, no prefix or sign), like restic's `strconv.ParseUint(s, 16, 64)`.
    public init?(hexString: String) {
        let utf8 = hexString.utf8
        guard !utf8.isEmpty else { return nil }
        var result: UInt64 = 0
        for byte in utf8 {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            // Leading zeros are accepted (ParseUint does), overflow is not.
            guard result >> 60 == 0 else { return nil }
            result = result << 4 | digit
        }
        self.value = result
    }

    /// Ben-Or's irreducibility test as restic/chunker runs it: for i = 1 ... deg/2,
    /// gcd(f, x^(2^i) - x mod f) must be 1. Degrees 0 and 1 (and the zero polynomial) pass, as in restic.
    public var isIrreducible: Bool {
        let half = degree / 2
        guard half >= 1 else { return true }
        let x = Polynomial(2)
        // x^(2^i) is the square of x^(2^(i-1)): keep squaring instead of restarting from x each round.
        var power = x
        for _ in 1...half {
            power = power.mulMod(power, modulus: self)
            let candidate = (power + x).modulo(self)
            if gcd(candidate).value != 1 {
                return false
            }
        }
        return true
    }

    /// Whether the rolling hash can use this polynomial: degree 8 ... 53, as restic's chunker requires
    /// (`digest >> (deg - 8)` must index a 256-entry table and the digest must fit 8 more bits).
    public var isUsableForChunking: Bool {
        (8...Self.chunkerDegree).contains(degree)
    }

    /// Throws unless the polynomial is one restic could have written: irreducible and usable for chunking.
    public func validateForChunking() throws(ChunkerError) {
        guard isUsableForChunking else {
            throw .unsupportedPolynomialDegree(self)
        }
        guard isIrreducible else {
            throw .reduciblePolynomial(self)
        }
    }

    /// restic's `DerivePolynomial`: take a random word, keep bits 0 ... 53, set bits 53 and 0, and keep
    /// it if irreducible; nil if none of `maxTries` candidates was (about 1 in 53 is).
    public static func random(randomWord: () -> UInt64, maxTries: Int) -> Polynomial? {
        for _ in 0..<max(maxTries, 0) {
            let bits = randomWord() & ((1 << 54) - 1) | (1 << 53) | 1
            let candidate = Polynomial(bits)
            if candidate.isIrreducible {
                return candidate
            }
        }
        return nil
    }

    /// restic's procedure with its bound of 10^6 tries; pass words from a CSPRNG.
    ///
    /// With a working generator the chance of exhausting the bound is about (52/53)^1000000, so
    /// running out means the word source is broken, and that is a programming error.
    public static func random(randomWord: () -> UInt64) -> Polynomial {
        guard let polynomial = random(randomWord: randomWord, maxTries: randomMaxTries) else {
            preconditionFailure("random word source is broken: no irreducible polynomial in \(randomMaxTries) tries")
        }
        return polynomial
    }
}
