import Foundation
import Testing
@testable import CartaeStages

@Suite struct RDBValidatorTests {
    static func validate(_ bytes: [UInt8], chunk: Int = 4096) throws -> (RDBValidator.Summary, Int) {
        var validator = RDBValidator()
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try validator.consume(Array(bytes[offset..<end]))
            offset = end
        }
        let summary = try validator.finish()
        return (summary, validator.trailingBytes)
    }

    @Test func crc64KnownAnswers() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xe9c6_d914_c4b8_d9ca)
        #expect(CRC64.checksum([]) == 0)
        // Slicing-by-8 must agree with the byte-at-a-time definition at every length and alignment.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for length in [1, 7, 8, 9, 63, 64, 65, 999] {
            var reference: UInt64 = 0
            for byte in data.prefix(length) {
                reference ^= UInt64(byte)
                for _ in 0..<8 { reference = reference & 1 == 1 ? (reference >> 1) ^ 0x95ac_9329_ac4b_c9b5 : reference >> 1 }
            }
            #expect(CRC64.checksum(Array(data.prefix(length))) == reference)
            var split = CRC64()
            split.update(Array(data.prefix(length / 2)))
            split.update(Array(data[(length / 2)..<length]))
            #expect(split.value == reference)
        }
    }

    @Test func realRedisFileValidatesAndCountsKeys() throws {
        let bytes = RDBFixture.bytes
        #expect(bytes.count == 11282)
        let (summary, trailing) = try Self.validate(bytes)
        #expect(summary.version == 10)
        #expect(summary.redisVersion == "7.0.15")
        #expect(summary.keys == 66)
        #expect(summary.databases == [0: 64, 3: 2])
        #expect(summary.keysWithExpiry == 2)
        #expect(summary.checksumVerified)
        #expect(summary.bytes == 11282)
        #expect(trailing == 0)
    }

    @Test(arguments: [1, 2, 3, 7, 64, 1000])
    func anyChunkingGivesTheSameResult(_ chunk: Int) throws {
        let (summary, _) = try Self.validate(RDBFixture.bytes, chunk: chunk)
        #expect(summary.keys == 66 && summary.bytes == 11282)
    }

    @Test func theEndOfTransferMarkerIsTrailing() throws {
        let marker = Array(String(repeating: "0123456789", count: 4).utf8)
        let (summary, trailing) = try Self.validate(RDBFixture.bytes + marker, chunk: 500)
        #expect(summary.bytes == 11282)
        #expect(trailing == 40)
    }

    @Test func aFlippedByteIsCaught() {
        // Inside a string value (structure intact): only the checksum can notice.
        var bytes = RDBFixture.bytes
        let position = bytes.indices.first { bytes[$0] == UInt8(ascii: "v") && bytes[$0 + 1] == UInt8(ascii: "a") }!
        bytes[position] ^= 0x20
        #expect(throws: RDBValidator.Failure.self) { try Self.validate(bytes) }
        do {
            _ = try Self.validate(bytes)
        } catch {
            #expect("\(error)".contains("checksum mismatch"))
        }
    }

    @Test func truncationAndBadHeadersAreCaught() {
        for length in [0, 5, 9, 100, 11281, 11273] {
            #expect(throws: RDBValidator.Failure.self, "length \(length)") { try Self.validate(Array(RDBFixture.bytes.prefix(length))) }
        }
        var header = RDBFixture.bytes
        header[0] = UInt8(ascii: "X")
        #expect(throws: RDBValidator.Failure.self) { try Self.validate(header) }
        #expect(throws: RDBValidator.Failure.self) { try Self.validate(Array("not an rdb file at all".utf8)) }
    }

    @Test func aZeroChecksumMeansChecksumsWereOff() throws {
        var bytes = RDBFixture.bytes
        for i in (bytes.count - 8)..<bytes.count { bytes[i] = 0 }
        let (summary, _) = try Self.validate(bytes)
        #expect(!summary.checksumVerified)
        #expect(summary.keys == 66)
    }

    /// A hand-made file: every length encoding, an int-encoded and an LZF-marked string, a module
    /// aux record and an idle/freq opcode pair, checked against the counts put in.
    @Test func handMadeFileWithRareEncodings() throws {
        var body: [UInt8] = Array("REDIS0009".utf8)
        func string(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
        body += [0xfa] + string("redis-ver") + string("6.2.0")
        body += [0xfe, 0x00, 0xfb, 0x03, 0x01]
        body += [0x00] + string("plain") + [0x40, 0x02, 0x61, 0x62]              // 14-bit length "ab"
        body += [0x00] + string("int8") + [0xc0, 0x7f]
        body += [0x00] + string("int32") + [0xc2, 1, 2, 3, 4]
        body += [0x00] + string("lzf") + [0xc3, 0x02, 0x05, 0x01, 0x61]          // compressed length 2
        body += [0xf8, 0x05, 0xf9, 0x07]                                          // idle, freq
        body += [0xfc] + [UInt8](repeating: 0, count: 8)
        body += [0x01] + string("list") + [0x02] + string("x") + [0x80, 0, 0, 0, 1, 0x79]   // 32-bit length "y"
        body += [0xf7, 0x05, 0x02, 0x01, 0x02, 0x09, 0x00]                        // module aux
        body += [0xfe, 0x05, 0x04] + string("h") + [0x01] + string("f") + string("v")
        body += [0xff]
        let checksum = CRC64.checksum(body)
        let file = body + (0..<8).map { UInt8(truncatingIfNeeded: checksum >> (8 * $0)) }
        let (summary, _) = try Self.validate(file, chunk: 3)
        #expect(summary.version == 9)
        #expect(summary.redisVersion == "6.2.0")
        #expect(summary.keys == 6)
        #expect(summary.databases == [0: 5, 5: 1])
        #expect(summary.keysWithExpiry == 1)
        #expect(summary.checksumVerified)
    }

    @Test func unknownValueTypesAreRefused() {
        var body: [UInt8] = Array("REDIS0010".utf8) + [0xfe, 0x00, 0x63, 0x01, 0x6b, 0x00, 0xff]
        let checksum = CRC64.checksum(body)
        body += (0..<8).map { UInt8(truncatingIfNeeded: checksum >> (8 * $0)) }
        #expect(throws: RDBValidator.Failure.self) { try Self.validate(body) }
    }
}

