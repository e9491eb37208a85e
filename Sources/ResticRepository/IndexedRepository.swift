import ResticCore
import ResticCrypto
import ResticCompress
import CartaeSync

/// A repository whose index is loaded: blobs, trees and packs can be read.
public struct IndexedRepository: Sendable {
    public let repository: Repository
    public let index: MasterIndex
    private let openers: BlobOpenerPool

    public init(repository: Repository, index: MasterIndex) {
        self.repository = repository
        self.index = index
        openers = BlobOpenerPool(key: repository.key)
    }

    public var backend: any Backend { repository.backend }

    /// Loads, decrypts, decompresses and verifies one blob. Each stored copy is tried in turn,
    /// so a damaged copy does not hide an intact duplicate.
    public func loadBlob(_ id: ObjectID, _ type: BlobType) async throws -> [UInt8] {
        let locations = index.locations(of: id, type)
        guard !locations.isEmpty else {
            throw ResticError.notFound("\(type) blob \(id.hex) not found in index")
        }
        var failure: Error?
        for location in locations {
            do {
                let sealed = try await backend.load(FileHandle(.pack, location.pack),
                                                    offset: Int(location.offset), length: Int(location.length))
                return try openers.withOpener { try $0.open(sealed[...], id: id, type: type, location: location) }
            } catch {
                failure = error
            }
        }
        throw failure ?? ResticError.corrupt("\(type) blob \(id.hex) could not be loaded")
    }

    public func loadTree(_ id: ObjectID) async throws -> Tree {
        let bytes = try await loadBlob(id, .tree)
        do {
            return try Tree.decode(bytes)
        } catch {
            throw ResticError.corrupt("tree \(id.hex): \(error)")
        }
    }
}

/// Openers kept between blob loads: making one builds cipher, MAC and zstd contexts, a few
/// percent of an unchanged backup, which loads one tree per directory. A task takes one out
/// for a single blob and puts it back, so openers are never shared.
final class BlobOpenerPool: Sendable {
    private let key: MasterKey
    /// More than the tasks that load blobs at once, so the pool rarely makes a new opener.
    private let spares = SparePool<BlobOpener>(limit: 16)

    init(key: MasterKey) {
        self.key = key
    }

    func withOpener<R>(_ body: (BlobOpener) throws -> R) throws -> R {
        let opener = try spares.take() ?? BlobOpener(key: key)
        defer { spares.give(opener) }
        return try body(opener)
    }
}

/// Turning a stored blob into plaintext and back.
public enum BlobCodec {
    /// Decrypts `sealed` (one encrypted blob), decompresses it when the location says so, and
    /// checks the plaintext against its ID. For many blobs, keep a `BlobOpener` instead.
    public static func open(_ sealed: ArraySlice<UInt8>, id: ObjectID, type: BlobType,
                            location: BlobLocation, key: MasterKey) throws -> [UInt8] {
        try BlobOpener(key: key).open(sealed, id: id, type: type, location: location)
    }
}
