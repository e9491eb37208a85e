import Foundation
import Testing
import ResticCrypto

@Suite struct MasterKeyTests {
    /// `keys/…` of restic's testdata repo-same-timestamps (password "geheim"), see REPO_FORMAT_NOTES §13.
    static let keyFile = #"""
    {"created":"2016-09-18T18:22:23.991085161+02:00","username":"fd0","hostname":"mopped","kdf":"scrypt","N":128,"r":1,"p":1,"salt":"IdRzINnXykIHn3F98mHV6wY04p5ymaji6vlqA75y/edei9btmS4yHvCylyzrjzegzlteunS97pdauzSMezlZHg==","data":"CjMh0oYBlQELjbELL5MDHvnAN3bmAzFjHslg9Ro5Q+fjMRAwytAXH3OnlU9ax0O6JoUlsFVdMi3IX+XsYcz1/kN1nicrHmkQiODISZONN6XS5pWhjk7tzeQfmkt/nOk/bHWTJHseTz3d59HMRYrgk0c5He+ufU1yGEns9tdp5tdweHW3xw6jV6AnsO1BcPQ7Qmbgvhcnvl6a7dNd6LkI/A=="}
    """#
    static let configObject = hex(
        "5a367f36f975424da9f5802dbc4419c639f34f439123576fbe1e8ae6426d7a9c5e0bea9ff0c4b7004dea8f1f7e1a1368"
        + "17c57ac5ca721c23c792078127e8407003ae685387c343a99e72debcff48793aa00aff30b50f5bbb59d3d32db97b3251"
        + "a81755ab15de1713e9078be5eb5cde57eee35d474e8967ea9f668d075ff74688bc29a24b76d1fd4caafb5697ebb9e1d6"
        + "22c2fa59afe2103ec75274")

    struct KeyFile: Decodable {
        let N: Int, r: Int, p: Int
        let salt: String, data: String
    }
    struct MasterKeyJSON: Decodable {
        struct MAC: Decodable { let k: String, r: String }
        let mac: MAC
        let encrypt: String
    }

    static func base64(_ text: String) throws -> [UInt8] {
        try [UInt8](#require(Data(base64Encoded: text)))
    }

    /// Password → scrypt → user key → open `data` → master key JSON → open the repo's config.
    @Test func resticKeyFileVector() throws {
        let file = try JSONDecoder().decode(KeyFile.self, from: Data(Self.keyFile.utf8))
        let salt = try Self.base64(file.salt)
        #expect(salt.count == 64)
        let derived = try Scrypt.derive(password: Array("geheim".utf8), salt: salt,
                                        n: file.N, r: file.r, p: file.p, length: MasterKey.derivedKeySize)
        let userKey = try MasterKey(derivedKey: derived)
        let json = try userKey.open(Self.base64(file.data))
        let decoded = try JSONDecoder().decode(MasterKeyJSON.self, from: Data(json))
        let master = try MasterKey(encryption: Self.base64(decoded.encrypt),
                                   macK: Self.base64(decoded.mac.k), macR: Self.base64(decoded.mac.r))
        #expect(hexString(master.encryption) == "a2d3153d282c1c3913d1f0cf64fd5e2c7ceefe60f0c03164e84904ad3fe951ea")
        #expect(hexString(master.macK) == "09818a3ee32f8331fe5c3c6dea9af0f6")
        #expect(hexString(master.macR) == "01b2990decbb910fbc798200b469540c")

        let config = try master.open(Self.configObject)
        #expect(String(decoding: config, as: UTF8.self) == #"{"version":1,"id":"71ca3a60bc97cdebba08b9305d74c32a54f7936869a0fa95829dbd71111af7d8","chunker_polynomial":"384b4ee69c10f5"}"#)
    }

    @Test func wrongPasswordFailsAuthentication() throws {
        let file = try JSONDecoder().decode(KeyFile.self, from: Data(Self.keyFile.utf8))
        let derived = try Scrypt.derive(password: Array("Geheim".utf8), salt: Self.base64(file.salt),
                                        n: file.N, r: file.r, p: file.p, length: 64)
        let data = try Self.base64(file.data)
        #expect(throws: CryptoError.authenticationFailed) { try MasterKey(derivedKey: derived).open(data) }
    }

    @Test func derivedKeyIsSplit32_16_16() throws {
        let bytes = (0..<64).map { UInt8($0 + 1) }
        let key = try MasterKey(derivedKey: bytes)
        #expect(key.encryption == Array(bytes[0..<32]))
        #expect(key.macK == Array(bytes[32..<48]))
        #expect(key.macR == Array(bytes[48..<64]))
        #expect(throws: CryptoError.self) { try MasterKey(derivedKey: Array(bytes[0..<63])) }
    }

    @Test func sizesAndZeroPartsAreRejected() {
        let e = pattern(32), k = pattern(16, seed: 2), r = pattern(16, seed: 3)
        let cases: [([UInt8], [UInt8], [UInt8], String)] = [
            (Array(e[0..<31]), k, r, "encryption"), (e, Array(k[0..<15]), r, "k"), (e, k, r + [1], "r"),
            ([UInt8](repeating: 0, count: 32), k, r, "encryption"),
            (e, [UInt8](repeating: 0, count: 16), r, "k"), (e, k, [UInt8](repeating: 0, count: 16), "r"),
        ]
        for (encryption, macK, macR, part) in cases {
            #expect {
                try MasterKey(encryption: encryption, macK: macK, macR: macR)
            } throws: { error in
                guard case CryptoError.invalidKey(let why) = error else { return false }
                return why.contains(part)
            }
        }
    }

    @Test func equalityAndRedaction() throws {
        let a = MasterKey.random()
        let b = try MasterKey(encryption: a.encryption, macK: a.macK, macR: a.macR)
        #expect(a == b)
        #expect(a != MasterKey.random())
        var flipped = a.macR
        flipped[15] ^= 1
        #expect(a != (try MasterKey(encryption: a.encryption, macK: a.macK, macR: flipped)))
        for text in [String(describing: a), String(reflecting: a), "\(a)"] {
            #expect(!text.contains(hexString(Array(a.encryption[0..<4]))))
            #expect(text.contains("redacted"))
        }
    }

    @Test func randomKeysAndBytesDiffer() {
        let a = MasterKey.random(), b = MasterKey.random()
        #expect(a.encryption != b.encryption && a.macK != b.macK && a.macR != b.macR)
        #expect(SecureRandom.bytes(0).isEmpty)
        let x = SecureRandom.bytes(33), y = SecureRandom.bytes(33)
        #expect(x.count == 33 && x != y)
    }
}
