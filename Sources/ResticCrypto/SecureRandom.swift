internal import CLibCrypto

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    /// `count` random bytes. Aborts only if the system RNG is broken: continuing without
    /// randomness would produce repeated IVs and weak keys.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "SecureRandom.bytes: negative count \(count)")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { fill(base, count: count) }
            initialized = count
        }
    }

    /// Fills `count` bytes at `pointer`.
    @inline(never)
    static func fill(_ pointer: UnsafeMutableRawPointer, count: Int) {
        var done = 0
        while done < count {
            let n = min(count - done, Int(Int32.max))
            let target = (pointer + done).assumingMemoryBound(to: UInt8.self)
            do throws(CryptoError) {
                try OpenSSL.check(RAND_bytes(target, Int32(n)), "RAND_bytes")
            } catch {
                fatalError("the random number generator failed: \(error)")
            }
            done += n
        }
    }

    /// Fills `count` bytes, drawing again if they came out all zero (restic refuses a zero IV).
    static func fillNonZero(_ pointer: UnsafeMutableRawPointer, count: Int) {
        repeat {
            fill(pointer, count: count)
        } while isAllZero(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
