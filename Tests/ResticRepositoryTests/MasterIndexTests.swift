import Testing
import ResticCore
import ResticRepository

/// splitmix64: deterministic IDs that are as uniform as digests.
private struct Source {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func id() -> ObjectID { ObjectID(w0: next(), w1: next(), w2: next(), w3: next()) }
}

private struct Key: Hashable {
    var id: ObjectID
    var type: BlobType
}

/// Index files and, as a reference, every location of every blob in the order the new index
/// promises (pack number, then offset).
private struct Fixture {
    var files: [(ObjectID, IndexFile)] = []
    var expected: [Key: [BlobLocation]] = [:]
    var packOrder: [ObjectID] = []
    var packIndexFile: [ObjectID: ObjectID] = [:]

    mutating func add(_ file: IndexFile, id: ObjectID) {
        files.append((id, file))
        for pack in file.packs {
            if packIndexFile[pack.id] == nil {
                packIndexFile[pack.id] = id
                packOrder.append(pack.id)
            }
            for blob in pack.blobs {
                expected[Key(id: blob.id, type: blob.type), default: []].append(
                    BlobLocation(pack: pack.id, offset: blob.offset, length: blob.length,
                                 uncompressedLength: blob.uncompressedLength))
            }
        }
    }

    func sortedExpectation(_ key: Key) -> [BlobLocation] {
        let number = Dictionary(uniqueKeysWithValues: packOrder.enumerated().map { ($1, $0) })
        return (expected[key] ?? []).sorted { (number[$0.pack] ?? 0, $0.offset) < (number[$1.pack] ?? 0, $1.offset) }
    }

    func index() -> MasterIndex {
        var index = MasterIndex()
        for (id, file) in files { index.add(file, from: id) }
        index.finalize()
        return index
    }
}

/// `packs` packs of `perPack` blobs with IDs from `ids`; one blob in 8 is a tree.
private func indexFile(packs: Int, perPack: Int, ids: (inout Source) -> ObjectID, source: inout Source) -> IndexFile {
    var result: [IndexPack] = []
    for _ in 0..<packs {
        var blobs: [IndexBlob] = []
        for j in 0..<perPack {
            let type: BlobType = j % 8 == 3 ? .tree : .data
            let uncompressed: UInt32 = j % 2 == 0 ? UInt32(500 + j) : 0
            blobs.append(IndexBlob(id: ids(&source), type: type, offset: UInt32(j * 1000),
                                   length: UInt32(100 + j), uncompressedLength: uncompressed))
        }
        result.append(IndexPack(id: source.id(), blobs: blobs))
    }
    return IndexFile(packs: result)
}

private func expectMatches(_ index: MasterIndex, _ fixture: Fixture) {
    var visited: [Key: [BlobLocation]] = [:]
    var previous: (BlobType, ObjectID)?
    var outOfOrder = 0
    index.forEach { id, type, location in
        visited[Key(id: id, type: type), default: []].append(location)
        if let (lastType, lastID) = previous, lastType == type, id < lastID { outOfOrder += 1 }
        previous = (type, id)
    }
    #expect(outOfOrder == 0)
    #expect(visited.count == fixture.expected.count)
    var wrong = 0
    for key in fixture.expected.keys {
        let want = fixture.sortedExpectation(key)
        if index.locations(of: key.id, key.type) != want || index.location(of: key.id, key.type) != want.first
            || !index.contains(key.id, key.type) || visited[key] != want {
            wrong += 1
        }
    }
    #expect(wrong == 0)
    #expect(index.blobCount == fixture.expected.values.reduce(0) { $0 + $1.count })
    #expect(index.blobCount(.tree) == fixture.expected.filter { $0.key.type == .tree }.values.reduce(0) { $0 + $1.count })
    #expect(index.allPacks == fixture.packOrder)
    #expect(index.packIndexFile == fixture.packOrder.map { fixture.packIndexFile[$0] ?? .zero })
}

@Suite struct MasterIndexTests {
    @Test func emptyIndexFindsNothing() {
        var index = MasterIndex()
        index.finalize()
        #expect(!index.contains(ObjectID(w0: 1, w1: 2, w2: 3, w3: 4), .data))
        #expect(index.locations(of: .zero, .tree).isEmpty)
        #expect(index.blobCount == 0 && index.packCount == 0)
    }

