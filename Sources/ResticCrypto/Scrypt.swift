internal import CLibCrypto
#if canImport(Glibc)
import Glibc
#endif

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
        _ = try checked(n: n, r: r, p: p, length: length, memoryLimit: memoryLimit)
        return try [UInt8](unsafeUninitializedCapacity: length) { (buffer, count) throws(CryptoError) in
            guard let out = buffer.baseAddress else { return }
            try run(password: password, salt: salt, n: n, r: r, p: p, out: out, length: length)
            count = length
        }
    }

    /// As `derive`, into storage that is wiped when released: for keys (see `MasterKey(derived:)`).
    public static func deriveSecret(password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int, length: Int,
                                    memoryLimit: Int = defaultMemoryLimit) throws(CryptoError) -> SecretBytes {
        _ = try checked(n: n, r: r, p: p, length: length, memoryLimit: memoryLimit)
        return try SecretBytes(count: length) { (buffer) throws(CryptoError) in
            guard let out = buffer.baseAddress else { return }
            try run(password: password, salt: salt, n: n, r: r, p: p,
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

    /// Working memory: 128·r·(N + 2) for V (OpenSSL's figure; the split V of `ScryptMix` stays
    /// within it) plus 128·r·p for B.
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
        let (block, blockOverflow) = r.multipliedReportingOverflow(by: 128)
        let (v, vOverflow) = block.multipliedReportingOverflow(by: n + 2)
        let (b, bOverflow) = block.multipliedReportingOverflow(by: p)
        let (total, totalOverflow) = v.addingReportingOverflow(b)
        guard !(blockOverflow || vOverflow || bOverflow || totalOverflow) else {
            throw .invalidParameters("scrypt N=\(n) r=\(r) p=\(p) needs more memory than can be addressed")
        }
        return total
    }

    /// Threads for the lanes: no more than the cores, and at most four, since each extra thread
    /// makes every lane recompute more of V (see `ScryptMix`).
    static var laneThreads: Int { max(1, min(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 4)) }

    /// RFC 7914 §6: B = PBKDF2-SHA256(P, S, 1, p·128·r); each lane of B through ROMix;
    /// DK = PBKDF2-SHA256(P, B, 1, dkLen).
    @inline(never)
    private static func run(password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int,
                            out: UnsafeMutablePointer<UInt8>, length: Int) throws(CryptoError) {
        let laneBytes = 128 * r * p
        let lanes = UnsafeMutablePointer<UInt8>.allocate(capacity: laneBytes)
        defer {
            lanes.update(repeating: 0, count: laneBytes)
            lanes.deallocate()
        }
        try pbkdf2(password: password, salt: salt, saltCount: salt.count, into: lanes, length: laneBytes)
        try ScryptMix.mix(lanes, n: n, r: r, p: p, threads: laneThreads)
        try pbkdf2(password: password, salt: lanes, saltCount: laneBytes, into: out, length: length)
    }

    /// One round of PBKDF2-HMAC-SHA256, as scrypt uses it on both ends.
    static func pbkdf2(password: [UInt8], salt: [UInt8], length: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        try salt.withUnsafeBufferPointer { (saltBytes) throws(CryptoError) in
            try out.withUnsafeMutableBufferPointer { (outBytes) throws(CryptoError) in
                try pbkdf2(password: password, salt: saltBytes.baseAddress ?? UnsafePointer(outBytes.baseAddress!),
                           saltCount: saltBytes.count, into: outBytes.baseAddress!, length: length)
            }
        }
        return out
    }

    private static func pbkdf2(password: [UInt8], salt: UnsafePointer<UInt8>, saltCount: Int,
                               into out: UnsafeMutablePointer<UInt8>, length: Int) throws(CryptoError) {
        guard password.count <= Int32.max, saltCount <= Int32.max, length <= Int32.max else {
            throw .invalidParameters("scrypt input of \(max(password.count, saltCount, length)) bytes is too large")
        }
        let md = try Algorithms.sha256.get()
        let rc = password.withUnsafeBytes { passwordBytes in
            PKCS5_PBKDF2_HMAC(passwordBytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(passwordBytes.count),
                              salt, Int32(saltCount), 1, md.pointer, Int32(length), out)
        }
        try OpenSSL.check(rc, "PKCS5_PBKDF2_HMAC")
    }

    /// OpenSSL's own scrypt, which runs the lanes one after another: the reference the tests
    /// hold `derive` to.
    static func deriveWithOpenSSL(password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int,
                                  length: Int) throws(CryptoError) -> [UInt8] {
        let memory = try checked(n: n, r: r, p: p, length: length, memoryLimit: defaultMemoryLimit)
        var out = [UInt8](repeating: 0, count: length)
        let rc = password.withUnsafeBytes { passwordBytes in
            EVP_PBE_scrypt(passwordBytes.baseAddress?.assumingMemoryBound(to: CChar.self), passwordBytes.count,
                           salt, salt.count, UInt64(n), UInt64(r), UInt64(p),
                           // A little headroom above the exact figure, which OpenSSL compares with `>`.
                           UInt64(memory) + (1 << 16), &out, length)
        }
        try OpenSSL.check(rc, "EVP_PBE_scrypt")
        return out
    }
}
