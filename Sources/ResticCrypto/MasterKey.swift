/// A restic key triple: AES-256 encryption key plus the Poly1305-AES MAC key (k, r).
///
/// Used both for the repository master key and for the user key derived from a password
/// (which only ever opens a key file's `data`). `description` never shows key bytes.
public struct MasterKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Bytes added by sealing: IV(16) + MAC(16).
    public static let overhead = 32
    public static let ivSize = 16
    public static let macSize = 16
    public static let encryptionKeySize = 32
    public static let macKeySize = 16
    /// Length of the scrypt output that `init(derivedKey:)` splits.
    public static let derivedKeySize = 64

    /// 32 bytes AES-256 key.
    public let encryption: [UInt8]
    /// 16 bytes AES-128 key for the Poly1305 nonce block.
    public let macK: [UInt8]
    /// 16 bytes Poly1305 r, stored as given (may be unclamped); always clamped when used.
    public let macR: [UInt8]

    /// Checks sizes and rejects all-zero parts, as restic's `Key.Valid` does.
    public init(encryption: [UInt8], macK: [UInt8], macR: [UInt8]) throws(CryptoError) {
        guard encryption.count == Self.encryptionKeySize else {
            throw .invalidKey("encryption key has \(encryption.count) bytes, expected \(Self.encryptionKeySize)")
        }
        guard macK.count == Self.macKeySize else {
            throw .invalidKey("MAC key k has \(macK.count) bytes, expected \(Self.macKeySize)")
        }
        guard macR.count == Self.macKeySize else {
            throw .invalidKey("MAC key r has \(macR.count) bytes, expected \(Self.macKeySize)")
        }
        guard encryption.contains(where: { $0 != 0 }) else { throw .invalidKey("encryption key is all zero") }
        guard macK.contains(where: { $0 != 0 }) else { throw .invalidKey("MAC key k is all zero") }
        guard macR.contains(where: { $0 != 0 }) else { throw .invalidKey("MAC key r is all zero") }
        self.encryption = encryption
        self.macK = macK
        self.macR = macR
    }

    /// Splits 64 scrypt bytes: 0..<32 encryption, 32..<48 macK, 48..<64 macR.
    public init(derivedKey: [UInt8]) throws(CryptoError) {
        guard derivedKey.count == Self.derivedKeySize else {
            throw .invalidKey("derived key has \(derivedKey.count) bytes, expected \(Self.derivedKeySize)")
        }
        try self.init(encryption: Array(derivedKey[0..<32]),
                      macK: Array(derivedKey[32..<48]),
                      macR: Array(derivedKey[48..<64]))
    }

    /// A fresh key from OpenSSL's CSPRNG; r is stored unclamped, as restic ≥ 0.17 does.
    public static func random() -> MasterKey {
        while true {
            // An all-zero part has probability 2^-128; drawing again keeps the invariant total.
            if let key = try? MasterKey(encryption: SecureRandom.bytes(encryptionKeySize),
                                        macK: SecureRandom.bytes(macKeySize),
                                        macR: SecureRandom.bytes(macKeySize)) {
                return key
            }
        }
    }

    /// Size of a sealed object holding `plaintextCount` bytes.
    public static func sealedCount(plaintextCount: Int) -> Int {
        plaintextCount + overhead
    }

    /// `IV ‖ AES-256-CTR ‖ Poly1305-AES(ciphertext)` with a fresh random IV.
    /// For many objects keep a `CryptoContext` instead; this builds one per call.
    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        CryptoContext(key: self).seal(plaintext)
    }

    /// Verifies the MAC (constant time) before decrypting.
    public func open(_ sealed: [UInt8]) throws(CryptoError) -> [UInt8] {
        try CryptoContext(key: self).open(sealed)
    }

    public func open(_ sealed: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        try CryptoContext(key: self).open(sealed)
    }

    /// Constant time, so comparing keys leaks nothing through timing.
    public static func == (lhs: MasterKey, rhs: MasterKey) -> Bool {
        let encryption = lhs.encryption.withUnsafeBytes { a in
            rhs.encryption.withUnsafeBytes { b in constantTimeEqual(a, b) }
        }
        let k = lhs.macK.withUnsafeBytes { a in rhs.macK.withUnsafeBytes { b in constantTimeEqual(a, b) } }
        let r = lhs.macR.withUnsafeBytes { a in rhs.macR.withUnsafeBytes { b in constantTimeEqual(a, b) } }
        return encryption && k && r
    }

    public var description: String { "MasterKey(<redacted>)" }
    public var debugDescription: String { description }
}
