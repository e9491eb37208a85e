internal import CLibCrypto

/// scrypt key derivation (RFC 7914), as restic uses it for key files.
public enum Scrypt {
    /// Refuse parameter sets needing more working memory than this (a hostile key file could
    /// otherwise ask for terabytes). restic itself calibrates to about 60 MiB.
    public static let defaultMemoryLimit = 4 << 30

    /// Derives `length` bytes. N must be a power of two > 1, r and p ≥ 1, r·p < 2^30.
    public static func derive(password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int,
                              length: Int) throws(CryptoError) -> [UInt8] {
        try derive(password: password, salt: salt, n: n, r: r, p: p, length: length,
                   memoryLimit: defaultMemoryLimit)
    }

    /// As `derive(password:salt:n:r:p:length:)`, refusing parameters that need more than `memoryLimit` bytes.
    public static func derive(password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int, length: Int,
                              memoryLimit: Int) throws(CryptoError) -> [UInt8] {
        let memory = try checked(n: n, r: r, p: p, length: length, memoryLimit: memoryLimit)
        return try [UInt8](unsafeUninitializedCapacity: length) { (buffer, count) throws(CryptoError) in
            guard let out = buffer.baseAddress else { return }
            try run(password: password, salt: salt, n: n, r: r, p: p, maxMemory: memory, out: out, length: length)
            count = length
        }
    }

    /// As `derive`, into storage that is wiped when released: for keys (see `MasterKey(derived:)`).
    public static func deriveSecret(password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int, length: Int,
                                    memoryLimit: Int = defaultMemoryLimit) throws(CryptoError) -> SecretBytes {
        let memory = try checked(n: n, r: r, p: p, length: length, memoryLimit: memoryLimit)
        return try SecretBytes(count: length) { (buffer) throws(CryptoError) in
            guard let out = buffer.baseAddress else { return }
            try run(password: password, salt: salt, n: n, r: r, p: p, maxMemory: memory,
                    out: out.assumingMemoryBound(to: UInt8.self), length: length)
        }
    }

    /// The working memory, after checking the parameters, the limit and the output length.
    private static func checked(n: Int, r: Int, p: Int, length: Int, memoryLimit: Int) throws(CryptoError) -> Int {
        let memory = try requiredMemory(n: n, r: r, p: p)
        guard memory <= memoryLimit else {
            throw .invalidParameters(
                "scrypt N=\(n) r=\(r) p=\(p) needs \(memory >> 20) MiB, more than the limit of \(memoryLimit >> 20) MiB")
        }
        guard length >= 1 else {
            throw .invalidParameters("scrypt output length must be at least 1, got \(length)")
        }
        return memory
    }

    /// Working memory OpenSSL will allocate: 128·r·(N + 2) for V plus 128·r·p for B.
    /// Also checks the parameters, so callers get a clear message instead of a bare OpenSSL failure.
    static func requiredMemory(n: Int, r: Int, p: Int) throws(CryptoError) -> Int {
        guard n > 1, n & (n - 1) == 0 else {
            throw .invalidParameters("scrypt N must be a power of two greater than 1, got \(n)")
        }
        guard r >= 1 else { throw .invalidParameters("scrypt r must be at least 1, got \(r)") }
        guard p >= 1 else { throw .invalidParameters("scrypt p must be at least 1, got \(p)") }
        let (rp, rpOverflow) = r.multipliedReportingOverflow(by: p)
        guard !rpOverflow, rp < 1 << 30 else {
            throw .invalidParameters("scrypt r·p must be below 2^30, got r=\(r) p=\(p)")
        }
        // RFC 7914 and OpenSSL require N < 2^(128·r/8); Go's scrypt does not check this, so a key
        // file with r=1 and N ≥ 65536 opens in restic but not here.
        if 16 * r < Int.bitWidth - 1, n >= 1 << (16 * r) {
            throw .invalidParameters("scrypt N=\(n) must be below 2^(16·r) = 2^\(16 * r) (OpenSSL requires this)")
        }
        let (block, blockOverflow) = r.multipliedReportingOverflow(by: 128)
        let (v, vOverflow) = block.multipliedReportingOverflow(by: n + 2)
        let (b, bOverflow) = block.multipliedReportingOverflow(by: p)
        let (total, totalOverflow) = v.addingReportingOverflow(b)
        guard !(blockOverflow || vOverflow || bOverflow || totalOverflow) else {
            throw .invalidParameters("scrypt N=\(n) r=\(r) p=\(p) needs more memory than can be addressed")
        }
        return total
    }

    @inline(never)
    private static func run(password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int, maxMemory: Int,
                            out: UnsafeMutablePointer<UInt8>, length: Int) throws(CryptoError) {
        let rc = password.withUnsafeBytes { passwordBytes in
            EVP_PBE_scrypt(passwordBytes.baseAddress?.assumingMemoryBound(to: CChar.self), passwordBytes.count,
                           salt, salt.count, UInt64(n), UInt64(r), UInt64(p),
                           // A little headroom above the exact figure, which OpenSSL compares with `>`.
                           UInt64(maxMemory) + (1 << 16), out, length)
        }
        try OpenSSL.check(rc, "EVP_PBE_scrypt")
    }
}
