import ResticCrypto

/// Hashing helpers for expectations, over ResticCrypto's SHA-256.
enum ResticCryptoBridge {
    static func sha256(_ text: String) -> [UInt8] { SHA256.digest(Array(text.utf8)) }
}
