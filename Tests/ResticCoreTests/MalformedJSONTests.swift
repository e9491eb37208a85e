import Testing
@testable import ResticCore

/// Bad input must throw a FormatError, never trap or hang.
@Suite struct MalformedJSONTests {
    static let decoders: [(String, @Sendable ([UInt8]) throws -> Void)] = [
        ("tree", { _ = try Tree.decode($0) }),
        ("snapshot", { _ = try Snapshot.decode($0) }),
        ("index", { _ = try IndexFile.decode($0) }),
        ("config", { _ = try RepositoryConfig.decode($0) }),
        ("key", { _ = try KeyFile.decode($0) }),
        ("masterkey", { _ = try MasterKeyJSON.decode($0) }),
        ("lock", { _ = try LockFile.decode($0) }),
        ("node", { _ = try Node.decodeJSON($0) }),
    ]

    /// Every strict prefix of a valid document is an error (config's and trees' newline aside).
    @Test func everyTruncationThrows() {
        let docs: [([UInt8], ([UInt8]) throws -> Void)] = [
            (TreeFixtures.tree_63352712, { _ = try Tree.decode($0) }),
            (RepoFixtures.snapshot_6a801d22, { _ = try Snapshot.decode($0) }),
            (RepoFixtures.index_31298c01, { _ = try IndexFile.decode($0) }),
            (RepoFixtures.config, { _ = try RepositoryConfig.decode($0) }),
            (RepoFixtures.keyFile, { _ = try KeyFile.decode($0) }),
            (GoVectors.lockWithIDs, { _ = try LockFile.decode($0) }),
            (GoVectors.symlinkEverything, { _ = try Node.decodeJSON($0) }),
        ]
        for (doc, decode) in docs {
            let end = doc.last == 0x0A ? doc.count - 1 : doc.count
            var accepted = 0
            for n in 0..<end {
                do { try decode(Array(doc[0..<n])) } catch is FormatError { continue } catch { Issue.record("foreign error \(error)") }
                accepted += 1
            }
            #expect(accepted == 0)
            #expect(throws: Never.self) { try decode(doc) }
        }
    }

