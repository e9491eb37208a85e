import Foundation
import Synchronization
import Testing
@testable import ResticCrypto

/// Key material is wiped before its memory is freed. The release hook sees each buffer after
/// the wipe and before `deallocate`, so reading it there is still defined behaviour.
@Suite(.serialized) struct SecretBytesTests {
    /// What the hook saw, by buffer address: whether every byte was zero.
    final class Observations: Sendable {
        let seen = Mutex<[UInt: Bool]>([:])

        func record(_ buffer: UnsafeRawBufferPointer) {
            let address = UInt(bitPattern: buffer.baseAddress)
            let zero = buffer.allSatisfy { $0 == 0 }
            seen.withLock { $0[address] = zero }
        }

        func wiped(_ address: UInt) -> Bool? { seen.withLock { $0[address] } }
    }

    /// Runs `body` with the hook installed; other tests in this process may release secrets
    /// meanwhile, so results are looked up by address.
    static func observing(_ body: (Observations) throws -> Void) rethrows {
        let observations = Observations()
        SecretBytes.releaseObserver.withLock { $0 = { observations.record($0) } }
        defer { SecretBytes.releaseObserver.withLock { $0 = nil } }
        try body(observations)
    }

    static func address(_ secret: SecretBytes) -> UInt {
        secret.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
    }

    @Test func releasedBytesAreZeroedBeforeFree() throws {
        try Self.observing { (observations) throws in
            var address: UInt = 0
            do {
                let secret = SecretBytes(copying: [UInt8](repeating: 0xA5, count: 64))
                address = Self.address(secret)
                withExtendedLifetime(secret) {
                    // The bytes are really there while the object lives.
                    #expect(secret.withUnsafeBytes { $0.allSatisfy { $0 == 0xA5 } })
                    #expect(observations.wiped(address) == nil)
                }
            }
            let wiped = try #require(observations.wiped(address), "the release hook never saw the buffer")
            #expect(wiped, "the buffer was freed with key bytes still in it")
        }
    }

    @Test func masterKeyCopiesShareOneBufferWipedWithTheLast() throws {
        try Self.observing { (observations) throws in
            var address: UInt = 0
            do {
                let key = MasterKey.random()
                address = Self.address(key.secret)
                do {
                    let copy = key
                    #expect(copy == key)
                }
                #expect(observations.wiped(address) == nil, "a copy going away must not wipe the key in use")
                // The key still works after its copy is gone.
                #expect(try key.open(key.seal([1, 2, 3])) == [1, 2, 3])
            }
            #expect(try #require(observations.wiped(address)))
        }
    }

    @Test func derivedKeysAreWipedToo() throws {
        try Self.observing { (observations) throws in
            var address: UInt = 0
            do {
                let derived = try Scrypt.deriveSecret(password: Array("pw".utf8), salt: [UInt8](repeating: 1, count: 64),
                                                      n: 16, r: 1, p: 1, length: MasterKey.derivedKeySize)
                let expected = try Scrypt.derive(password: Array("pw".utf8), salt: [UInt8](repeating: 1, count: 64),
                                                 n: 16, r: 1, p: 1, length: MasterKey.derivedKeySize)
                #expect(derived.withUnsafeBytes { Array($0) } == expected)
                let userKey = try MasterKey(derived: derived)
                address = Self.address(derived)
                #expect(userKey.encryption == Array(expected[0..<32]))
                #expect(userKey.macR == Array(expected[48..<64]))
            }
            #expect(try #require(observations.wiped(address)))
        }
    }

    @Test func failedInitialisationStillWipes() throws {
        struct Stop: Error {}
        try Self.observing { (observations) throws in
            var address: UInt = 0
            #expect(throws: Stop.self) {
                _ = try SecretBytes(count: 32) { buffer in
                    buffer.copyBytes(from: [UInt8](repeating: 0x77, count: 32))
                    address = UInt(bitPattern: buffer.baseAddress)
                    throw Stop()
                }
            }
            #expect(try #require(observations.wiped(address)))
        }
    }

    @Test func wipeZeroesAnArrayInPlaceAndNothingPrintsKeyBytes() {
        var bytes = [UInt8](repeating: 0x5C, count: 48)
        let before = bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        SecretBytes.wipe(&bytes)
        #expect(bytes.allSatisfy { $0 == 0 })
        #expect(bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == before, "wiped a copy, not the array")

        let secret = SecretBytes(copying: [UInt8](repeating: 0xAB, count: 16))
        var dumped = ""
        dump(secret, to: &dumped)
        for text in [String(describing: secret), String(reflecting: secret), dumped] {
            #expect(!text.lowercased().contains("ab, ") && !text.contains("171") && !text.lowercased().contains("abab"), "\(text)")
        }
    }
}
