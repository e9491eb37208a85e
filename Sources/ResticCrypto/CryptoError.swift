/// Errors from sealing, opening, key handling and key derivation.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// The MAC did not match: wrong key, or the object was altered.
    case authenticationFailed
    /// The object is shorter than IV + MAC (32 bytes).
    case ciphertextTooShort
    case invalidKey(String)
    case invalidParameters(String)
    /// OpenSSL reported a failure; the text is OpenSSL's own error queue.
    case library(String)

    public var description: String {
        switch self {
        case .authenticationFailed:
            return "ciphertext verification failed (wrong key or corrupted data)"
        case .ciphertextTooShort:
            return "ciphertext too short: an encrypted object holds at least \(MasterKey.overhead) bytes"
        case .invalidKey(let why):
            return "invalid key: \(why)"
        case .invalidParameters(let why):
            return "invalid parameters: \(why)"
        case .library(let message):
            return "OpenSSL error: \(message)"
        }
    }
}
