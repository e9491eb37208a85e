internal import CLibCrypto

/// Owns one EVP_CIPHER_CTX keyed once at creation. Used for AES-256-CTR (the payload cipher) and
/// AES-128-ECB (the Poly1305 nonce block); neither pads, so output length always equals input length.
final class CipherContext {
    private let ctx: OpaquePointer

    /// `key` must have the cipher's key length (checked by the callers).
    init(cipher: Result<FetchedAlgorithm, CryptoError>, key: UnsafeRawBufferPointer) throws(CryptoError) {
        let algorithm = try cipher.get()
        ctx = try OpenSSL.check(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new")
        // deinit runs if a later step throws, so the context is not leaked.
        try OpenSSL.check(EVP_EncryptInit_ex2(ctx, algorithm.pointer, key.baseAddress?.assumingMemoryBound(to: UInt8.self), nil, nil),
                          "EVP_EncryptInit_ex2")
        try OpenSSL.check(EVP_CIPHER_CTX_set_padding(ctx, 0), "EVP_CIPHER_CTX_set_padding")
    }

    deinit {
        // EVP_CIPHER_CTX_free cleanses the expanded key schedule.
        EVP_CIPHER_CTX_free(ctx)
    }

    /// Starts a new CTR stream at counter block `iv` (16 bytes), keeping the key schedule.
    @inline(never)
    func restart(iv: UnsafeRawPointer) throws(CryptoError) {
        try OpenSSL.check(
            EVP_EncryptInit_ex2(ctx, nil, nil, iv.assumingMemoryBound(to: UInt8.self), nil),
            "EVP_EncryptInit_ex2")
    }

    /// Transforms `count` bytes; `input` and `output` may be the same buffer (in place).
    @inline(never)
    func update(_ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, count: Int) throws(CryptoError) {
        // EVP lengths are C ints, so large buffers go through in slices; CTR keeps its
        // counter position across calls.
        let slice = 1 << 30
        var done = 0
        while done < count {
            let n = min(slice, count - done)
            var written: Int32 = 0
            try OpenSSL.check(
                EVP_EncryptUpdate(ctx, (output + done).assumingMemoryBound(to: UInt8.self), &written,
                                  (input + done).assumingMemoryBound(to: UInt8.self), Int32(n)),
                "EVP_EncryptUpdate")
            guard Int(written) == n else {
                throw CryptoError.library("EVP_EncryptUpdate wrote \(written) of \(n) bytes")
            }
            done += n
        }
    }
}
