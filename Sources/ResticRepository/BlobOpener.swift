import ResticCore
import ResticCrypto
import ResticCompress

/// Decrypts, decompresses and checks blobs with contexts made once: a task that opens
/// thousands of blobs (check --read-data, restore, prune) keeps one opener instead of building
/// cipher, MAC and zstd contexts for every blob. Not Sendable: one per task.
public final class BlobOpener {
    private let crypto: CryptoContext
    private let decompressor: ZstdDecompressor

    public init(key: MasterKey) throws {
        crypto = CryptoContext(key: key)
        decompressor = try ZstdDecompressor()
    }

    /// Decrypts `sealed` (one encrypted blob), decompresses it when the location says so, and
    /// checks the plaintext against its ID.
    public func open(_ sealed: ArraySlice<UInt8>, id: ObjectID, type: BlobType, location: BlobLocation) throws -> [UInt8] {
        var plaintext: [UInt8]
        do {
            plaintext = try sealed.withUnsafeBytes { try crypto.open($0) }
        } catch {
            throw ResticError.corrupt("\(Self.describe(id, type, location)): \(error)")
        }
        if location.isCompressed {
            do {
                plaintext = try decompressor.decompress(plaintext, expectedSize: Int(location.uncompressedLength),
                                                        limit: Repository.maxPlaintextSize)
            } catch {
                throw ResticError.corrupt("\(Self.describe(id, type, location)): \(error)")
            }
        }
        guard ObjectID(bytes: SHA256.digest(plaintext)) == id else {
            throw ResticError.corrupt("\(Self.describe(id, type, location)): content does not match its ID")
        }
        return plaintext
    }

    static func describe(_ id: ObjectID, _ type: BlobType, _ location: BlobLocation) -> String {
        "\(type) blob \(id.hex) in pack \(location.pack.hex)"
    }
}

@available(*, unavailable)
extension BlobOpener: Sendable {}
