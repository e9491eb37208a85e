/// The CRC-64 Redis puts at the end of an RDB file: the Jones polynomial, reflected, initial
/// value 0, no final xor ("123456789" → 0xe9c6d914c4b8d9ca). Slicing-by-8, so checking a large
/// RDB costs little next to reading it.
public struct CRC64: Sendable {
    public private(set) var value: UInt64 = 0

    public init() {}

    static let tables: [[UInt64]] = {
        let reflectedPolynomial: UInt64 = 0x95ac_9329_ac4b_c9b5
        var first = [UInt64](repeating: 0, count: 256)
        for i in 0..<256 {
            var crc = UInt64(i)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1 }
            first[i] = crc
        }
        var tables = [first]
        for k in 1..<8 {
            tables.append((0..<256).map { i in
                let previous = tables[k - 1][i]
                return (previous >> 8) ^ first[Int(previous & 0xff)]
            })
        }
        return tables
    }()

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        var crc = value
        Self.tables.withUnsafeBufferPointer { t in
            let t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7]
            while remaining >= 8 {
                crc ^= UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self))
                crc = t7[Int(crc & 0xff)] ^ t6[Int((crc >> 8) & 0xff)] ^ t5[Int((crc >> 16) & 0xff)]
                    ^ t4[Int((crc >> 24) & 0xff)] ^ t3[Int((crc >> 32) & 0xff)] ^ t2[Int((crc >> 40) & 0xff)]
                    ^ t1[Int((crc >> 48) & 0xff)] ^ t0[Int(crc >> 56)]
                pointer += 8
                remaining -= 8
            }
            while remaining > 0 {
                crc = t0[Int((crc ^ UInt64(pointer.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
                pointer += 1
                remaining -= 1
            }
        }
        value = crc
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var crc = CRC64()
        crc.update(bytes)
        return crc.value
    }
}
