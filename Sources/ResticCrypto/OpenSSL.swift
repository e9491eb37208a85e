internal import CLibCrypto

/// The single place where OpenSSL return codes become Swift errors, plus the algorithm objects
/// fetched once per process.
enum OpenSSL {
    /// EVP functions report success as 1; anything else is turned into `CryptoError.library`
    /// carrying OpenSSL's error queue.
    @inline(__always)
    static func check(_ rc: Int32, _ function: StaticString) throws(CryptoError) {
        guard rc == 1 else { throw failure(function) }
    }

    /// Allocation, fetch and one-shot functions report failure as NULL.
    @inline(__always)
    static func check<Pointer>(_ pointer: Pointer?, _ function: StaticString) throws(CryptoError) -> Pointer {
        guard let pointer else { throw failure(function) }
        return pointer
    }

    /// Drains OpenSSL's thread-local error queue so a later failure does not report stale entries.
    static func failure(_ function: StaticString) -> CryptoError {
        var messages: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let detail = messages.isEmpty ? "no error detail" : messages.joined(separator: "; ")
        return .library("\(function) failed: \(detail)")
    }

    /// For the few entry points whose signature cannot throw: with valid inputs these calls fail
    /// only when OpenSSL itself is unusable (out of memory, provider missing), which no caller
    /// could recover from either.
    static func mustSucceed<T>(_ body: () throws(CryptoError) -> T) -> T {
        do {
            return try body()
        } catch {
            fatalError("OpenSSL is unusable: \(error)")
        }
    }
}

/// A fetched OpenSSL algorithm object. OpenSSL documents these as immutable and safe to share
/// between threads; they are kept for the lifetime of the process.
struct FetchedAlgorithm: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Explicit fetches avoid OpenSSL 3's implicit fetch (a locked lookup) on every init call.
enum Algorithms {
    static let aes256CTR: Result<FetchedAlgorithm, CryptoError> = fetch {
        EVP_CIPHER_fetch(nil, "AES-256-CTR", nil)
    }
    static let aes128ECB: Result<FetchedAlgorithm, CryptoError> = fetch {
        EVP_CIPHER_fetch(nil, "AES-128-ECB", nil)
    }
    static let poly1305: Result<FetchedAlgorithm, CryptoError> = fetch {
        EVP_MAC_fetch(nil, "POLY1305", nil)
    }
    static let sha256: Result<FetchedAlgorithm, CryptoError> = fetch {
        EVP_MD_fetch(nil, "SHA256", nil)
    }

    private static func fetch(_ body: () -> OpaquePointer?) -> Result<FetchedAlgorithm, CryptoError> {
        do throws(CryptoError) {
            return .success(FetchedAlgorithm(pointer: try OpenSSL.check(body(), "EVP_*_fetch")))
        } catch {
            return .failure(error)
        }
    }
}
