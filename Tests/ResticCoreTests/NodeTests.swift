import Testing
@testable import ResticCore

@Suite struct NodeTests {
    func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    let t1 = GoTime(seconds: 1_700_000_000, nanoseconds: 120_000_000, utcOffset: 19800)
    let t2 = GoTime(seconds: -2_208_988_800, nanoseconds: 7, utcOffset: -12600)
    var idA: ObjectID { ObjectID(bytes: (0..<32).map { UInt8($0) }) }
    var idB: ObjectID { ObjectID(bytes: (0..<32).map { UInt8(255 - $0) }) }

    /// The notes' name-quoting examples, as restic writes them inside the JSON.
    @Test(arguments: [
        (Array("we\"ird\\name".utf8), #""name":"we\\\"ird\\\\name""#),
        ([0xFF], #""name":"\\xff""#),
        (Array("a\nb".utf8), #""name":"a\\nb""#),
        (Array("日本-😀-é".utf8), "\"name\":\"日本-😀-é\""),
        (Array("<&>".utf8), #""name":"\u003c\u0026\u003e""#),
        (Array("nb\u{A0}ls\u{2028}".utf8), #""name":"nb\\u00a0ls\\u2028""#),
        ([0x01, 0x07, 0x08, 0x0B, 0x0C, 0x0D, 0x7F, 0x09], #""name":"\\x01\\a\\b\\v\\f\\r\\x7f\\t""#),
        (Array("\u{E0001}".utf8), #""name":"\\U000e0001""#),
        ([0xE2, 0x80, 0x41], #""name":"\\xe2\\x80A""#),
        (Array("a/b".utf8), #""name":"a/b""#),
    ])
    func nameQuoting(name: [UInt8], expected: String) throws {
        let json = Node(name: name, type: "file").encodeJSON()
        #expect(text(json).hasPrefix("{" + expected + ",\"type\":\"file\","))
        #expect(try Node.decodeJSON(json).name == name)
    }

    @Test func modeValuesFromTheNotes() {
        #expect(GoFileMode.fromUnix(0o100644) == 420)
        #expect(GoFileMode.fromUnix(0o040755) == 2_147_484_141)
        #expect(GoFileMode.fromUnix(0o120777) == 134_218_239)
        #expect(GoFileMode.fromUnix(0o010644) == 33_554_852)
        #expect(GoFileMode.fromUnix(0o041777) == 2_148_532_735)
        #expect(GoFileMode.fromUnix(0o104755) == 8_389_101)
        #expect(GoFileMode.fromUnix(0o102750) == 4_194_792)
        #expect(GoFileMode.fromUnix(0o042750) == 2_151_678_440)  // the setgid dir in the fixture tree
        #expect(GoFileMode.fromUnix(0o020644) == 69_206_436)
        #expect(GoFileMode.fromUnix(0o060644) == 67_109_284)
        #expect(GoFileMode.unixPermissions(8_389_101) == 0o4755)
    }

    @Test func minimalNodeEncoding() {
        var n = Node(name: Array("x".utf8), type: "dir")
        n.subtree = idA
        #expect(text(n.encodeJSON()) == #"{"name":"x","type":"dir","mtime":"0001-01-01T00:00:00Z","atime":"0001-01-01T00:00:00Z","ctime":"0001-01-01T00:00:00Z","uid":0,"gid":0,"content":null,"subtree":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}"#)
        n.content = []
        n.subtree = nil
        n.user = ""
        n.error = ""
        #expect(text(n.encodeJSON()).hasSuffix(#""uid":0,"gid":0,"content":[]}"#))
    }

    /// Built in Swift, encoded, compared with Go's json.Marshal of the same values (GoVectors).
    @Test func newerFieldsMatchGo() throws {
        var n = Node(name: Array("bad".utf8) + [0xFF] + Array("link".utf8), type: "symlink")
        n.mode = GoFileMode.symlink | 0o777
        n.mtime = t1; n.atime = t1; n.ctime = t2
        n.uid = 1000; n.gid = 100
        n.user = "jörg"; n.group = "<staff>"
        n.inode = UInt64.max; n.deviceID = 2049; n.links = 1
        n.linkTarget = Array("tar".utf8) + [0xFE] + Array("/get\u{2028}<&>".utf8)
        n.extendedAttributes = [ExtendedAttribute(name: "user.a", value: Array("x".utf8)),
                                ExtendedAttribute(name: "user.nil", value: [], valueIsNull: true),
                                ExtendedAttribute(name: "user.empty", value: [])]
        n.genericAttributes = [("windows.file_attributes", Array(#"{ "a" : "<b>" , "c":[1, 2] }"#.utf8)),
                               ("a.first", Array("\"\u{2028}x\"".utf8))]
        n.error = "read error: <permission denied>"
        #expect(text(n.encodeJSON()) == text(GoVectors.symlinkEverything))

        let back = try Node.decodeJSON(GoVectors.symlinkEverything)
        #expect(back.linkTarget == n.linkTarget)  // linktarget_raw wins over the lossy linktarget
        #expect(!back.linkTargetLossy)
        #expect(back.extendedAttributes == n.extendedAttributes)
        #expect(back.genericAttributes?.map(\.0) == ["a.first", "windows.file_attributes"])
        #expect(back.encodeJSON() == GoVectors.symlinkEverything)
    }

    @Test func moreGoVectors() throws {
        var e = Node(name: Array("empty\u{A0}file\u{2029}".utf8), type: "file")
        e.mode = 0o600; e.mtime = t1; e.atime = t1; e.ctime = t1; e.content = []
        #expect(text(e.encodeJSON()) == text(GoVectors.emptyFileOddName))

        var d = Node(name: Array("dir".utf8), type: "dir")
        d.mode = GoFileMode.dir | GoFileMode.sticky | 0o777
        d.mtime = t2; d.atime = t2; d.ctime = t2; d.subtree = idA
        #expect(text(d.encodeJSON()) == text(GoVectors.stickyDirOldTime))

        #expect(text(Node(name: [], type: "fifo").encodeJSON()) == text(GoVectors.zeroNode))

        var f = Node(name: Array("f".utf8), type: "file")
        f.size = 5; f.content = [idA, idB]; f.mtime = t1; f.atime = t1; f.ctime = t1
        #expect(text(f.encodeJSON()) == text(GoVectors.fileTwoBlobs))

        for v in [GoVectors.emptyFileOddName, GoVectors.stickyDirOldTime, GoVectors.zeroNode, GoVectors.fileTwoBlobs] {
            #expect(try Node.decodeJSON(v).encodeJSON() == v)
        }
        #expect(try Node.decodeJSON(GoVectors.fileTwoBlobs) == f)
    }

    @Test func lossyLinkTargetRoundTrips() throws {
        let json = Array(#"{"name":"l","type":"symlink","mtime":"0001-01-01T00:00:00Z","atime":"0001-01-01T00:00:00Z","ctime":"0001-01-01T00:00:00Z","uid":0,"gid":0,"linktarget":"a\ufffdb\ufffd","content":null}"#.utf8)
        let n = try Node.decodeJSON(json)
        #expect(n.linkTargetLossy)
        #expect(n.encodeJSON() == json)
        // A raw U+FFFD (valid UTF-8 in the original target) stays raw.
        let rawJSON = Array("{\"name\":\"l\",\"type\":\"symlink\",\"mtime\":\"0001-01-01T00:00:00Z\",\"atime\":\"0001-01-01T00:00:00Z\",\"ctime\":\"0001-01-01T00:00:00Z\",\"uid\":0,\"gid\":0,\"linktarget\":\"a\u{FFFD}b\",\"content\":null}".utf8)
        let m = try Node.decodeJSON(rawJSON)
        #expect(!m.linkTargetLossy)
        #expect(m.encodeJSON() == rawJSON)
    }

    @Test func genericAttributesEquality() {
        var a = Node(name: [0x61], type: "file")
        var b = a
        a.genericAttributes = [("k", Array("1".utf8))]
        #expect(a != b)
        b.genericAttributes = [("k", Array("1".utf8))]
        #expect(a == b)
        b.genericAttributes = [("k", Array("2".utf8))]
        #expect(a != b)
    }

    @Test func nameUnquoteErrors() throws {
        for bad in [#"{"name":"a\"b","type":"file"}"#, #"{"name":"a\\qb","type":"file"}"#,
                    #"{"name":"\\ud800","type":"file"}"#, #"{"name":"x\\","type":"file"}"#, #"{"name":"\n","type":"file"}"#] {
            #expect(throws: FormatError.self) { try Node.decodeJSON(Array(bad.utf8)) }
        }
        #expect(try Node.decodeJSON(Array(#"{"name":"\\101\\x41\\u0041\\U00000041"}"#.utf8)).name == Array("AAAA".utf8))
    }
    /// Type, user, group and error are read straight from the input when they are plain ASCII;
    /// escapes, other UTF-8, invalid bytes and null must come out as the general path reads them.
    @Test("text fields: plain, escaped, non-ASCII, invalid and null", arguments: [
        (#""root""#, "root" as String?), (#""r\u006f\u006ft""#, "root"), (#""a\"b\\c""#, #"a"b\c"#),
        (#""é-日本""#, "é-日本"), (#""bad\ufffd""#, "bad\u{FFFD}"), (#""""#, ""), ("null", nil),
        (#" "spaced" "#, "spaced"),
    ])
    func textFields(json: String, expected: String?) throws {
        let node = try Node.decodeJSON(Array(#"{"name":"n","type":"#.utf8) + Array(json.utf8)
                                       + Array(#","user":"#.utf8) + Array(json.utf8)
                                       + Array(#","group":"#.utf8) + Array(json.utf8)
                                       + Array(#","error":"#.utf8) + Array(json.utf8) + Array("}".utf8))
        #expect(node.type == (expected ?? ""))
        #expect(node.user == expected)
        #expect(node.group == expected)
        #expect(node.error == expected)
    }

    @Test func unterminatedTextIsAnError() {
        #expect(throws: FormatError.self) { try Node.decodeJSON(Array(#"{"name":"n","user":"root"#.utf8)) }
    }
}
