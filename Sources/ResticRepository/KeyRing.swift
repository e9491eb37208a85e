#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticCrypto

/// Key files: each wraps the one master key with a key derived from a password by scrypt.
public enum KeyRing {
    public struct ScryptParameters: Sendable, Equatable {
        public var n: Int, r: Int, p: Int
        public init(n: Int, r: Int, p: Int) { self.n = n; self.r = r; self.p = p }
    }

    /// Tries key files until one opens with `password`. A hint (ID prefix) is tried first.
    /// Keys with expensive parameters cost time each, so the hint matters on big key sets.
    static func unlock(_ backend: any Backend, password: String, hint: String?) async throws -> (ObjectID, MasterKey) {
        var ids = try await backend.list(.key).compactMap { ObjectID(hex: $0.name) }
        if let hint {
            // A stable partition: the hinted keys first, the rest in listing order.
            ids = ids.filter { $0.hex.hasPrefix(hint) } + ids.filter { !$0.hex.hasPrefix(hint) }
        }
        guard !ids.isEmpty else {
            throw ResticError(.noRepository, "\(backend.location): no key files found in keys/")
        }
        var lastError: ResticError?
        for id in ids {
            do {
                let bytes = try await backend.load(FileHandle(.key, id))
                if let key = try open(bytes, keyID: id, password: password) { return (id, key) }
            } catch let error as ResticError {
                lastError = error  // a damaged key file must not hide a good one
            }
        }
        if let lastError, lastError.kind != .wrongPassword, ids.count == 1 { throw lastError }
        throw ResticError(.wrongPassword, "wrong password or no key found")
    }

    /// Returns the master key, nil if the password does not open this key file.
    static func open(_ bytes: [UInt8], keyID: ObjectID, password: String) throws -> MasterKey? {
        let file: KeyFile
        do {
            file = try KeyFile.decode(bytes)
        } catch {
            throw ResticError.corrupt("key \(keyID.hex): \(error)")
        }
        guard file.salt.count == 64 else { throw ResticError.corrupt("key \(keyID.hex): invalid salt bytes") }
        let derived: SecretBytes
        do {
            derived = try withPasswordBytes(password) { (bytes) throws(CryptoError) in
                try Scrypt.deriveSecret(password: bytes, salt: file.salt, n: file.n, r: file.r, p: file.p, length: 64)
            }
        } catch {
            throw ResticError.corrupt("key \(keyID.hex): \(error)")
        }
        let userKey = try MasterKey(derived: derived)
        guard var plaintext = try? userKey.open(file.data) else { return nil }
        defer { SecretBytes.wipe(&plaintext) }
        do {
            var json = try MasterKeyJSON.decode(plaintext)
            defer { json.wipe() }
            return try MasterKey(encryption: json.encrypt, macK: json.macK, macR: json.macR)
        } catch {
            throw ResticError.corrupt("key \(keyID.hex): master key: \(error)")
        }
    }

    /// The password's UTF-8 bytes in an array that is wiped after use. (The `String` itself
    /// cannot be wiped; it lives as long as the command does.)
    static func withPasswordBytes<R>(_ password: String, _ body: ([UInt8]) throws(CryptoError) -> R) throws(CryptoError) -> R {
        var bytes = Array(password.utf8)
        defer { SecretBytes.wipe(&bytes) }
        return try body(bytes)
    }

    /// Writes a new key file that wraps `master` with `password`; returns its ID.
    public static func add(_ backend: any Backend, master: MasterKey, password: String,
                           parameters: ScryptParameters, username: String? = nil,
                           hostname: String? = nil) async throws -> ObjectID {
        let salt = SecureRandom.bytes(64)
        let derived = try withPasswordBytes(password) { (bytes) throws(CryptoError) in
            try Scrypt.deriveSecret(password: bytes, salt: salt, n: parameters.n, r: parameters.r, p: parameters.p, length: 64)
        }
        let userKey = try MasterKey(derived: derived)
        var json = MasterKeyJSON(encrypt: master.encryption, macK: master.macK, macR: master.macR)
        var plaintext = json.encode()
        let wrapped = userKey.seal(plaintext)
        SecretBytes.wipe(&plaintext)
        json.wipe()
        let file = KeyFile(created: GoTime.now().rfc3339, username: username ?? currentUserName(),
                           hostname: hostname ?? currentHostName(), kdf: "scrypt",
                           n: parameters.n, r: parameters.r, p: parameters.p, salt: salt, data: wrapped)
        let bytes = file.encode()
        let id = ObjectID(bytes: SHA256.digest(bytes))
        try await backend.save(FileHandle(.key, id), data: bytes)
        return id
    }

    /// Calibrates scrypt like restic: start from N=2^14 r=8 p=1 and raise N while one derivation
    /// stays under about half a second and 60 MiB, so keys are as costly to attack as restic's.
    /// The time is one lane's on one core, as restic measures it: that `ScryptMix` then runs the
    /// lanes on several cores makes opening faster, not the key weaker.
    public static func calibrate(targetSeconds: Double = 0.5, maxMemory: Int = 60 << 20) -> ScryptParameters {
        let r = 8
        var n = 1 << 14
        let salt = [UInt8](repeating: 7, count: 64)
        // The best of three single-lane runs: one run alone swings by 2x with page faults and
        // scheduling, and the p it gives with it (seen from 4 to 12).
        var elapsed = Double.infinity
        for _ in 0..<3 {
            let start = monotonicSeconds()
            _ = try? Scrypt.derive(password: [1], salt: salt, n: n, r: r, p: 1, length: 64)
            elapsed = min(elapsed, max(monotonicSeconds() - start, 1e-4))
        }
        // Cost is linear in N: scale up by powers of two within the time and memory budget.
        var p = 1
        func cost(_ n: Int, _ p: Int) -> Double { Double(n) / Double(1 << 14) * Double(p) * elapsed }
        while cost(n * 2, p) <= targetSeconds && 128 * r * n * 2 <= maxMemory { n *= 2 }
        // Memory caps N; spend the rest of the time budget on parallelism, as simple-scrypt does.
        while cost(n, p + 1) <= targetSeconds && p < 16 { p += 1 }
        return ScryptParameters(n: n, r: r, p: p)
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func currentUserName() -> String {
        UserDatabase.userName(getuid()) ?? ""
    }

    public static func currentHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "" }
        return String(cString: buffer)
    }
}
