import Foundation
import Testing
@testable import ResticCore

/// Fuzzes the two large JSON formats, index files and tree blobs, plus single nodes, and
/// checks the resource limits of the JSON reader on deep nesting and many keys.
@Suite("fuzz: index and tree JSON")
struct FuzzIndexTreeTests {
    static let nodeWords = [
        "nodes", "name", "type", "mode", "mtime", "atime", "ctime", "uid", "gid", "user", "group", "inode",
        "device_id", "size", "links", "linktarget", "linktarget_raw", "extended_attributes", "generic_attributes",
        "device", "content", "subtree", "error", "value", "file", "dir", "symlink", "dev", "chardev", "fifo",
    ]

    @Test func indexFile() {
        let seeds = FuzzCorpus.seeds("index") + [RepoFixtures.index_53915bb7, RepoFixtures.index_f84cf09e]
        Fuzzer.check(.json("index", seeds: seeds, executions: 30_000,
                           dictionary: ["packs", "blobs", "id", "type", "offset", "length", "uncompressed_length",
                                        "supersedes", "data", "tree"],
                           decode: IndexFile.decode, encode: { $0.encode() }),
                     seed: 0x696E_6478)
    }

    @Test func tree() {
        let seeds = FuzzCorpus.seeds("tree") + [TreeFixtures.tree_63352712, TreeFixtures.tree_ac08ce34]
        Fuzzer.check(.json("tree", seeds: seeds, executions: 36_000, dictionary: Self.nodeWords,
                           decode: Tree.decode, encode: { $0.encode() }),
                     seed: 0x7472_6565)
    }

    @Test func node() {
        let seeds = [GoVectors.symlinkEverything, GoVectors.emptyFileOddName, GoVectors.stickyDirOldTime,
                     GoVectors.zeroNode, GoVectors.fileTwoBlobs]
        Fuzzer.check(.json("node", seeds: seeds, executions: 12_000, dictionary: Self.nodeWords,
                           decode: Node.decodeJSON, encode: { $0.encodeJSON() }),
                     seed: 0x6E6F_6465)
    }

    /// 100k open brackets, in every decoder and in every place a value may stand, are refused
    /// with a FormatError (the reader is iterative and caps nesting at 10000), never a stack
    /// overflow.
    @Test func deepNestingIsRefused() {
        let decoders: [(String, ([UInt8]) throws -> Void)] = [
            ("tree", { _ = try Tree.decode($0) }), ("index", { _ = try IndexFile.decode($0) }),
            ("snapshot", { _ = try Snapshot.decode($0) }), ("config", { _ = try RepositoryConfig.decode($0) }),
            ("keyfile", { _ = try KeyFile.decode($0) }), ("lock", { _ = try LockFile.decode($0) }),
            ("masterkey", { _ = try MasterKeyJSON.decode($0) }), ("node", { _ = try Node.decodeJSON($0) }),
        ]
        let brackets = String(repeating: "[", count: 100_000)
        let objects = String(repeating: "{\"a\":", count: 100_000)
        let shapes = [
            brackets, brackets + String(repeating: "]", count: 100_000), objects,
            "{\"x\":" + brackets + String(repeating: "]", count: 100_000) + "}",
            "{\"nodes\":[{\"generic_attributes\":{\"k\":" + brackets + "}}]}",
            "{\"packs\":[{\"blobs\":[{\"x\":" + objects + "}]}]}",
            "{\"summary\":{\"x\":" + brackets + "}}",
        ]
        for shape in shapes {
            let bytes = Array(shape.utf8)
            for (name, decode) in decoders {
                #expect(throws: FormatError.self, "\(name) accepted \(shape.prefix(40))…") { try decode(bytes) }
            }
        }
        // Up to the cap, nesting in skipped values is accepted.
        let ok = Array(("{\"nodes\":[],\"x\":" + String(repeating: "[", count: 9_999) + String(repeating: "]", count: 9_999) + "}").utf8)
        #expect(throws: Never.self) { try Tree.decode(ok) }
    }

    /// A node with many generic attribute keys decodes in linear time (the lookup of repeated
    /// keys used to be a linear search per key: 2^17 keys meant 8.6e9 string comparisons).
    @Test func manyGenericAttributeKeysDecode() throws {
        let count = 1 << 17
        var json = "{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"generic_attributes\":{"
        json += (0..<count).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        json += ",\"k7\":\"last\"}}]}"
        let tree = try Tree.decode(Array(json.utf8))
        let attributes = try #require(tree.nodes.first?.genericAttributes)
        #expect(attributes.count == count)
        #expect(attributes[7].1 == Array("\"last\"".utf8))
    }
}
