import Testing
@testable import ResticCrypto

@Suite struct HashTests {
    @Test func sha256KnownAnswers() {
        #expect(hexString(SHA256.digest(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(SHA256.digest([]))
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // The 4 × 512 KiB zero chunk of restic's chunker tests (REPO_FORMAT_NOTES §13).
        #expect(hexString(SHA256.digest([UInt8](repeating: 0, count: 524_288)))
                == "07854d2fef297a06ba81685e660c332de36d5d18d546927d30daad6d7fda1541")
        let pointerDigest = Array("abc".utf8).withUnsafeBytes { SHA256.digest($0) }
        #expect(pointerDigest == SHA256.digest(Array("abc".utf8)))
    }

    @Test func streamMatchesOneShotAndIsReusable() {
        let data = pattern(300_001)
        let stream = SHA256Stream()
        var offset = 0
        for size in [0, 1, 63, 64, 65, 4096, 100_000] {
            stream.update(Array(data[offset..<(offset + size)]))
            offset += size
        }
        data[offset...].withUnsafeBytes { stream.update($0) }
        #expect(stream.finalize() == SHA256.digest(data))
        // finalize() starts over.
        stream.update(Array("abc".utf8))
        #expect(hexString(stream.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(stream.finalize()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// RFC 4231 test cases 1 and 2.
    @Test func hmacSHA256RFC4231() {
        #expect(hexString(HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(hexString(HMACSHA256.mac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }
}

@Suite struct ScryptTests {
    /// RFC 7914 §12, second and first vectors.
    @Test func rfc7914Vectors() throws {
        let key = try Scrypt.derive(password: Array("password".utf8), salt: Array("NaCl".utf8),
                                    n: 1024, r: 8, p: 16, length: 64)
        #expect(hexString(key) == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                + "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
        let empty = try Scrypt.derive(password: [], salt: [], n: 16, r: 1, p: 1, length: 64)
        #expect(hexString(empty) == "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                + "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906")
    }

    @Test(arguments: [
        (0, 1, 1, "power of two"), (1, 1, 1, "power of two"), (1000, 1, 1, "power of two"),
        (16, 0, 1, "r must"), (16, 1, 0, "p must"), (16, 1 << 15, 1 << 15, "r·p"),
        (1 << 24, 8, 1, "limit"),     // 2 GiB < needs 16 GiB
    ])
    func invalidParametersAreExplained(n: Int, r: Int, p: Int, fragment: String) {
        #expect {
            try Scrypt.derive(password: [1], salt: [2], n: n, r: r, p: p, length: 32)
        } throws: { error in
            guard case CryptoError.invalidParameters(let why) = error else { return false }
            return why.contains(fragment)
        }
    }

    /// The lanes run on several threads, each keeping part of V: every split must give OpenSSL's bytes.
    @Test(arguments: [(16, 1, 1), (1024, 8, 1), (1024, 8, 3), (2048, 8, 8), (256, 2, 5), (4096, 1, 2)])
    func lanesOnThreadsMatchOpenSSL(n: Int, r: Int, p: Int) throws {
        let password = Array("correct horse".utf8), salt = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let expected = try Scrypt.deriveWithOpenSSL(password: password, salt: salt, n: n, r: r, p: p, length: 64)
        for threads in 1...4 {
            let got = try deriveOnThreads(threads, password: password, salt: salt, n: n, r: r, p: p)
            #expect(got == expected, "N=\(n) r=\(r) p=\(p) on \(threads) threads")
        }
        #expect(try Scrypt.derive(password: password, salt: salt, n: n, r: r, p: p, length: 64) == expected)
    }

    /// Go's scrypt, and so restic, accepts N ≥ 2^(16·r), which OpenSSL refuses.
    @Test func largeNWithSmallRIsAccepted() throws {
        let key = try Scrypt.derive(password: [1], salt: [2], n: 1 << 16, r: 1, p: 2, length: 32)
        #expect(try deriveOnThreads(1, password: [1], salt: [2], n: 1 << 16, r: 1, p: 2, length: 32) == key)
    }

    private func deriveOnThreads(_ threads: Int, password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int,
                                 length: Int = 64) throws -> [UInt8] {
        var lanes = [UInt8](repeating: 0, count: 128 * r * p)
        lanes = try Scrypt.pbkdf2(password: password, salt: salt, length: lanes.count)
        try lanes.withUnsafeMutableBytes { buffer in
            try ScryptMix.mix(buffer.baseAddress!, n: n, r: r, p: p, threads: threads)
        }
        return try Scrypt.pbkdf2(password: password, salt: lanes, length: length)
    }

    @Test func memoryLimitIsEnforced() throws {
        // N=1024 r=8 needs about 1 MiB.
        #expect(throws: CryptoError.self) {
            try Scrypt.derive(password: [1], salt: [2], n: 1024, r: 8, p: 1, length: 32, memoryLimit: 1 << 19)
        }
        let key = try Scrypt.derive(password: [1], salt: [2], n: 1024, r: 8, p: 1, length: 32, memoryLimit: 1 << 21)
        #expect(key.count == 32)
        #expect(throws: CryptoError.self) { try Scrypt.derive(password: [1], salt: [2], n: 16, r: 1, p: 1, length: 0) }
    }
}
