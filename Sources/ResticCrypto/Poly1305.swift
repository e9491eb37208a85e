internal import CLibCrypto

/// Owns one EVP_MAC_CTX for Poly1305. A Poly1305 key is single-use, so every message re-keys it.
final class Poly1305Context {
    static let keySize = 32
    static let tagSize = 16

    private let ctx: OpaquePointer

    init() throws(CryptoError) {
        let algorithm = try Algorithms.poly1305.get()
        ctx = try OpenSSL.check(EVP_MAC_CTX_new(algorithm.pointer), "EVP_MAC_CTX_new")
    }

    deinit {
        EVP_MAC_CTX_free(ctx)
    }

    /// Writes the 16-byte tag of `message` under the one-time key `key` (r ‖ s, 32 bytes).
    @inline(never)
    func authenticate(_ message: UnsafeRawBufferPointer, key: UnsafeRawPointer,
                      tag: UnsafeMutableRawPointer) throws(CryptoError) {
        try OpenSSL.check(
            EVP_MAC_init(ctx, key.assumingMemoryBound(to: UInt8.self), Self.keySize, nil), "EVP_MAC_init")
        if let base = message.baseAddress, message.count > 0 {
            try OpenSSL.check(
                EVP_MAC_update(ctx, base.assumingMemoryBound(to: UInt8.self), message.count), "EVP_MAC_update")
        }
        var written = 0
        try OpenSSL.check(
            EVP_MAC_final(ctx, tag.assumingMemoryBound(to: UInt8.self), &written, Self.tagSize), "EVP_MAC_final")
        guard written == Self.tagSize else {
            throw CryptoError.library("EVP_MAC_final wrote \(written) bytes instead of \(Self.tagSize)")
        }
    }
}

/// Restic's MAC construction, Poly1305-AES (Bernstein 2005): the one-time key is
/// clamp(r) ‖ AES-128(k, nonce), and the nonce is the object's IV.
final class Poly1305AESContext {
    /// restic ≥ 0.17 stores r unclamped and relies on the Poly1305 implementation to clamp;
    /// clamping here keeps the construction right whatever the backend does.
    private static let clampMask: [UInt8] = [
        0xff, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f,
        0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f,
    ]

    private let nonceCipher: CipherContext
    private let poly: Poly1305Context
    /// clamp(r) ‖ s; s is rewritten for every message. Allocated once, cleansed on release.
    private let oneTimeKey: UnsafeMutableRawPointer

    /// `k` and `r` must be 16 bytes (checked by the callers).
    init(k: UnsafeRawBufferPointer, r: UnsafeRawBufferPointer) throws(CryptoError) {
        nonceCipher = try CipherContext(cipher: Algorithms.aes128ECB, key: k)
        poly = try Poly1305Context()
        oneTimeKey = .allocate(byteCount: Poly1305Context.keySize, alignment: 16)
        oneTimeKey.initializeMemory(as: UInt8.self, repeating: 0, count: Poly1305Context.keySize)
        for (i, byte) in r.prefix(16).enumerated() {
            oneTimeKey.storeBytes(of: byte & Self.clampMask[i], toByteOffset: i, as: UInt8.self)
        }
    }

    deinit {
        OPENSSL_cleanse(oneTimeKey, Poly1305Context.keySize)
        oneTimeKey.deallocate()
    }

    /// Writes the 16-byte tag of `message` for `nonce` (16 bytes) to `tag`.
    @inline(never)
    func tag(of message: UnsafeRawBufferPointer, nonce: UnsafeRawPointer,
             into tag: UnsafeMutableRawPointer) throws(CryptoError) {
        try nonceCipher.update(nonce, oneTimeKey + 16, count: 16)
        try poly.authenticate(message, key: oneTimeKey, tag: tag)
    }
}

/// Restic's Poly1305-AES construction, exposed for known-answer tests.
public enum Poly1305AES {
    public static let tagSize = 16

    /// The 16-byte tag of `message`; `r`, `k` and `nonce` must be 16 bytes each (a programming error otherwise).
    public static func mac(message: [UInt8], r: [UInt8], k: [UInt8], nonce: [UInt8]) -> [UInt8] {
        precondition(r.count == 16 && k.count == 16 && nonce.count == 16,
                     "Poly1305AES.mac needs 16-byte r, k and nonce")
        return OpenSSL.mustSucceed { () throws(CryptoError) -> [UInt8] in
            let context = try k.withBytes { (kBytes) throws(CryptoError) in
                try r.withBytes { (rBytes) throws(CryptoError) in try Poly1305AESContext(k: kBytes, r: rBytes) }
            }
            return try message.withBytes { (msg) throws(CryptoError) -> [UInt8] in
                try nonce.withBytes { (iv) throws(CryptoError) -> [UInt8] in
                    try [UInt8](unsafeUninitializedCapacity: tagSize) { (out, count) throws(CryptoError) in
                        guard let ivBase = iv.baseAddress, let outBase = out.baseAddress else { return }
                        try context.tag(of: msg, nonce: ivBase, into: outBase)
                        count = tagSize
                    }
                }
            }
        }
    }
}
