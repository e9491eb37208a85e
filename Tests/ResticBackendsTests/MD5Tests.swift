import Testing
@testable import ResticBackends

/// RFC 1321's test suite, plus lengths around the 56- and 64-byte padding edges.
@Suite struct MD5Tests {
    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
        ("The quick brown fox jumps over the lazy dog", "9e107d9d372bb6826bd81d3542a419d6"),
    ])
    func rfc1321(_ input: String, _ expected: String) {
        #expect(SigV4Signer.hex(MD5.digest(Array(input.utf8))) == expected)
    }

    @Test(arguments: [
        (55, "ef1772b6dff9a122358552954ad0df65"),
        (56, "3b0c8ac703f828b04c6c197006d17218"),
        (63, "b06521f39153d618550606be297466d5"),
        (64, "014842d480b571495a4a0363793f7367"),
        (65, "c743a45e0d2e6a95cb859adae0248435"),
        (1000, "cabe45dcc9ae5b66ba86600cca6b8ba8"),
    ])
    func paddingEdges(_ count: Int, _ expected: String) {
        #expect(SigV4Signer.hex(MD5.digest([UInt8](repeating: UInt8(ascii: "a"), count: count))) == expected)
    }

    @Test func manyBlocks() {
        var bytes: [UInt8] = []
        for _ in 0..<1000 { bytes += (0...255).map { UInt8($0) } }
        #expect(SigV4Signer.hex(MD5.digest(bytes)) == "1da708a75e25110b1341d16814feb52d")
    }
}
