internal import CZstd

/// Errors from zstd compression and decompression.
public enum ZstdError: Error, Equatable, CustomStringConvertible {
    /// libzstd reported a failure; the text is zstd's own error name.
    case library(String)
    /// The decompressed data would exceed the given limit (the associated value) in bytes.
    case sizeLimitExceeded(Int)
    /// The frame decoded to `actual` bytes where `expected` were required.
    case sizeMismatch(expected: Int, actual: Int)
    /// The frame headers contradict themselves (e.g. a content size the blocks cannot hold).
    case invalidFrame(String)

    public var description: String {
        switch self {
        case .library(let message):
            return "zstd error: \(message)"
        case .sizeLimitExceeded(let limit):
            return "zstd: decompressed data exceeds the limit of \(limit) bytes"
        case .sizeMismatch(let expected, let actual):
            return "zstd: decompressed \(actual) bytes, expected \(expected)"
        case .invalidFrame(let message):
            return "zstd: invalid frame: \(message)"
        }
    }
}

/// The single place where zstd return codes become Swift errors.
enum Zstd {
    /// zstd encodes errors as huge size_t values; `ZSTD_isError` tells them apart from sizes.
    @inline(__always)
    @discardableResult
    static func check(_ code: Int, _ function: StaticString) throws(ZstdError) -> Int {
        guard ZSTD_isError(code) == 0 else {
            throw .library("\(function) failed: \(String(cString: ZSTD_getErrorName(code)))")
        }
        return code
    }

    /// Context constructors report failure as NULL (out of memory).
    @inline(__always)
    static func check(_ pointer: OpaquePointer?, _ function: StaticString) throws(ZstdError) -> OpaquePointer {
        guard let pointer else { throw .library("\(function) failed: out of memory") }
        return pointer
    }
}
