import Testing
@testable import ResticCore

@Suite struct GoJSONWriterTests {
    func str(_ w: GoJSONWriter) -> String { String(decoding: w.bytes, as: UTF8.self) }

    func encoded(_ bytes: [UInt8]) -> String {
        var w = GoJSONWriter()
        w.string(bytes: bytes)
        return str(w)
    }

    @Test func stringEscapingLikeGo122() {
        #expect(encoded(Array("a\"b\\c/d".utf8)) == #""a\"b\\c/d""#)
        #expect(encoded(Array("<>&".utf8)) == #""\u003c\u003e\u0026""#)
        #expect(encoded([0x08, 0x0C, 0x0A, 0x0D, 0x09]) == #""\b\f\n\r\t""#)
        #expect(encoded([0x00, 0x01, 0x1F, 0x0B, 0x7F]) == "\"\\u0000\\u0001\\u001f\\u000b\u{7F}\"")
        #expect(encoded(Array("\u{2028}\u{2029}".utf8)) == #""\u2028\u2029""#)
        #expect(encoded(Array("é日😀\u{A0}\u{FFFD}".utf8)) == "\"é日😀\u{A0}\u{FFFD}\"")
        // Invalid UTF-8: one \ufffd per bad byte (Go), not per maximal subpart (Swift).
        #expect(encoded([0x61, 0xFF, 0xE2, 0x80, 0x62]) == #""a\ufffd\ufffd\ufffdb""#)
        #expect(encoded([0xED, 0xA0, 0x80]) == #""\ufffd\ufffd\ufffd""#)
        #expect(encoded([0xC0, 0xAF]) == #""\ufffd\ufffd""#)
        #expect(encoded([0xF4, 0x90, 0x80, 0x80]) == #""\ufffd\ufffd\ufffd\ufffd""#)
    }

    @Test func structureAndAutomaticCommas() {
        var w = GoJSONWriter()
        w.beginObject()
        w.key("a"); w.number(-5)
        w.key("b"); w.beginArray(); w.number(UInt64.max); w.comma(); w.bool(true); w.null(); w.endArray()
        w.key("<k>"); w.raw(Array("{\"x\":1}".utf8))
        w.key("e"); w.beginObject(); w.endObject()
        w.key("f"); w.base64([1, 2, 3, 4]); w.key("g"); w.base64(nil)
        w.key("h"); w.number(Int64.min)
        w.endObject()
        #expect(str(w) == #"{"a":-5,"b":[18446744073709551615,true,null],"\u003ck\u003e":{"x":1},"e":{},"f":"AQIDBA==","g":null,"h":-9223372036854775808}"#)
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "-0"), (1.0, "1"), (0.1, "0.1"), (1.5, "1.5"), (100.0, "100"), (1e20, "100000000000000000000"),
        (1e21, "1e+21"), (1.5e21, "1.5e+21"), (1e-6, "0.000001"), (9.99e-7, "9.99e-7"), (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"), (123456.789, "123456.789"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.000001234, "0.000001234"), (3.0e15, "3000000000000000"), (2.5e-5, "0.000025"), (-42.125, "-42.125"),
    ])
    func floatsLikeGo(value: Double, expected: String) {
        var w = GoJSONWriter()
        w.number(value)
        #expect(str(w) == expected)
    }

    @Test func nonFiniteFloatsBecomeNull() {
        var w = GoJSONWriter()
        w.beginArray(); w.number(Double.nan); w.number(Double.infinity); w.endArray()
        #expect(str(w) == "[null,null]")
    }

    @Test func base64LikeGo() {
        #expect(Base64.encodeString([]) == "")
        #expect(Base64.encodeString([0]) == "AA==")
        #expect(Base64.encodeString([0, 255]) == "AP8=")
        #expect(Base64.encodeString([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(Base64.decode("AP8=") == [0, 255])
        #expect(Base64.decode("AP\n8=\r\n") == [0, 255])  // Go ignores CR and LF
        #expect(Base64.decode("AP8") == nil)  // padding required
        #expect(Base64.decode("A===") == nil)
        #expect(Base64.decode("AP8=AA==") == nil)
        #expect(Base64.decode("A-8=") == nil)  // URL alphabet is not accepted
        #expect(Base64.decode("") == [])
    }

    @Test func quoteAndUnquote() throws {
        let cases: [([UInt8], String)] = [
            (Array("plain".utf8), "plain"),
            (Array("we\"ird\\name".utf8), #"we\"ird\\name"#),
            ([0xFF, 0x00, 0x7F], #"\xff\x00\x7f"#),
            (Array("\u{0378}\u{E000}\u{1F600}\u{10FFFD}".utf8), "\\u0378\\ue000\u{1F600}\\U0010fffd"),
            (Array("\u{AD}\u{200B}\u{FEFF}".utf8), #"\u00ad\u200b\ufeff"#),
            (Array(" ~¡ÿ".utf8), " ~¡ÿ"),
        ]
        for (raw, quoted) in cases {
            #expect(String(decoding: GoStrconv.quoteContents(raw), as: UTF8.self) == quoted)
            #expect(try GoStrconv.unquoteContents(Array(quoted.utf8)) == raw)
        }
        #expect(throws: FormatError.self) { try GoStrconv.unquoteContents(Array(#"\'"#.utf8)) }  // only valid in '…'
        #expect(throws: FormatError.self) { try GoStrconv.unquoteContents(Array(#"\400"#.utf8)) }
    }

    @Test func isPrintFollowsUnicode15() {
        #expect(GoStrconv.isPrint(0x1FAE8))   // added in Unicode 15.0: printable for Go >= 1.21
        #expect(!GoStrconv.isPrint(0x1FAE9))  // added in Unicode 16: unassigned to Go
        #expect(!GoStrconv.isPrint(0xA0) && !GoStrconv.isPrint(0xAD) && GoStrconv.isPrint(0xA1))
        #expect(!GoStrconv.isPrint(0x2028) && !GoStrconv.isPrint(0x3000) && GoStrconv.isPrint(0x20))
        #expect(GoStrconv.isPrint(0x0301) && GoStrconv.isPrint(0x20AC))
        #expect(!GoStrconv.isPrint(0xD800) && !GoStrconv.isPrint(0x110000))
    }
}
