#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticCrypto
import ResticCompress

/// Per-task compression and encryption state (contexts are reused, never shared).
public final class BlobSealer {
    public enum Compression: Sendable, Equatable {
        case off, level(Int32)

        /// restic's `auto`. zstd level 2 rather than 3: measured on /usr/share and on the Swift
        /// toolchain's binaries it compresses 1.5-3x faster for a repository 1-4% larger, still
        /// no bigger than restic's own `auto` output (see Benchmarks/README.md).
        public static let automatic = Compression.level(2)
    }

    let key: MasterKey
    let crypto: CryptoContext
    let compressor: ZstdCompressor?
    let verifier: ZstdVerifier
    let compressData: Bool
    let compressTrees: Bool
    let verify: Bool
    /// Reused for reading sealed blobs back, so verification allocates nothing per blob.
    private var verifyBuffer: [UInt8] = []

    /// `compression` applies to data blobs; tree blobs are compressed in any v2 repository,
    /// as restic does.
    public init(repository: Repository, compression: Compression, verify: Bool = true) throws {
        key = repository.key
        crypto = CryptoContext(key: repository.key)
        let v2 = repository.version >= 2
        // With compression off, trees are still compressed in v2, at the automatic level.
        var level: Int32 = 2
        if case .level(let chosen) = compression { level = chosen }
        compressor = v2 ? try ZstdCompressor(level: level) : nil
        verifier = try ZstdVerifier()
        compressTrees = v2
        if case .off = compression { compressData = false } else { compressData = v2 }
        self.verify = verify
    }

    /// Compresses (when enabled and the blob is not empty) and encrypts a blob; returns the
    /// sealed bytes and the uncompressed length to record (0 = stored uncompressed).
    public func seal(_ plaintext: UnsafeRawBufferPointer, id: ObjectID, type: BlobType) throws -> (sealed: [UInt8], uncompressedLength: UInt32) {
        var sealed: [UInt8] = []
        let uncompressedLength = try seal(plaintext, id: id, type: type, appendingTo: &sealed)
        return (sealed, uncompressedLength)
    }

    /// Seals the blob onto the end of `out` (a pack being assembled, so the sealed bytes are
    /// written once, in place); returns the uncompressed length to record (0 = stored plain).
    public func seal(_ plaintext: UnsafeRawBufferPointer, id: ObjectID, type: BlobType,
                     appendingTo out: inout [UInt8]) throws -> UInt32 {
        let start = out.count
        var uncompressedLength: UInt32 = 0
        if plaintext.count > 0, type == .tree ? compressTrees : compressData, let compressor {
            // Incompressible blobs (random data, tiny trees) would come out a few bytes bigger:
            // those are stored plain, which an uncompressed header entry allows in v2 as well.
            let frame = try compressor.compressInPlace(plaintext)
            if frame.count < plaintext.count {
                crypto.seal(frame, appendingTo: &out)
                uncompressedLength = UInt32(plaintext.count)
            }
        }
        if uncompressedLength == 0 { crypto.seal(plaintext, appendingTo: &out) }
        if verify {
            try out.withUnsafeBytes { sealed in
                try check(UnsafeRawBufferPointer(rebasing: sealed[start...]), plaintext: plaintext, id: id,
                          uncompressedLength: uncompressedLength)
            }
        }
        return uncompressedLength
    }

    /// Reads the sealed blob back before it leaves the process, so a fault in compression or
    /// encryption can never store a blob that fails to restore. Comparing with the plaintext
    /// is both stricter and cheaper than hashing it again.
    private func check(_ sealed: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer, id: ObjectID,
                       uncompressedLength: UInt32) throws {
        try crypto.open(sealed, into: &verifyBuffer)
        let same: Bool
        if uncompressedLength != 0 {
            same = verifyBuffer.withUnsafeBytes { verifier.matches($0, plaintext) }
        } else {
            same = Self.equal(verifyBuffer, plaintext)
        }
        guard same else {
            throw ResticError.corrupt("internal: blob \(id.hex) failed verification before upload")
        }
    }

    static func equal(_ bytes: [UInt8], _ plaintext: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == plaintext.count else { return false }
        guard let base = plaintext.baseAddress else { return true }
        return bytes.withUnsafeBytes { raw in
            guard let restored = raw.baseAddress else { return false }
            return memcmp(restored, base, plaintext.count) == 0
        }
    }
}
