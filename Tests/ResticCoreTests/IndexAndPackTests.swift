import Foundation
import Testing
@testable import ResticCore

@Suite struct IndexAndPackTests {
    func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    static let indexes: [[UInt8]] = [RepoFixtures.index_31298c01, RepoFixtures.index_53915bb7,
                                     RepoFixtures.index_deca777b, RepoFixtures.index_f84cf09e]

    @Test(arguments: indexes)
    func realIndexRoundTrip(bytes: [UInt8]) throws {
        let idx = try IndexFile.decode(bytes)
        #expect(text(idx.encode()) == text(bytes))
        #expect(bytes.last == 0x0A)
        #expect(idx.blobCount > 0)
        #expect(idx.packs.allSatisfy { $0.blobs.allSatisfy { $0.uncompressedLength > 0 } })  // v2: all compressed
    }

    @Test func indexFieldsAndLegacyForms() throws {
        let idx = try IndexFile.decode(RepoFixtures.index_53915bb7)
        #expect(idx.packs.count == 1 && idx.packs[0].blobs.count == 4)
        let b = idx.packs[0].blobs[1]
        #expect(b.id.hex == "e478cb48f0af9de78d14fc28fe38ffdc8bae3d6149bdaa825ea29160f68b6ca9")
        #expect(b.type == .tree && b.offset == 648 && b.length == 1394 && b.uncompressedLength == 7506)

        let pack = IndexPack(id: ObjectID(bytes: [UInt8](repeating: 0xAB, count: 32)), blobs: [
            IndexBlob(id: ObjectID(bytes: [UInt8](repeating: 1, count: 32)), type: .data, offset: 0, length: 4_294_967_295),
        ])
        let v1 = IndexFile(packs: [pack], supersedes: [ObjectID(bytes: [UInt8](repeating: 2, count: 32))])
        let json = v1.encode()
        #expect(text(json) == "{\"supersedes\":[\"" + String(repeating: "02", count: 32) + "\"],\"packs\":[{\"id\":\"" + String(repeating: "ab", count: 32)
                + "\",\"blobs\":[{\"id\":\"" + String(repeating: "01", count: 32) + "\",\"type\":\"data\",\"offset\":0,\"length\":4294967295}]}]}\n")
        #expect(try IndexFile.decode(json) == v1)
        // restic 0.1's bare array of packs.
        let legacy = Array(("[{\"id\":\"" + String(repeating: "ab", count: 32) + "\",\"blobs\":[{\"id\":\"" + String(repeating: "01", count: 32)
                            + "\",\"type\":\"data\",\"offset\":0,\"length\":4294967295}]}]").utf8)
        #expect(try IndexFile.decode(legacy) == IndexFile(packs: [pack]))
        #expect(IndexFile(packs: []).encode() == Array("{\"packs\":[]}\n".utf8))
        #expect(try IndexFile.decode(Array("{\"packs\":null}".utf8)).packs.isEmpty)
    }

    @Test(arguments: [
        ("\"type\":\"data\"", "\"type\":\"Data\"", "blob type"),
        ("\"offset\":0", "\"offset\":4294967296", "32 bits"),
        ("\"offset\":0", "\"offset\":-1", "unsigned"),
        ("\"offset\":0", "\"offset\":1.0", "unsigned"),
        ("\"offset\":0", "\"offset\":1e3", "unsigned"),
        ("\"length\":5", "\"length\":\"5\"", "unsigned"),
        ("\"offset\":0", "\"offset\":99999999999999999999999", "overflow"),
        ("\"type\":\"data\",", "", "without \"type\""),
    ])
    func indexRejectsBadBlobs(original: String, replacement: String, expectedWords: String) {
        let good = "{\"packs\":[{\"id\":\"" + String(repeating: "ab", count: 32) + "\",\"blobs\":[{\"id\":\"" + String(repeating: "01", count: 32)
            + "\",\"type\":\"data\",\"offset\":0,\"length\":5}]}]}"
        let bad = good.replacingOccurrences(of: original, with: replacement)
        #expect(bad != good)
        do {
            _ = try IndexFile.decode(Array(bad.utf8))
            Issue.record("accepted \(replacement)")
        } catch {
            #expect("\(error)".contains(expectedWords), "\(error)")
            #expect("\(error)".contains("pack 0") && "\(error)".contains("blob 0"))
        }
        #expect(throws: Never.self) { try IndexFile.decode(Array(good.utf8)) }
    }

    @Test func indexRejectsBadIDs() {
        for id in [String(repeating: "a", count: 63), String(repeating: "a", count: 65), String(repeating: "g", count: 64), "\\u0061" + String(repeating: "a", count: 58)] {
            #expect(throws: FormatError.self) { try IndexFile.decode(Array("{\"packs\":[{\"id\":\"\(id)\",\"blobs\":[]}]}".utf8)) }
        }
        #expect(throws: FormatError.self) { try IndexFile.decode(Array("{\"packs\":[{\"blobs\":[]}]}".utf8)) }
        // Upper-case hex is accepted, as Go's hex.Decode does.
        #expect(throws: Never.self) { try IndexFile.decode(Array("{\"packs\":[{\"id\":\"\(String(repeating: "AB", count: 32))\",\"blobs\":[]}]}".utf8)) }
    }

    // MARK: pack headers

    func bytes(hex: String) -> [UInt8] {
        let c = Array(hex.utf8)
        return stride(from: 0, to: c.count, by: 2).map { UInt8(GoStrconv.hexValue(c[$0])! << 4 | GoStrconv.hexValue(c[$0 + 1])!) }
    }

    @Test(arguments: [PackHeaderFixtures.header_21fb7afd, PackHeaderFixtures.header_727e905f, PackHeaderFixtures.header_ad118b61,
                      PackHeaderFixtures.header_d93c38ac, PackHeaderFixtures.header_f322d607])
    func realHeadersRoundTrip(hex: String) throws {
        let plain = bytes(hex: hex)
        let entries = try PackHeader.parse(plain)
        #expect(PackHeader.encode(entries) == plain)
        #expect(entries.count * PackHeader.entrySizeCompressed == plain.count)
        var offset: UInt32 = 0
        for e in entries {
            #expect(e.offset == offset)
            offset += e.length
        }
    }

    @Test func headerMatchesIndex() throws {
        let entries = try PackHeader.parse(bytes(hex: PackHeaderFixtures.header_ad118b61))
        let pack = try #require(try IndexFile.decode(RepoFixtures.index_53915bb7).packs.first)
        for e in entries {
            let b = try #require(pack.blobs.first { $0.id == e.id })
            #expect(b.offset == e.offset && b.length == e.length && b.uncompressedLength == e.uncompressedLength && b.type == e.type)
        }
        #expect(entries.count == pack.blobs.count)
    }

    @Test func bothEntrySizes() throws {
        let id1 = ObjectID(bytes: [UInt8](repeating: 0x11, count: 32)), id2 = ObjectID(bytes: [UInt8](repeating: 0x22, count: 32))
        let entries = [PackHeaderEntry(type: .data, length: 47, id: id1),
                       PackHeaderEntry(type: .tree, length: 0x01020304, uncompressedLength: 0x0A0B0C0D, id: id2),
                       PackHeaderEntry(type: .tree, length: 5, id: id1),
                       PackHeaderEntry(type: .data, length: 6, uncompressedLength: 1, id: id2)]
        let plain = PackHeader.encode(entries)
        #expect(plain.count == 37 + 41 + 37 + 41)
        #expect(Array(plain[0..<5]) == [0, 47, 0, 0, 0])
        #expect(Array(plain[37..<46]) == [3, 0x04, 0x03, 0x02, 0x01, 0x0D, 0x0C, 0x0B, 0x0A])
        #expect(plain[78] == 1 && plain[115] == 2)
        let parsed = try PackHeader.parse(plain)
        #expect(parsed.map(\.offset) == [0, 47, 47 + 0x01020304, 52 + 0x01020304])
        #expect(parsed.map(\.type) == [.data, .tree, .tree, .data])
        #expect(parsed.map(\.uncompressedLength) == [0, 0x0A0B0C0D, 0, 1])
        #expect(parsed.map(\.id) == [id1, id2, id1, id2])
        #expect(PackHeader.trailerSize(entries) == 156 + 36)
        #expect(try PackHeader.parse([]) == [])
    }

    @Test func badHeaders() {
        let id = [UInt8](repeating: 7, count: 32)
        #expect(throws: FormatError.self) { try PackHeader.parse([4, 1, 0, 0, 0] + id) }
        #expect(throws: FormatError.self) { try PackHeader.parse([0xFF] + [UInt8](repeating: 0, count: 36)) }
        #expect(throws: FormatError.self) { try PackHeader.parse([0, 1, 0, 0, 0] + id.dropLast()) }
        #expect(throws: FormatError.self) { try PackHeader.parse([2, 1, 0, 0, 0] + id) }  // 37 bytes but type 2 needs 41
        #expect(throws: FormatError.self) { try PackHeader.parse([0, 1, 0, 0, 0] + id + [1]) }
        // Offsets past 4 GiB cannot be represented.
        let big = [UInt8]([0, 0xFF, 0xFF, 0xFF, 0xFF]) + id
        #expect(throws: FormatError.self) { try PackHeader.parse(big + big + [0, 1, 0, 0, 0] + id) }
    }

    @Test func headerLengthValidation() throws {
        #expect(try PackHeader.headerLength(trailer: [106, 0, 0, 0], fileSize: 529) == 106)
        #expect(try PackHeader.headerLength(trailer: PackHeader.lengthField(69), fileSize: 73) == 69)
        #expect(throws: FormatError.self) { try PackHeader.headerLength(trailer: [0, 0, 0, 0], fileSize: 529) }
        #expect(throws: FormatError.self) { try PackHeader.headerLength(trailer: [31, 0, 0, 0], fileSize: 529) }
        #expect(throws: FormatError.self) { try PackHeader.headerLength(trailer: [70, 0, 0, 0], fileSize: 73) }
        #expect(throws: FormatError.self) { try PackHeader.headerLength(trailer: [40, 0, 0, 0], fileSize: 72) }
        #expect(throws: FormatError.self) { try PackHeader.headerLength(trailer: [1, 0, 0, 1], fileSize: 1 << 30) }
        #expect(try PackHeader.headerLength(trailer: PackHeader.lengthField(PackHeader.maxHeaderSize - 4), fileSize: 1 << 30) == 16 * 1024 * 1024)
        #expect(throws: FormatError.self) { try PackHeader.headerLength(trailer: [106, 0, 0], fileSize: 529) }
        #expect(PackHeader.eagerReadSize == 651 && PackHeader.maxEntries == 409_199 && PackHeader.minFileSize == 73)
    }
}
