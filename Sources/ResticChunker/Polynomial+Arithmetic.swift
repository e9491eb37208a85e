// Arithmetic in GF(2)[x] on polynomials that fit 64 bits. Nothing here traps: where restic's Go code
// panics (division by zero, products wider than 64 bits) these functions return a defined value
// instead, documented on each.

extension Polynomial {
    /// Sum (and difference) in GF(2): XOR of the coefficients.
    public static func + (lhs: Polynomial, rhs: Polynomial) -> Polynomial {
        Polynomial(lhs.value ^ rhs.value)
    }

    /// Quotient and remainder of `self / divisor`; dividing by zero gives quotient 0 and remainder `self`.
    public func divMod(_ divisor: Polynomial) -> (quotient: Polynomial, remainder: Polynomial) {
        let divisorDegree = divisor.degree
        guard divisorDegree >= 0 else {
            return (Polynomial(0), self)
        }
        var remainder = value
        var quotient: UInt64 = 0
        var shift = (63 - remainder.leadingZeroBitCount) - divisorDegree
        while remainder != 0, shift >= 0 {
            remainder ^= divisor.value << UInt64(shift)
            quotient |= 1 << UInt64(shift)
            shift = (63 - remainder.leadingZeroBitCount) - divisorDegree
        }
        return (Polynomial(quotient), Polynomial(remainder))
    }

    /// Remainder of `self / divisor` (`self` when the divisor is zero).
    public func modulo(_ divisor: Polynomial) -> Polynomial {
        divMod(divisor).remainder
    }

    /// Greatest common divisor (Euclid); gcd(f, 0) = f.
    public func gcd(_ other: Polynomial) -> Polynomial {
        var a = self
        var b = other
        while b.value != 0 {
            (a, b) = (b, a.modulo(b))
        }
        return a
    }

    /// `self * factor mod modulus`, with no intermediate wider than the modulus; the zero modulus yields 0.
    public func mulMod(_ factor: Polynomial, modulus: Polynomial) -> Polynomial {
        let modulusDegree = modulus.degree
        guard modulusDegree >= 1 else {
            // Everything is 0 modulo a constant; modulo zero there is no reduction, defined here as 0.
            return Polynomial(0)
        }
        let top: UInt64 = 1 << UInt64(modulusDegree)
        var addend = modulo(modulus).value
        var rest = factor.value
        var result: UInt64 = 0
        while rest != 0 {
            if rest & 1 != 0 {
                result ^= addend
            }
            rest >>= 1
            // addend < top <= 2^63, so the shift cannot lose a coefficient.
            addend <<= 1
            if addend & top != 0 {
                addend ^= modulus.value
            }
        }
        return Polynomial(result)
    }

    /// `(self * x^8 + byte) mod modulus`: appending one byte to a Rabin fingerprint, the slow way.
    func appendingByte(_ byte: UInt8, modulus: Polynomial) -> Polynomial {
        Polynomial((value << 8) | UInt64(byte)).modulo(modulus)
    }
}