    @Test func digestLikeIDsAcrossIndexFilesMatchTheReference() {
        var source = Source(state: 7)
        var fixture = Fixture()
        for _ in 0..<5 {
            let file = indexFile(packs: 40, perPack: 100, ids: { $0.id() }, source: &source)
            fixture.add(file, id: source.id())
        }
        let index = fixture.index()
        expectMatches(index, fixture)
        var strangers = Source(state: 99)
        #expect((0..<2000).allSatisfy { _ in
            let id = strangers.id()
            return !index.contains(id, .data) && !index.contains(id, .tree)
        })
        // Right type only.
        let firstTree = fixture.expected.keys.first { $0.type == .tree }
        #expect(firstTree.map { !index.contains($0.id, .data) } == true)
    }

    /// IDs sharing their first 8 bytes all fall in one bucket; the search must still be exact.
    @Test func idsThatAreNotUniformAreFound() {
        var source = Source(state: 3)
        var fixture = Fixture()
        var n: UInt64 = 0
        let clustered = indexFile(packs: 10, perPack: 300, ids: { _ in
            n += 1
            return ObjectID(w0: 0, w1: 0, w2: n % 7, w3: n)
        }, source: &source)
        fixture.add(clustered, id: source.id())
        let spread = indexFile(packs: 5, perPack: 200, ids: { $0.id() }, source: &source)
        fixture.add(spread, id: source.id())
        let index = fixture.index()
        expectMatches(index, fixture)
        #expect(!index.contains(ObjectID(w0: 0, w1: 0, w2: 0, w3: 0), .data))
        #expect(!index.contains(ObjectID(w0: 0, w1: 0, w2: 1, w3: 3001), .data))
    }

    @Test func duplicateCopiesAreListedByPackNumberAndPacksKeepTheirFirstIndexFile() {
        var source = Source(state: 11)
        let shared = source.id(), packA = source.id(), packB = source.id(), other = source.id()
        let fileA = IndexFile(packs: [
            IndexPack(id: packA, blobs: [IndexBlob(id: shared, type: .data, offset: 0, length: 90)]),
            IndexPack(id: packB, blobs: [IndexBlob(id: other, type: .data, offset: 0, length: 80)]),
        ])
        // Lists packB again (already numbered) with a second copy of `shared`, then packA again.
        let fileB = IndexFile(packs: [
            IndexPack(id: packB, blobs: [IndexBlob(id: shared, type: .data, offset: 80, length: 90)]),
            IndexPack(id: packA, blobs: [IndexBlob(id: shared, type: .data, offset: 0, length: 90)]),
        ])
        let idA = source.id(), idB = source.id()
        var index = MasterIndex()
        index.add(fileB, from: idB)
        index.add(fileA, from: idA)
        index.finalize()
        #expect(index.allPacks == [packB, packA])
        #expect(index.packIndexFile == [idB, idB])
        #expect(index.locations(of: shared, .data).map(\.pack) == [packB, packA, packA])
        #expect(index.location(of: shared, .data)?.offset == 80)
        #expect(index.blobCount == 4)
    }

    @Test func addingAfterFinalizeKeepsEverything() {
        var source = Source(state: 5)
        var fixture = Fixture()
        fixture.add(indexFile(packs: 30, perPack: 50, ids: { $0.id() }, source: &source), id: source.id())
        var index = fixture.index()
        expectMatches(index, fixture)
        // A second file lists new packs and one known pack again.
        var more = indexFile(packs: 20, perPack: 50, ids: { $0.id() }, source: &source)
        let known = fixture.files[0].1.packs[3]
        more.packs.append(IndexPack(id: known.id, blobs: [known.blobs[0]]))
        let moreID = source.id()
        fixture.add(more, id: moreID)
        index.add(more, from: moreID)
        index.finalize()
        expectMatches(index, fixture)
        #expect(index.locations(of: known.blobs[0].id, known.blobs[0].type).count == 2)
    }
}
