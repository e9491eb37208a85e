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
    /// Where sealed blobs are decrypted again for verification, a piece at a time.
    private let window = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 64)

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

    deinit { window.deallocate() }

    /// Compresses (when enabled and the blob is not empty) and encrypts a blob; returns the
    /// sealed bytes and the uncompressed length to record (0 = stored uncompressed).
    public func seal(_ plaintext: UnsafeRawBufferPointer, id: ObjectID, type: BlobType) throws -> (sealed: [UInt8], uncompressedLength: UInt32) {
        var sealed: [UInt8] = []
        let uncompressedLength = try seal(plaintext, id: id, type: type, appendingTo: &sealed)
        return (sealed, uncompressedLength)
    }

    /// Seals the blob onto the end of `out`; returns the uncompressed length to record
    /// (0 = stored plain).
    public func seal(_ plaintext: UnsafeRawBufferPointer, id: ObjectID, type: BlobType,
                     appendingTo out: inout [UInt8]) throws -> UInt32 {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: room(for: plaintext.count, type: type)))
        let (length, uncompressedLength) = try out.withUnsafeMutableBytes { buffer in
            try seal(plaintext, id: id, type: type, into: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
        }
        out.removeLast(out.count - start - length)
        return uncompressedLength
    }

    /// Bytes `seal(_:id:type:into:)` needs for a blob of `count` bytes. Trees in a v2
    /// repository are always compressed, as restic does, even when the frame comes out larger
    /// (the empty tree does): restic's prune repacks every pack holding an uncompressed tree,
    /// so storing one plain would make each prune rewrite it. zstd's bound on the growth is
    /// count/256 + 64 bytes.
    public func room(for count: Int, type: BlobType) -> Int {
        count + MasterKey.overhead + (type == .tree && compressTrees ? count / 256 + 128 : 0)
    }

    /// Seals the blob into `destination` (free space in a pack being assembled), which needs
    /// `room(for:type:)` bytes. The frame is compressed straight
    /// into place and encrypted there, so sealing needs no buffer of its own. Returns the
    /// sealed length and the uncompressed length to record (0 = stored plain).
    public func seal(_ plaintext: UnsafeRawBufferPointer, id: ObjectID, type: BlobType,
                     into destination: UnsafeMutableRawBufferPointer) throws -> (length: Int, uncompressedLength: UInt32) {
        guard let object = destination.baseAddress, destination.count >= room(for: plaintext.count, type: type) else {
            throw ResticError(.other, "internal: no room to seal blob \(id.hex)")
        }
        var length = 0
        var uncompressedLength: UInt32 = 0
        if plaintext.count > 1, type == .tree ? compressTrees : compressData, let compressor {
            // A data blob keeps only a frame smaller than itself, so that is all the room zstd
            // gets; incompressible data does not fit and is stored plain, which an uncompressed
            // header entry allows in v2 as well. Trees get the room for any frame.
            let body = object + MasterKey.ivSize
            let frameRoom = type == .tree ? destination.count - MasterKey.overhead : plaintext.count - 1
            if let frame = try compressor.compress(plaintext, into: UnsafeMutableRawBufferPointer(start: body, count: frameRoom)) {
                length = crypto.seal(UnsafeRawBufferPointer(start: body, count: frame), into: object)
                uncompressedLength = UInt32(plaintext.count)
            }
        }
        if uncompressedLength == 0 { length = crypto.seal(plaintext, into: object) }
        if verify {
            try check(UnsafeRawBufferPointer(start: object, count: length), plaintext: plaintext, id: id,
                      uncompressedLength: uncompressedLength)
        }
        return (length, uncompressedLength)
    }

    /// Reads the sealed blob back before it leaves the process, so a fault in compression or
    /// encryption can never store a blob that fails to restore. Comparing with the plaintext
    /// is both stricter and cheaper than hashing it again. It is decrypted a window at a time
    /// and streamed through the decoder, so checking a large blob needs no blob-sized buffer.
    private func check(_ sealed: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer, id: ObjectID,
                       uncompressedLength: UInt32) throws {
        let same: Bool
        if uncompressedLength != 0 {
            let verifier = verifier
            same = try verifier.begin()
                && crypto.open(sealed, piecesThrough: window) { verifier.feed($0, plaintext) }
                && verifier.end(plaintext)
        } else {
            var checked = 0
            same = try sealed.count - MasterKey.overhead == plaintext.count
                && crypto.open(sealed, piecesThrough: window) { piece in
                    guard let base = piece.baseAddress, let wanted = plaintext.baseAddress,
                          memcmp(base, wanted + checked, piece.count) == 0 else { return false }
                    checked += piece.count
                    return true
                }
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
