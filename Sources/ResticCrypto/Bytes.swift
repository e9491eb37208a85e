internal import CLibCrypto

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps the typed error (the stdlib version is untyped `rethrows`).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
        try withUnsafeBytes { buffer in Result { () throws(CryptoError) in try body(buffer) } }.get()
    }

    /// `withUnsafeMutableBytes` that keeps the typed error.
    mutating func withMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws(CryptoError) -> R
    ) throws(CryptoError) -> R {
        try withUnsafeMutableBytes { buffer in Result { () throws(CryptoError) in try body(buffer) } }.get()
    }
}

/// Constant-time equality for secrets and tags; the running time depends only on the lengths.
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard let pa = a.baseAddress, let pb = b.baseAddress else { return a.count == 0 }
    return CRYPTO_memcmp(pa, pb, a.count) == 0
}

func isAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var acc: UInt8 = 0
    for byte in bytes { acc |= byte }
    return acc == 0
}
