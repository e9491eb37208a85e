import Testing
@testable import ResticCore

@Suite struct TreeTests {
    func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    @Test func testSHA256KnownAnswers() {
        #expect(TestSHA256.id([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(TestSHA256.id(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func emptyTreeBytesAndID() throws {
        #expect(Tree(nodes: []).encode() == Array("{\"nodes\":[]}\n".utf8))
        #expect(Tree.emptyTreeBytes == Tree(nodes: []).encode())
        #expect(TestSHA256.id(Tree(nodes: []).encode()).hex == "ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8")
        #expect(try Tree.decode(TreeFixtures.tree_ac08ce34).nodes.isEmpty)
    }

    /// Every tree restic 0.14 wrote decodes and re-encodes to the same bytes, hence the same ID.
    @Test(arguments: TreeFixtures.all.map(\.name))
    func realTreesRoundTripByteExact(name: String) throws {
        let bytes = try #require(TreeFixtures.all.first { $0.name == name }?.bytes)
        let tree = try Tree.decode(bytes)
        let again = tree.encode()
        #expect(text(again) == text(bytes))
        #expect(again == bytes)
        #expect(TestSHA256.id(again).hex.hasPrefix(String(name.dropFirst(5))))
        #expect(tree.isSorted)
        #expect(try Tree.decode(again) == tree)
    }

    /// Subtree IDs in parents equal the SHA-256 of our re-encoding of the child tree.
    @Test func subtreeIDsMatchReencodedChildren() throws {
        let byID = Dictionary(uniqueKeysWithValues: try TreeFixtures.all.map { (TestSHA256.id(try Tree.decode($0.bytes).encode()), $0.bytes) })
        var checked = 0
        for (_, bytes) in TreeFixtures.all {
            for node in try Tree.decode(bytes).nodes where node.type == "dir" {
                let sub = try #require(node.subtree)
                #expect(byID[sub] != nil, "subtree \(sub.shortHex) of \(node.nameString) not found")
                checked += 1
            }
        }
        #expect(checked >= 15)
    }

    @Test func oddNamesDecodeToRawBytes() throws {
        let tree = try Tree.decode(TreeFixtures.tree_63352712)
        let names = tree.nodes.map(\.name)
        #expect(names.contains(Array("we\"ird\\name".utf8)))
        #expect(names.contains([0x62, 0x61, 0x64, 0xFF, 0x6E, 0x61, 0x6D, 0x65]))  // "bad\xffname"
        #expect(names.contains(Array("new\nline".utf8)))
        #expect(names.contains(Array("héllo-日本-😀".utf8)))
        #expect(names.contains(Array("nb\u{A0}sp".utf8)))
        #expect(names.contains(Array("ls\u{2028}sep".utf8)))
        #expect(names.contains(Array("<tag>&amp".utf8)))
        #expect(names.contains([0x63, 0x74, 0x6C, 0x01, 0x7F, 0x08, 0x09]))
        #expect(tree.node(named: [0x62, 0x61, 0x64, 0xFF, 0x6E, 0x61, 0x6D, 0x65])?.size == 1)
        #expect(tree.node(named: "bad") == nil)
    }

    @Test func realNodeFields() throws {
        let tree = try Tree.decode(TreeFixtures.tree_63352712)
        let empty = try #require(tree.node(named: "empty"))
        #expect(empty.content == [])
        #expect(empty.mode == 420)
        let fifo = try #require(tree.node(named: "fifo1"))
        #expect(fifo.content == nil && fifo.mode == 33_554_852 && fifo.links == 0)
        let cdev = try #require(tree.node(named: "cdev"))
        #expect(cdev.device == 259 && cdev.mode == 69_206_436)
        #expect(tree.node(named: "bdev")?.device == 1792)
        let sticky = try #require(tree.node(named: "sticky"))
        #expect(sticky.mode == 2_148_532_735 && sticky.subtree?.hex == "ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8")
        #expect(tree.node(named: "suid")?.mode == 8_389_101)
        let plain = try #require(tree.node(named: "plain.txt"))
        let hard = try #require(tree.node(named: "hardlink.txt"))
        #expect(plain.links == 2 && plain.inode == hard.inode && plain.content == hard.content)
        #expect(plain.extendedAttributes == [
            ExtendedAttribute(name: "user.test", value: Array("hello".utf8)),
            ExtendedAttribute(name: "user.empty", value: []),
            ExtendedAttribute(name: "user.bin", value: [0, 255, 60]),
        ])
        #expect(plain.mtime.rfc3339 == "2016-09-18T15:52:23.99108516-02:30")
        #expect(tree.node(named: "link-ok")?.linkTarget == Array("plain.txt".utf8))
        #expect(tree.node(named: "link-html")?.linkTarget == Array("../<x>&\"q\"".utf8))
        let bad = try #require(tree.node(named: "link-bad"))
        #expect(bad.linkTarget == Array("tar\u{FFFD}get".utf8))
        #expect(bad.linkTargetLossy)
    }

    @Test func offsetWithSecondsFromLocalMeanTime() throws {
        // Asia/Kolkata in 1901 was UTC+5:21:10; Go prints "+05:21" and the wall clock with the full offset.
        let node = try #require(try Tree.decode(TreeFixtures.tree_b8a20273).nodes.first)
        #expect(node.mtime.rfc3339 == "1901-12-14T02:07:02+05:21")
        let real = GoTime(seconds: -2_147_483_648, nanoseconds: 0, utcOffset: 19270)
        #expect(real.rfc3339 == "1901-12-14T02:07:02+05:21")
    }

    @Test func sortingAndChecks() throws {
        var nodes = [Node(name: Array("b".utf8), type: "file"), Node(name: [0xFF], type: "file"),
                     Node(name: Array("B".utf8), type: "file"), Node(name: Array("a".utf8), type: "dir")]
        #expect(!Tree(nodes: nodes).isSorted)
        #expect(throws: FormatError.self) { try Tree(nodes: nodes).encodeChecked() }
        Tree.sortNodes(&nodes)
        #expect(nodes.map(\.name) == [Array("B".utf8), Array("a".utf8), Array("b".utf8), [0xFF]])
        let tree = Tree(nodes: nodes)
        #expect(tree.isSorted)
        #expect(try tree.encodeChecked() == tree.encode())
        #expect(tree.node(named: [0xFF])?.type == "file")
        #expect(tree.node(named: "a")?.type == "dir")
        #expect(tree.node(named: "c") == nil)
        #expect(!Tree(nodes: [nodes[0], nodes[0]]).isSorted)
        #expect(!Tree(nodes: [Node(name: [], type: "file")]).isSorted)
    }

    @Test func readerSkipsUnknownKeysAndAcceptsNullNodes() throws {
        let json = Array(#"{"x":[1,{"y":null}],"nodes":null,"z":"s"}"#.utf8)
        #expect(try Tree.decode(json).nodes.isEmpty)
        let one = Array(#" { "nodes" : [ {"name":"a","type":"file","future":{"k":[true,false]},"content":[]} ] } "#.utf8)
        let t = try Tree.decode(one)
        #expect(t.nodes.count == 1 && t.nodes[0].content == [] && t.nodes[0].mtime == .goZero)
    }
}
