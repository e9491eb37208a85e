import ResticCore
import ResticCrypto
import ResticRepository

/// What the index promises about one pack: the exact file size its entries add up to.
public struct PackExpectation: Sendable, Equatable {
    /// Σ blob lengths + Σ header entry sizes + 32 (header encryption) + 4 (length field).
    public var size: Int64
    public var blobCount: Int
    public var hasData: Bool
    public var hasTree: Bool

    public init(size: Int64, blobCount: Int, hasData: Bool, hasTree: Bool) {
        self.size = size
        self.blobCount = blobCount
        self.hasData = hasData
        self.hasTree = hasTree
    }

    /// The size of a pack holding nothing: its empty encrypted header and the length field.
    public static let emptySize = Int64(PackHeader.cryptoOverhead + 4)
}

/// The index as check loaded it: the master index of every file that loaded, and per pack
/// what its file must look like.
public struct CheckedIndex: Sendable {
    public let indexed: IndexedRepository
    public let packs: [ObjectID: PackExpectation]
    /// Index files that could not be loaded; the rest of the check is meaningless without them.
    public let failedFiles: [ObjectID]

    public var index: MasterIndex { indexed.index }
}

/// Where one pack was listed: the index files, and a digest of the blob list each gave.
/// Stored without arrays in the usual case of a single listing, so a pack costs no allocation.
private struct PackSightings {
    var firstFile: ObjectID
    var firstDigest: ObjectID
    var more: [(file: ObjectID, digest: ObjectID)] = []

    var files: [ObjectID] { [firstFile] + more.map(\.file) }
    var listsDiffer: Bool { more.contains { $0.digest != firstDigest } }
}

extension Checker {
    /// Loads every index file on its own (a damaged one is reported, not fatal to the others)
    /// and reports split, duplicate and mixed packs, as restic's `LoadIndex` does.
    public func loadIndex(report: (CheckFinding) -> Void) async throws -> CheckedIndex {
        let ids = try await repository.list(.index).sorted()
        var master = MasterIndex()
        var sightings: [ObjectID: PackSightings] = [:]
        var failed: [ObjectID] = []
        let repository = self.repository
        try await withThrowingTaskGroup(of: (ObjectID, Result<IndexFile, Error>).self) { group in
            var pending = ids[...]
            func startNext(_ group: inout ThrowingTaskGroup<(ObjectID, Result<IndexFile, Error>), Error>) {
                guard let id = pending.popFirst() else { return }
                group.addTask {
                    do {
                        let bytes = try await repository.loadUnpacked(.index, id)
                        return (id, .success(try IndexFile.decode(bytes)))
                    } catch {
                        return (id, .failure(error))
                    }
                }
            }
            for _ in 0..<concurrency { startNext(&group) }
            while let (id, result) = try await group.next() {
                startNext(&group)
                let file: IndexFile
                switch result {
                case .success(let decoded): file = decoded
                case .failure(let error):
                    failed.append(id)
                    report(CheckFinding(.indexLoad, id, ["\(error)"]))
                    continue
                }
                if repository.version < 2, file.packs.contains(where: { $0.blobs.contains { $0.uncompressedLength != 0 } }) {
                    failed.append(id)
                    report(CheckFinding(.indexLoad, id, ["index uses feature not supported by repository version 1"]))
                    continue
                }
                for pack in file.packs {
                    let digest = Self.digest(of: pack.blobs)
                    if sightings[pack.id] == nil {
                        sightings[pack.id] = PackSightings(firstFile: id, firstDigest: digest)
                    } else {
                        sightings[pack.id]?.more.append((id, digest))
                    }
                }
                master.add(file, from: id)
            }
        }
        master.finalize()
        let expectations = Self.expectations(of: master)

        for (pack, seen) in sightings.sorted(by: { $0.key < $1.key }) where !seen.more.isEmpty {
            let files = seen.files.sorted()
            if seen.listsDiffer {
                report(CheckFinding(.incompletePack, pack, ["has different data in indexes"], related: files))
            } else {
                report(CheckFinding(.duplicatePack, pack, ["contained in several indexes"], related: files))
            }
        }
        for (pack, expected) in expectations.sorted(by: { $0.key < $1.key }) where expected.hasData && expected.hasTree {
            report(CheckFinding(.mixedPack, pack, ["contains a mix of tree and data blobs"]))
        }
        return CheckedIndex(indexed: IndexedRepository(repository: repository, index: master),
                            packs: expectations, failedFiles: failed.sorted())
    }

    /// A digest of one index file's blob list for a pack, independent of the listing order, so
    /// two files that list the same pack can be compared without keeping their lists.
    static func digest(of blobs: [IndexBlob]) -> ObjectID {
        let sorted = blobs.sorted {
            ($0.offset, $0.type == .tree ? 1 : 0, $0.id, $0.length, $0.uncompressedLength)
                < ($1.offset, $1.type == .tree ? 1 : 0, $1.id, $1.length, $1.uncompressedLength)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(sorted.count * 45)
        func put(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) } }
        for blob in sorted {
            bytes.append(blob.type == .tree ? 1 : 0)
            bytes.append(contentsOf: blob.id.bytes)
            put(blob.offset)
            put(blob.length)
            put(blob.uncompressedLength)
        }
        return ObjectID(bytes: SHA256.digest(bytes))
    }

    /// Expected file size per pack from the master index. A blob listed twice at the same place
    /// (a pack in two index files) counts once; copies of a blob are adjacent in ID order.
    static func expectations(of index: MasterIndex) -> [ObjectID: PackExpectation] {
        var result: [ObjectID: PackExpectation] = [:]
        result.reserveCapacity(index.packCount)
        var runID: ObjectID?
        var runType = BlobType.data
        var runPlaces: [(ObjectID, UInt32)] = []
        index.forEach { id, type, location in
            if id != runID || type != runType {
                runID = id
                runType = type
                runPlaces.removeAll(keepingCapacity: true)
            }
            if runPlaces.contains(where: { $0.0 == location.pack && $0.1 == location.offset }) { return }
            runPlaces.append((location.pack, location.offset))
            let entrySize = location.isCompressed ? PackHeader.entrySizeCompressed : PackHeader.entrySizeUncompressed
            var expected = result[location.pack]
                ?? PackExpectation(size: PackExpectation.emptySize, blobCount: 0, hasData: false, hasTree: false)
            expected.size += Int64(location.length) + Int64(entrySize)
            expected.blobCount += 1
            if type == .data { expected.hasData = true } else { expected.hasTree = true }
            result[location.pack] = expected
        }
        return result
    }
}