    /// Flipping bytes gives either a clean error or a valid decode, for every decoder.
    @Test func mutationsNeverTrap() {
        var rng = SplitMix(seed: 0x5EED)
        let seeds = [TreeFixtures.tree_63352712, RepoFixtures.snapshot_6a801d22, RepoFixtures.index_53915bb7,
                     RepoFixtures.config, RepoFixtures.keyFile, GoVectors.symlinkEverything, GoVectors.snapshotFull]
        let alphabet = Array("{}[]\",:\\0123456789-.eEtrufalsn \u{1}".utf8) + [0xFF, 0xC3, 0x80]
        var errors = 0
        for seed in seeds {
            for _ in 0..<300 {
                var doc = seed
                for _ in 0...(rng.next() % 3) {
                    let i = Int(rng.next() % UInt64(doc.count))
                    switch rng.next() % 3 {
                    case 0: doc[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                    case 1: doc.remove(at: i)
                    default: doc.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                    }
                }
                for (_, decode) in Self.decoders {
                    do { try decode(doc) } catch is FormatError { errors += 1 } catch { Issue.record("foreign error \(error)") }
                }
            }
        }
        #expect(errors > 1000)
    }

    @Test(arguments: [
        "", " ", "{", "}", "[", "nul", "nulll", "{\"nodes\":[}", "{\"nodes\":[{]}", "{\"nodes\":[1]}", "{\"nodes\":{}}",
        "{\"nodes\":[],}", "{\"nodes\":[] \"x\":1}", "{\"nodes\":[]}x", "{\"nodes\":[]}{}", "{'nodes':[]}", "{nodes:[]}",
        "{\"nodes\":[{\"name\":\"a\",}]}", "{\"nodes\":[{\"name\":1}]}", "{\"nodes\":[{\"uid\":-1}]}", "{\"nodes\":[{\"uid\":4294967296}]}",
        "{\"nodes\":[{\"size\":18446744073709551616}]}", "{\"nodes\":[{\"inode\":1e2}]}", "{\"nodes\":[{\"mode\":01}]}",
        "{\"nodes\":[{\"mtime\":\"2016\"}]}", "{\"nodes\":[{\"mtime\":5}]}", "{\"nodes\":[{\"content\":[null]}]}",
        "{\"nodes\":[{\"content\":\"ab\"}]}", "{\"nodes\":[{\"subtree\":\"xyz\"}]}", "{\"nodes\":[{\"linktarget_raw\":\"***\"}]}",
        "{\"nodes\":[{\"extended_attributes\":{}}]}", "{\"nodes\":[{\"generic_attributes\":[]}]}", "{\"nodes\":[null]}",
        "{\"nodes\":[{\"name\":\"\u{1}\"}]}", "{\"nodes\":[{\"name\":\"\\x\"}]}", "{\"nodes\":[{\"name\":\"\\u12\"}]}",
        "{\"nodes\":[{\"x\":[1,2,]}]}", "{\"nodes\":[{\"x\":-}]}", "{\"nodes\":[{\"x\":1.}]}", "{\"nodes\":[{\"x\":.5}]}",
        "{\"nodes\":[{\"x\":+1}]}", "{\"nodes\":[{\"x\":tru}]}", "{\"nodes\":[{\"x\":\"\\ud800\\u\"}]}", "\u{FEFF}{\"nodes\":[]}",
    ])
    func badTrees(json: String) {
        #expect(throws: FormatError.self) { try Tree.decode(Array(json.utf8)) }
    }

    @Test func deepNestingIsBoundedNotRecursive() {
        let deep = Array(("{\"nodes\":[],\"x\":" + String(repeating: "[", count: 9000) + String(repeating: "]", count: 9000) + "}").utf8)
        #expect(throws: Never.self) { try Tree.decode(deep) }
        let tooDeep = Array(("{\"x\":" + String(repeating: "[", count: 10001) + String(repeating: "]", count: 10001) + "}").utf8)
        #expect(throws: FormatError.self) { try Tree.decode(tooDeep) }
        let unclosed = Array(("{\"x\":" + String(repeating: "[{\"a\":", count: 5000)).utf8)
        #expect(throws: FormatError.self) { try Tree.decode(unclosed) }
    }

    @Test func errorMessagesSayWhereAndWhat() {
        let json = Array("{\"nodes\":[{\"name\":\"a\",\"content\":[]},{\"name\":\"b\",\"uid\":\"x\"}]}".utf8)
        do {
            _ = try Tree.decode(json)
            Issue.record("accepted")
        } catch let e as FormatError {
            guard case .invalidField(let message) = e else { Issue.record("wrong case \(e)"); return }
            #expect(message.contains("tree node 1"))
            #expect(message.contains("uid"))
            #expect(message.contains("byte 54"))
        } catch {
            Issue.record("foreign error")
        }
        do {
            _ = try Tree.decode(Array("{\"nodes\":[".utf8))
        } catch let e as FormatError {
            guard case .malformedJSON(let message) = e else { Issue.record("wrong case \(e)"); return }
            #expect(message.contains("end of input"))
        } catch {
            Issue.record("foreign error")
        }
    }

    @Test func goLenienciesKept() throws {
        // Go ignores unknown keys and null values, decodes \/ and surrogate pairs.
        let n = try Node.decodeJSON(Array(#"{"name":"a\/b\ud83d\ude00","type":null,"uid":null,"user":null,"unknown":{"deep":[null]}}"#.utf8))
        #expect(n.name == Array("a/b😀".utf8) && n.type == "" && n.uid == 0 && n.user == nil)
        // A lone surrogate becomes U+FFFD, invalid UTF-8 one U+FFFD per byte.
        let bytes: [UInt8] = Array(#"{"name":"x","user":"\ud800-"#.utf8) + [0xE2, 0x80] + Array(#""}"#.utf8)
        #expect(try Node.decodeJSON(bytes).user == "\u{FFFD}-\u{FFFD}\u{FFFD}")
    }
}

/// Deterministic generator so mutation failures can be reproduced.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