@Suite struct RDBTapTests {
    /// The tap passes exactly the RDB to the archiver and keeps the marker behind.
    @Test func holdsBackTheMarker() throws {
        let marker = Array(String(repeating: "abcdefghij", count: 4).utf8)
        let stream = RDBFixture.bytes + marker
        let pipe = try ChildProcess.pipe()
        let writer = Thread {
            stream.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = write(pipe.write.rawValue, buffer.baseAddress! + offset, min(777, buffer.count - offset))
                    if n <= 0 { break }
                    offset += n
                }
            }
            close(pipe.write.rawValue)
        }
        writer.start()
        let tap = RDBTap(source: pipe.read)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1000)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try tap.read(into: $0) }
            if n == 0 { break }
            out += buffer[0..<n]
        }
        #expect(out == RDBFixture.bytes)
        #expect(try tap.result().keys == 66)
    }

    @Test func aCorruptStreamStopsAndSaysWhy() throws {
        var stream = RDBFixture.bytes
        stream[stream.count - 3] ^= 1   // inside the checksum
        let pipe = try ChildProcess.pipe()
        _ = stream.withUnsafeBytes { write(pipe.write.rawValue, $0.baseAddress, $0.count) }
        close(pipe.write.rawValue)
        let tap = RDBTap(source: pipe.read)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try tap.read(into: $0) }
            if n == 0 { break }
            total += n
        }
        #expect(total < stream.count)
        #expect(throws: RDBValidator.Failure.self) { try tap.result() }
    }
}
