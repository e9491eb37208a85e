import Testing
import ResticCompress

/// Compressing into caller-owned room and verifying a frame that arrives in pieces: the sealer
/// relies on both to seal and check blobs without buffers of their own.
@Suite struct ZstdStreamingTests {
    @Test(arguments: [1, 7, 4096, 1 << 20])
    func verifierAcceptsTheFrameInAnyPieces(pieceSize: Int) throws {
        let plaintext = compressible(3 << 20 + 5)
        let frame = try ZstdCompressor(level: 2).compress(plaintext)
        let verifier = try ZstdVerifier()
        let fed = frame.withUnsafeBytes { frameBytes in
            plaintext.withUnsafeBytes { expected in
                var ok = verifier.begin()
                var offset = 0
                while ok && offset < frameBytes.count {
                    let end = min(frameBytes.count, offset + pieceSize)
                    ok = verifier.feed(UnsafeRawBufferPointer(rebasing: frameBytes[offset..<end]), expected)
                    offset = end
                }
                return ok && verifier.end(expected)
            }
        }
        #expect(fed)
    }

    @Test func verifierRejectsCutShortWrongAndTrailingFrames() throws {
        let plaintext = compressible(300_000)
        let frame = try ZstdCompressor(level: 2).compress(plaintext)
        let verifier = try ZstdVerifier()
        func check(_ frame: [UInt8], _ expected: [UInt8]) -> Bool {
            frame.withUnsafeBytes { f in expected.withUnsafeBytes { verifier.matches(f, $0) } }
        }
        #expect(check(frame, plaintext))
        #expect(!check(Array(frame.dropLast(3)), plaintext))
        #expect(!check(frame + [0], plaintext))
        var other = plaintext
        other[150_000] ^= 1
        #expect(!check(frame, other))
        #expect(!check(frame, Array(plaintext.dropLast())))
        // A failed check leaves the verifier usable for the next blob.
        #expect(check(frame, plaintext))
    }

    @Test func compressIntoRoomReturnsNilWhenTheFrameDoesNotFit() throws {
        let compressor = try ZstdCompressor(level: 2)
        let random = noise(100_000)
        let roomy = try random.withUnsafeBytes { input in
            let room = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count - 1, alignment: 16)
            defer { room.deallocate() }
            return try compressor.compress(input, into: room)
        }
        #expect(roomy == nil)

        let text = compressible(200_000)
        let room = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count - 1, alignment: 16)
        defer { room.deallocate() }
        let size = try #require(try text.withUnsafeBytes { try compressor.compress($0, into: room) })
        let frame = Array(UnsafeRawBufferPointer(rebasing: room[0..<size]))
        #expect(try ZstdDecompressor().decompress(frame, expectedSize: text.count, limit: 1 << 24) == text)
    }
}
