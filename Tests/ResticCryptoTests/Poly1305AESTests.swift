import Testing
import ResticCrypto

/// Known-answer tests for restic's Poly1305-AES construction and AES-256-CTR counter handling.
@Suite struct Poly1305AESTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let msg: String, r: String, k: String, nonce: String, mac: String
        var testDescription: String { "msg(\(msg.count / 2) bytes)" }
    }

    // From restic's crypto_int_test.go (Bernstein's Poly1305-AES paper vectors).
    static let vectors: [Vector] = [
        Vector(msg: "f3f6", r: "851fc40c3467ac0be05cc20404f3f700", k: "ec074c835580741701425b623235add6",
               nonce: "fb447350c4e868c52ac3275cf9d4327e", mac: "f4c633c3044fc145f84f335cb81953de"),
        Vector(msg: "", r: "a0f3080000f46400d0c7e9076c834403", k: "75deaa25c09f208e1dc4ce6b5cad3fbf",
               nonce: "61ee09218d29b0aaed7e154a2c5509cc", mac: "dd3fab2251f11ac759f0887129cc2ee7"),
        Vector(msg: "663cea190ffb83d89593f3f476b6bc24d7e679107ea26adb8caf6652d0656136",
               r: "48443d0bb0d21109c89a100b5ce2c208", k: "6acb5f61a7176dd320c5c1eb2edcdc74",
               nonce: "ae212a55399729595dea458bc621ff0e",
               mac: "0ee1c16bb73f0f4fd19881753c01cdbe"),
        Vector(msg: "ab0812724a7f1e342742cbed374d94d136c6b8795d45b3819830f2c04491faf0990c62e48b8018b2c3e4a0fa3134cb67"
                    + "fa83e158c994d961c4cb21095c1bf9",
               r: "12976a08c4426d0ce8a82407c4f48207", k: "e1a5668a4d5b66a5f68cc5424ed5982d",
               nonce: "9ae831e743978d3a23527c7128149e3a", mac: "5154ad0d2cb26e01274fc51148491f1b"),
    ]

    @Test(arguments: vectors)
    func paperVector(_ v: Vector) {
        let mac = Poly1305AES.mac(message: hex(v.msg), r: hex(v.r), k: hex(v.k), nonce: hex(v.nonce))
        #expect(hexString(mac) == v.mac)
    }

    /// restic ≥ 0.17 stores r unclamped; setting every bit the clamp clears must not change the tag.
    @Test(arguments: vectors)
    func unclampedRGivesSameTag(_ v: Vector) {
        let unclampBits: [UInt8] = [0, 0, 0, 0xf0, 0x03, 0, 0, 0xf0, 0x03, 0, 0, 0xf0, 0x03, 0, 0, 0xf0]
        let r = zip(hex(v.r), unclampBits).map { $0 | $1 }
        #expect(r != hex(v.r))
        let mac = Poly1305AES.mac(message: hex(v.msg), r: r, k: hex(v.k), nonce: hex(v.nonce))
        #expect(hexString(mac) == v.mac)
    }

    @Test func differentNonceChangesTag() {
        let v = Self.vectors[0]
        var nonce = hex(v.nonce)
        nonce[15] ^= 1
        #expect(hexString(Poly1305AES.mac(message: hex(v.msg), r: hex(v.r), k: hex(v.k), nonce: nonce)) != v.mac)
    }

    /// The CTR counter is the whole 128-bit IV, big-endian, carried across all 16 bytes (Go's
    /// cipher.NewCTR). Keystreams from AES-256-ECB over explicit counter blocks, cross-checked with Go.
    @Test(arguments: [
        ("fffffffffffffffffffffffffffffffe",
         "5e71dce3dd3574cdf7aeb62bda90f62d924193e149789acb5d57a960abeea5a3a73c5576667b7b43a23a9fd930b5465d"
         + "1f681792a7c4073b9ae1f7a3c6773983c679db19bd"),
        ("0123456789abcdeffffffffffffffffe",
         "e1f46c34120f38e86304cda5f1a4352905c1c1b4577b0c098d1501eaac28d06225480e19ff4219679da1f71d4b1f2dfc"
         + "50ee8ac62b1262a7ec6661663c7af22c448c81eb28"),
    ])
    func counterCarriesAcrossAll128Bits(iv: String, keystream: String) throws {
        let k = hex("ef4d8824cb80b2bcc5fbff8a9b12a42c")
        let r = hex("cc8d4b948ee0ebfe1d415de921d10353")
        let key = try MasterKey(encryption: (1...32).map { UInt8($0) }, macK: k, macR: r)
        let ciphertext = hex(keystream)  // plaintext is all zero, so ciphertext == keystream
        let sealed = hex(iv) + ciphertext + Poly1305AES.mac(message: ciphertext, r: r, k: k, nonce: hex(iv))
        #expect(try key.open(sealed) == [UInt8](repeating: 0, count: ciphertext.count))
    }
}
