internal import CLibCrypto

/// Reusable per-worker context (owns the EVP contexts, not Sendable); the hot path of backup/restore uses it.
///
/// Objects are `IV(16) ‖ AES-256-CTR(ciphertext) ‖ Poly1305-AES(ciphertext)(16)`, byte-compatible
/// with restic. Keep one context per task or thread; it performs no allocations of its own per call.
public final class CryptoContext {
    private let ctr: CipherContext
    private let mac: Poly1305AESContext
    /// IV(16) ‖ tag(16) scratch, so seal/open need no temporary arrays.
    private let scratch: UnsafeMutableRawPointer

    /// Aborts only if OpenSSL cannot create contexts at all (out of memory, provider missing).
    public init(key: MasterKey) {
        let made = OpenSSL.mustSucceed { () throws(CryptoError) -> (CipherContext, Poly1305AESContext) in
            // Keyed from the key's own storage: no copy of the key bytes is made here.
            try key.withParts { (encryption, macK, macR) throws(CryptoError) in
                (try CipherContext(cipher: Algorithms.aes256CTR, key: encryption),
                 try Poly1305AESContext(k: macK, r: macR))
            }
        }
        ctr = made.0
        mac = made.1
        scratch = .allocate(byteCount: 32, alignment: 16)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: 32)
    }

    deinit {
        scratch.deallocate()
    }

    // MARK: Sealing

    /// Appends `IV ‖ ciphertext ‖ MAC` of `plaintext` to `out` with a fresh random IV.
    /// `plaintext` must not point into `out`'s storage.
    public func seal(_ plaintext: UnsafeRawBufferPointer, appendingTo out: inout [UInt8]) {
        let sealedCount = plaintext.count + MasterKey.overhead
        if out.isEmpty && out.capacity < sealedCount {
            // A new buffer is needed anyway: encrypt straight into it, skipping the plaintext copy.
            out = seal(plaintext)
            return
        }
        let start = out.count
        SecureRandom.fillNonZero(scratch, count: MasterKey.ivSize)
        out.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: MasterKey.ivSize))
        out.append(contentsOf: plaintext)
        out.append(contentsOf: UnsafeRawBufferPointer(start: scratch + MasterKey.ivSize, count: MasterKey.macSize))
        OpenSSL.mustSucceed { () throws(CryptoError) in
            try out.withMutableBytes { (buffer) throws(CryptoError) in
                guard let base = buffer.baseAddress else { return }
                let object = base + start
                try sealBody(from: object + MasterKey.ivSize, to: object, count: plaintext.count)
            }
        }
    }

    /// Returns `IV ‖ ciphertext ‖ MAC` of `plaintext` in a new array.
    public func seal(_ plaintext: UnsafeRawBufferPointer) -> [UInt8] {
        let sealedCount = plaintext.count + MasterKey.overhead
        return OpenSSL.mustSucceed { () throws(CryptoError) -> [UInt8] in
            try [UInt8](unsafeUninitializedCapacity: sealedCount) { (buffer, count) throws(CryptoError) in
                guard let object = buffer.baseAddress else { return }
                SecureRandom.fillNonZero(object, count: MasterKey.ivSize)
                let source = plaintext.baseAddress.map { UnsafeRawPointer($0) }
                try sealBody(from: source, to: UnsafeMutableRawPointer(object), count: plaintext.count)
                count = sealedCount
            }
        }
    }

    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        plaintext.withUnsafeBytes { seal($0) }
    }

    /// Writes `IV ‖ ciphertext ‖ MAC` of `plaintext` to `object`, which must have room for
    /// `plaintext.count + MasterKey.overhead` bytes. `plaintext` may already sit at
    /// `object + MasterKey.ivSize` (CTR encrypts in place), so a blob compressed straight into a
    /// pack buffer is sealed there without a second buffer; any other overlap is not allowed.
    /// Returns the sealed length.
    @discardableResult
    public func seal(_ plaintext: UnsafeRawBufferPointer, into object: UnsafeMutableRawPointer) -> Int {
        SecureRandom.fillNonZero(object, count: MasterKey.ivSize)
        let source = plaintext.baseAddress.map { UnsafeRawPointer($0) }
        OpenSSL.mustSucceed { () throws(CryptoError) in
            try sealBody(from: source, to: object, count: plaintext.count)
        }
        return plaintext.count + MasterKey.overhead
    }

    /// `object` already holds the IV; encrypts `count` bytes from `source` (which may equal the
    /// ciphertext slot, for in-place use) and writes the MAC after them.
    @inline(never)
    private func sealBody(from source: UnsafeRawPointer?, to object: UnsafeMutableRawPointer,
                          count: Int) throws(CryptoError) {
        let body = object + MasterKey.ivSize
        if count > 0, let source {
            try ctr.restart(iv: object)
            try ctr.update(source, body, count: count)
        }
        try mac.tag(of: UnsafeRawBufferPointer(start: body, count: count), nonce: object, into: body + count)
    }

    // MARK: Opening

    /// Replaces `out`'s contents with the plaintext. The MAC is verified (in constant time) before
    /// anything is decrypted; on a length, IV or MAC error `out` is left unchanged.
    /// `sealed` must not point into `out`'s storage.
    public func open(_ sealed: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(CryptoError) {
        let ciphertext = try authenticate(sealed)
        guard let iv = sealed.baseAddress, !ciphertext.isEmpty else {
            out.removeAll(keepingCapacity: true)
            return
        }
        if out.capacity < ciphertext.count {
            out = try decryptToNewArray(ciphertext, iv: iv)
            return
        }
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: ciphertext)
        do throws(CryptoError) {
            try out.withMutableBytes { (buffer) throws(CryptoError) in
                guard let base = buffer.baseAddress else { return }
                // The ciphertext was copied into place first, so CTR runs in place.
                try decrypt(from: UnsafeRawPointer(base), to: base, count: ciphertext.count, iv: iv)
            }
        } catch {
            out.removeAll(keepingCapacity: true)
            throw error
        }
    }

    /// Returns the plaintext of `sealed` in a new array, after verifying the MAC.
    public func open(_ sealed: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        let ciphertext = try authenticate(sealed)
        guard let iv = sealed.baseAddress, !ciphertext.isEmpty else { return [] }
        return try decryptToNewArray(ciphertext, iv: iv)
    }

    public func open(_ sealed: [UInt8]) throws(CryptoError) -> [UInt8] {
        try sealed.withBytes { (buffer) throws(CryptoError) -> [UInt8] in try open(buffer) }
    }

    /// Verifies the MAC, then decrypts `sealed` a window at a time, handing each piece of
    /// plaintext to `body` in order: reading back a multi-megabyte blob needs no buffer its size.
    /// Stops as soon as `body` returns false and returns false then.
    public func open(_ sealed: UnsafeRawBufferPointer, piecesThrough window: UnsafeMutableRawBufferPointer,
                     _ body: (UnsafeRawBufferPointer) -> Bool) throws(CryptoError) -> Bool {
        let ciphertext = try authenticate(sealed)
        guard let iv = sealed.baseAddress, let source = ciphertext.baseAddress, !ciphertext.isEmpty else { return true }
        guard let target = window.baseAddress, window.count > 0 else {
            throw .invalidParameters("decryption window is empty")
        }
        try ctr.restart(iv: iv)
        var done = 0
        while done < ciphertext.count {
            let n = min(window.count, ciphertext.count - done)
            // CTR keeps its counter position across updates, so the pieces join up.
            try ctr.update(source + done, target, count: n)
            guard body(UnsafeRawBufferPointer(start: target, count: n)) else { return false }
            done += n
        }
        return true
    }

    /// Checks length, IV and MAC; returns the ciphertext part of `sealed`.
    @inline(never)
    private func authenticate(_ sealed: UnsafeRawBufferPointer) throws(CryptoError) -> UnsafeRawBufferPointer {
        guard sealed.count >= MasterKey.overhead, let base = sealed.baseAddress else {
            throw .ciphertextTooShort
        }
        let count = sealed.count - MasterKey.overhead
        guard !isAllZero(UnsafeRawBufferPointer(start: base, count: MasterKey.ivSize)) else {
            throw .invalidParameters("the object's IV is all zero, which restic never writes")
        }
        let ciphertext = UnsafeRawBufferPointer(start: base + MasterKey.ivSize, count: count)
        let computed = scratch + MasterKey.ivSize
        try mac.tag(of: ciphertext, nonce: base, into: computed)
        let stored = UnsafeRawBufferPointer(start: base + MasterKey.ivSize + count, count: MasterKey.macSize)
        guard constantTimeEqual(UnsafeRawBufferPointer(start: computed, count: MasterKey.macSize), stored) else {
            throw .authenticationFailed
        }
        return ciphertext
    }

    private func decryptToNewArray(_ ciphertext: UnsafeRawBufferPointer,
                                   iv: UnsafeRawPointer) throws(CryptoError) -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: ciphertext.count) { (buffer, count) throws(CryptoError) in
            guard let target = buffer.baseAddress, let source = ciphertext.baseAddress else { return }
            try decrypt(from: source, to: UnsafeMutableRawPointer(target), count: ciphertext.count, iv: iv)
            count = ciphertext.count
        }
    }

    @inline(never)
    private func decrypt(from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer,
                         count: Int, iv: UnsafeRawPointer) throws(CryptoError) {
        try ctr.restart(iv: iv)
        try ctr.update(source, target, count: count)
    }
}

/// Owns mutable C state; share a `MasterKey` across tasks and give each its own context.
@available(*, unavailable)
extension CryptoContext: Sendable {}
