internal import CLibCrypto
import CartaeSync

/// Key material in memory that this object alone owns: one allocation that is never copied or
/// moved by the runtime (unlike an array's buffer), overwritten with zeros by
/// `OPENSSL_cleanse` — a store the optimizer may not remove — before it is freed.
///
/// Master keys and scrypt-derived user keys live here; `MasterKey` shares one instance between
/// its copies, so the bytes are wiped when the last copy goes away.
public final class SecretBytes: @unchecked Sendable {
    // @unchecked: the bytes are written only inside `init` and read-only afterwards.
    private let storage: UnsafeMutableRawBufferPointer

    /// Allocates `count` bytes (zeroed) and lets `initialize` write them.
    public init<E: Error>(count: Int, _ initialize: (UnsafeMutableRawBufferPointer) throws(E) -> Void) throws(E) {
        precondition(count >= 0, "SecretBytes: negative count \(count)")
        storage = .allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        do {
            try initialize(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
        } catch {
            Self.release(storage)
            throw error
        }
        self.count = count
    }

    /// A copy of `bytes`; the caller should wipe its own copy (see `wipe(_:)`).
    public convenience init(copying bytes: some Collection<UInt8>) {
        self.init(count: bytes.count) { buffer in buffer.copyBytes(from: bytes) }
    }

    public let count: Int

    deinit {
        Self.release(storage)
    }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// A plain array copy of `range`, for APIs that need one (it is not wiped automatically).
    public func copyBytes(_ range: Range<Int>) -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "SecretBytes: range out of bounds")
        return Array(UnsafeRawBufferPointer(rebasing: storage[range]))
    }

    /// Overwrites an array's bytes with zeros in place (no copy is made when the array is
    /// uniquely referenced, as a local temporary is), for key bytes that had to pass through one.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
        }
    }

    private static func release(_ storage: UnsafeMutableRawBufferPointer) {
        if let base = storage.baseAddress { OPENSSL_cleanse(base, storage.count) }
        releaseObserver.withLock { $0 }?(UnsafeRawBufferPointer(storage))
        storage.deallocate()
    }

    /// Test hook: sees every buffer after it was wiped and just before it is freed.
    static let releaseObserver = Locked<(@Sendable (UnsafeRawBufferPointer) -> Void)?>(nil)
}

extension SecretBytes: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SecretBytes(\(count) bytes, <redacted>)" }
    public var debugDescription: String { description }
    /// `dump` and reflection see no bytes either.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .class) }
}
