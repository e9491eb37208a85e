import Testing
import ResticCore
import ResticCrypto
import ResticRepository
@testable import ResticMaintenance

private func blobID(_ label: String) -> ObjectID { ObjectID(bytes: SHA256.digest(Array(label.utf8))) }

private func node(_ name: String, _ type: String, content: [ObjectID]? = nil, subtree: ObjectID? = nil) -> Node {
    var node = Node(name: Array(name.utf8), type: type)
    node.content = content
    node.subtree = subtree
    return node
}

private func masterIndex(_ files: [(ObjectID, IndexFile)]) -> MasterIndex {
    var index = MasterIndex()
    for (id, file) in files { index.add(file, from: id) }
    index.finalize()
    return index
}

@Suite struct CheckNodeRulesTests {
    let known = blobID("known data")
    let treeOnly = blobID("a tree")
    let index: MasterIndex

    init() {
        let pack = IndexPack(id: blobID("pack"), blobs: [
            IndexBlob(id: blobID("known data"), type: .data, offset: 0, length: 100),
            IndexBlob(id: blobID("a tree"), type: .tree, offset: 100, length: 50),
        ])
        index = masterIndex([(blobID("index"), IndexFile(packs: [pack]))])
    }

    @Test func wellFormedTreeHasNoProblemsAndYieldsItsSubtrees() {
        let sub1 = blobID("sub1"), sub2 = blobID("sub2")
        let tree = Tree(nodes: [
            node("a", "dir", subtree: sub1), node("b", "file", content: [known, known]), node("c", "file", content: []),
            node("d", "symlink"), node("e", "dev"), node("f", "chardev"), node("g", "fifo"), node("h", "socket"),
            node("i", "dir", subtree: sub2),
        ])
        let (errors, subtrees) = Checker.problems(in: tree, id: blobID("t"), index: index)
        #expect(errors == [])
        #expect(subtrees == [sub1, sub2])
    }

    @Test func eachBrokenNodeIsNamed() {
        let treeID = blobID("t")
        let missing = blobID("missing")
        let tree = Tree(nodes: [
            node("nil-content", "file"),
            node("null-blob", "file", content: [known, .zero]),
            node("missing", "file", content: [known, missing]),
            node("tree-as-data", "file", content: [treeOnly]),
            node("no-subtree", "dir"),
            node("null-subtree", "dir", subtree: .zero),
            node("odd", "irregular"),
            node("", "symlink"),
            node("we\"ird", "file"),
        ])
        let (errors, subtrees) = Checker.problems(in: tree, id: treeID, index: index)
        let p = "tree \(treeID.hex): "
        #expect(errors == [
            p + "file \"nil-content\" has nil blob list",
            p + "file \"null-blob\" blob 1 has null ID",
            p + "file \"missing\" blob \(missing.hex) not found in index",
            p + "file \"tree-as-data\" blob \(treeOnly.hex) not found in index",
            p + "dir node \"no-subtree\" has no subtree",
            p + "dir node \"null-subtree\" subtree id is null",
            p + "node \"odd\" with invalid type \"irregular\"",
            p + "node with empty name",
            p + "file \"we\\\"ird\" has nil blob list",
        ])
        #expect(subtrees == [])
    }
}

@Suite struct CheckIndexRulesTests {
    @Test func expectedPackSizeCountsEveryEntryOnce() {
        let a = blobID("pack a"), b = blobID("pack b")
        let packA = IndexPack(id: a, blobs: [
            IndexBlob(id: blobID("x"), type: .data, offset: 0, length: 1000),
            IndexBlob(id: blobID("y"), type: .data, offset: 1000, length: 47, uncompressedLength: 6),
        ])
        let packB = IndexPack(id: b, blobs: [
            IndexBlob(id: blobID("z"), type: .tree, offset: 0, length: 200),
            IndexBlob(id: blobID("w"), type: .data, offset: 200, length: 40),
        ])
        // Pack b listed by two index files: its blobs must not count twice.
        let index = masterIndex([(blobID("i1"), IndexFile(packs: [packA, packB])),
                                 (blobID("i2"), IndexFile(packs: [packB]))])
        let expected = Checker.expectations(of: index)
        #expect(expected[a] == PackExpectation(size: 1000 + 47 + 37 + 41 + 32 + 4, blobCount: 2, hasData: true, hasTree: false))
        #expect(expected[b] == PackExpectation(size: 200 + 40 + 37 + 37 + 32 + 4, blobCount: 2, hasData: true, hasTree: true))
        #expect(expected.count == 2)
    }

    @Test func blobListDigestIgnoresOrderButNotContent() {
        let x = IndexBlob(id: blobID("x"), type: .data, offset: 0, length: 100)
        let y = IndexBlob(id: blobID("y"), type: .tree, offset: 100, length: 60, uncompressedLength: 90)
        #expect(Checker.digest(of: [x, y]) == Checker.digest(of: [y, x]))
        var moved = y
        moved.offset = 101
        #expect(Checker.digest(of: [x, y]) != Checker.digest(of: [x, moved]))
        var retyped = x
        retyped.type = .tree
        #expect(Checker.digest(of: [x, y]) != Checker.digest(of: [retyped, y]))
        #expect(Checker.digest(of: [x, y]) != Checker.digest(of: [x]))
    }
}

@Suite struct CheckFindingTests {
    let pack = blobID("pack")

    @Test func messagesNameTheirSubject() {
        #expect(CheckFinding(.packMissing, pack, ["does not exist"]).description == "pack \(pack.hex): does not exist")
        #expect(CheckFinding(.packSize, pack, ["unexpected file size: got 5, expected 7"]).description
                == "pack \(pack.hex): unexpected file size: got 5, expected 7")
        #expect(CheckFinding(.packUnreferenced, pack, ["not referenced in any index"]).severity == .note)
        #expect(CheckFinding(.mixedPack, pack, []).description == "pack \(pack.shortHex) contains a mix of tree and data blobs")
        let data = CheckFinding(.packData, pack, ["blob \(blobID("b").hex): bad", "unexpected pack id 00"])
        #expect(data.description == "pack \(pack.hex): blob \(blobID("b").hex): bad\npack \(pack.hex): unexpected pack id 00")
        #expect(data.errorCount == 2)
        let tree = CheckFinding(.tree, pack, ["tree \(pack.hex): file \"a\" has nil blob list"])
        #expect(tree.description == "error for tree \(pack.shortHex):\n  tree \(pack.hex): file \"a\" has nil blob list")
        let duplicate = CheckFinding(.duplicatePack, pack, [], related: [blobID("i2"), blobID("i1")])
        #expect(duplicate.description == "pack \(pack.hex) contained in several indexes: {\(blobID("i2").shortHex) \(blobID("i1").shortHex)}")
        #expect(duplicate.severity == .hint && duplicate.errorCount == 0)
    }

    @Test func summaryCountsErrorsAndBrokenPacks() {
        var summary = CheckSummary()
        summary.record(CheckFinding(.packUnreferenced, blobID("orphan"), ["not referenced in any index"]))
        summary.record(CheckFinding(.mixedPack, blobID("mixed"), []))
        #expect(!summary.hasErrors && summary.suggestPrune && summary.unreferencedPacks == 1 && summary.hintCount == 1)
        summary.record(CheckFinding(.packSize, pack, ["x"]))
        summary.record(CheckFinding(.packData, pack, ["a", "b"]))
        summary.record(CheckFinding(.tree, blobID("tree"), ["1", "2", "3"]))
        #expect(summary.errorCount == 6)
        #expect(summary.brokenPacks == [pack])
    }
}
