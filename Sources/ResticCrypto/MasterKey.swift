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

    /// encryption(32) ‖ mac k(16) ‖ mac r(16), wiped when the last copy of this key is gone.
    let secret: SecretBytes

    /// 32 bytes AES-256 key. A copy the caller owns (and should wipe); the engine itself uses
    /// the bytes in place.
    public var encryption: [UInt8] { secret.copyBytes(0..<32) }
    /// 16 bytes AES-128 key for the Poly1305 nonce block (a copy, as `encryption`).
    public var macK: [UInt8] { secret.copyBytes(32..<48) }
    /// 16 bytes Poly1305 r, stored as given (may be unclamped); always clamped when used (a copy).
    public var macR: [UInt8] { secret.copyBytes(48..<64) }

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
        try self.init(secret: SecretBytes(count: Self.derivedKeySize) { buffer in
            buffer.copyBytes(from: encryption)
            UnsafeMutableRawBufferPointer(rebasing: buffer[32..<48]).copyBytes(from: macK)
            UnsafeMutableRawBufferPointer(rebasing: buffer[48..<64]).copyBytes(from: macR)
        })
    }

    /// Splits 64 scrypt bytes: 0..<32 encryption, 32..<48 macK, 48..<64 macR.
    public init(derivedKey: [UInt8]) throws(CryptoError) {
        guard derivedKey.count == Self.derivedKeySize else {
            throw .invalidKey("derived key has \(derivedKey.count) bytes, expected \(Self.derivedKeySize)")
        }
        try self.init(secret: SecretBytes(copying: derivedKey))
    }

    /// Takes 64 bytes laid out as `init(derivedKey:)` expects (e.g. `Scrypt.deriveSecret`'s
    /// output) without copying them.
    public init(derived: SecretBytes) throws(CryptoError) {
        guard derived.count == Self.derivedKeySize else {
            throw .invalidKey("derived key has \(derived.count) bytes, expected \(Self.derivedKeySize)")
        }
        try self.init(secret: derived)
    }

    private init(secret: SecretBytes) throws(CryptoError) {
        try secret.withUnsafeBytes { (bytes) throws(CryptoError) in
            guard !isAllZero(UnsafeRawBufferPointer(rebasing: bytes[0..<32])) else { throw .invalidKey("encryption key is all zero") }
            guard !isAllZero(UnsafeRawBufferPointer(rebasing: bytes[32..<48])) else { throw .invalidKey("MAC key k is all zero") }
            guard !isAllZero(UnsafeRawBufferPointer(rebasing: bytes[48..<64])) else { throw .invalidKey("MAC key r is all zero") }
        }
        self.secret = secret
    }

    /// A fresh key from OpenSSL's CSPRNG; r is stored unclamped, as restic ≥ 0.17 does.
    public static func random() -> MasterKey {
        while true {
            // An all-zero part has probability 2^-128; drawing again keeps the invariant total.
            let secret = SecretBytes(count: derivedKeySize) { buffer in
                if let base = buffer.baseAddress { SecureRandom.fill(base, count: buffer.count) }
            }
            if let key = try? MasterKey(secret: secret) { return key }
        }
    }

    /// The three parts in place, for building cipher contexts without copies.
    func withParts<R>(_ body: (_ encryption: UnsafeRawBufferPointer, _ macK: UnsafeRawBufferPointer,
                               _ macR: UnsafeRawBufferPointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
        try secret.withUnsafeBytes { (bytes) throws(CryptoError) -> R in
            try body(UnsafeRawBufferPointer(rebasing: bytes[0..<32]), UnsafeRawBufferPointer(rebasing: bytes[32..<48]),
                     UnsafeRawBufferPointer(rebasing: bytes[48..<64]))
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
        lhs.secret.withUnsafeBytes { a in rhs.secret.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }

    public var description: String { "MasterKey(<redacted>)" }
    public var debugDescription: String { description }
}
