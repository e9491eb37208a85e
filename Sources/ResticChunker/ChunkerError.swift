/// Why a chunker parameter taken from outside (a repository config) cannot be used.
public enum ChunkerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rolling hash needs a polynomial of degree 8 ... 53; restic always uses degree 53.
    case unsupportedPolynomialDegree(Polynomial)
    /// restic only ever writes irreducible polynomials; a reducible one means a damaged or forged config.
    case reduciblePolynomial(Polynomial)
    /// Average bits outside 1 ... 53 (restic uses 20, i.e. about 1 MiB chunks).
    case unsupportedAverageBits(Int)

    public var description: String {
        switch self {
        case .unsupportedPolynomialDegree(let polynomial):
            "chunker polynomial \(polynomial) has degree \(polynomial.degree), expected 8...53 (restic uses 53)"
        case .reduciblePolynomial(let polynomial):
            "chunker polynomial \(polynomial) is reducible"
        case .unsupportedAverageBits(let bits):
            "chunker average bits \(bits) outside 1...53"
        }
    }
}
