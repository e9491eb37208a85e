internal import CLibCrypto

/// One-shot SHA-256 (restic's object and blob IDs).
public enum SHA256 {
    public static let digestSize = 32

    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { digest($0) }
    }

    public static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        OpenSSL.mustSucceed { () throws(CryptoError) -> [UInt8] in
            let md = try Algorithms.sha256.get()
            return try [UInt8](unsafeUninitializedCapacity: digestSize) { (buffer, count) throws(CryptoError) in
                guard let out = buffer.baseAddress else { return }
                try oneShot(md.pointer, bytes, into: out)
                count = digestSize
            }
        }
    }

    @inline(never)
    private static func oneShot(_ md: OpaquePointer, _ bytes: UnsafeRawBufferPointer,
                                into out: UnsafeMutablePointer<UInt8>) throws(CryptoError) {
        // OpenSSL returns early for zero bytes, so a nil base address is fine.
        var written: UInt32 = 0
        let rc = EVP_Digest(bytes.baseAddress, bytes.count, out, &written, md, nil)
        try OpenSSL.check(rc, "EVP_Digest")
        guard written == digestSize else {
            throw CryptoError.library("EVP_Digest wrote \(written) bytes instead of \(digestSize)")
        }
    }
}

/// Incremental SHA-256 for data that arrives in pieces (pack files, streamed uploads).
/// Owns one EVP_MD_CTX; `finalize()` returns the digest and starts over, so the object is reusable.
public final class SHA256Stream {
    private let ctx: OpaquePointer
    private let md: OpaquePointer

    public init() {
        (ctx, md) = OpenSSL.mustSucceed { () throws(CryptoError) -> (OpaquePointer, OpaquePointer) in
            let md = try Algorithms.sha256.get().pointer
            let ctx = try OpenSSL.check(EVP_MD_CTX_new(), "EVP_MD_CTX_new")
            do throws(CryptoError) {
                try OpenSSL.check(EVP_DigestInit_ex2(ctx, md, nil), "EVP_DigestInit_ex2")
            } catch {
                EVP_MD_CTX_free(ctx)
                throw error
            }
            return (ctx, md)
        }
    }

    deinit {
        EVP_MD_CTX_free(ctx)
    }

    @inline(never)
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        OpenSSL.mustSucceed { () throws(CryptoError) in
            try OpenSSL.check(EVP_DigestUpdate(ctx, base, bytes.count), "EVP_DigestUpdate")
        }
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything passed to `update` since creation or the previous `finalize()`.
    @inline(never)
    public func finalize() -> [UInt8] {
        OpenSSL.mustSucceed { () throws(CryptoError) -> [UInt8] in
            let digest = try [UInt8](unsafeUninitializedCapacity: SHA256.digestSize) {
                (buffer, count) throws(CryptoError) in
                guard let out = buffer.baseAddress else { return }
                var written: UInt32 = 0
                try OpenSSL.check(EVP_DigestFinal_ex(ctx, out, &written), "EVP_DigestFinal_ex")
                count = Int(written)
            }
            try OpenSSL.check(EVP_DigestInit_ex2(ctx, md, nil), "EVP_DigestInit_ex2")
            return digest
        }
    }
}

/// HMAC-SHA256 (RFC 2104), for S3 Signature Version 4.
public enum HMACSHA256 {
    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        precondition(key.count <= Int(Int32.max), "HMAC key longer than 2 GiB")
        return OpenSSL.mustSucceed { () throws(CryptoError) -> [UInt8] in
            let md = try Algorithms.sha256.get()
            return try [UInt8](unsafeUninitializedCapacity: SHA256.digestSize) { (buffer, count) throws(CryptoError) in
                guard let out = buffer.baseAddress else { return }
                var written: UInt32 = 0
                // Array-to-pointer bridging always yields a valid pointer, even for empty arrays.
                _ = try OpenSSL.check(
                    HMAC(md.pointer, key, Int32(key.count), message, message.count, out, &written), "HMAC")
                guard Int(written) == SHA256.digestSize else {
                    throw CryptoError.library("HMAC wrote \(written) bytes instead of \(SHA256.digestSize)")
                }
                count = SHA256.digestSize
            }
        }
    }
}

@available(*, unavailable)
extension SHA256Stream: Sendable {}
