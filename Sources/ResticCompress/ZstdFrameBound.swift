/// Reads only the frame and block headers of zstd data (RFC 8878) to bound how much it can
/// decode to, so a decoder sizes its output by what the input really holds, not by the content
/// size a (possibly hostile) frame header claims.
public enum ZstdFrameBound {
    /// Largest output one block can produce (`ZSTD_BLOCKSIZE_MAX`).
    public static let maxBlockSize = 128 * 1024

    /// What the headers of `input` say about its decoded size.
    public struct Summary: Sendable, Equatable {
        /// Upper bound on the bytes all frames together can decode to: raw and RLE blocks count
        /// their exact size, compressed blocks `maxBlockSize`.
        public var maxDecodedSize: Int
        /// The sum of the content sizes the frame headers declare, nil when a frame has none.
        public var declaredSize: UInt64?

        public init(maxDecodedSize: Int, declaredSize: UInt64?) {
            self.maxDecodedSize = maxDecodedSize
            self.declaredSize = declaredSize
        }
    }

    /// Walks every frame (skippable ones too). Returns nil when the headers are malformed or
    /// cut short; the caller then lets libzstd name the error.
    ///
    /// The walk checks only structure and is never stricter than libzstd, so where it stops,
    /// libzstd stops too, before it could reach a later frame the walk has not vetted.
    public static func summarize(_ input: UnsafeRawBufferPointer) -> Summary? {
        if case .frames(let summary) = walk(input) { return summary }
        return nil
    }

    enum Walk: Equatable {
        case frames(Summary)
        /// A frame starts with a magic number that is neither zstd's nor a skippable frame's
        /// (libzstd would try its legacy v0.x decoders, which size buffers by their headers).
        case unknownMagic(offset: Int, magic: UInt32)
        case malformed
    }

    static func walk(_ input: UnsafeRawBufferPointer) -> Walk {
        var pos = 0
        var bound = 0
        var declared: UInt64? = 0
        guard !input.isEmpty else { return .malformed }
        while pos < input.count {
            guard let magic = le(input, pos, 4) else { return .malformed }
            pos += 4
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                guard let size = le(input, pos, 4), input.count - pos - 4 >= Int(size) else { return .malformed }
                pos += 4 + Int(size)
                continue
            }
            guard magic == 0xFD2F_B528 else { return .unknownMagic(offset: pos - 4, magic: UInt32(magic)) }
            guard pos < input.count else { return .malformed }
            let descriptor = input[pos]
            pos += 1
            guard descriptor & 0x08 == 0 else { return .malformed }  // reserved bit
            let singleSegment = descriptor & 0x20 != 0
            let fcsFlag = Int(descriptor >> 6)
            let dictIDSize = [0, 1, 2, 4][Int(descriptor & 0x03)]
            let fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]
            if !singleSegment { pos += 1 }  // window descriptor
            pos += dictIDSize
            guard pos <= input.count else { return .malformed }
            if fcsSize > 0 {
                guard var size = le(input, pos, fcsSize) else { return .malformed }
                if fcsSize == 2 { size += 256 }
                declared = declared.flatMap { d in d.addingReportingOverflow(size).overflow ? nil : d + size }
                pos += fcsSize
            } else {
                declared = nil
            }
            var last = false
            while !last {
                guard let header = le(input, pos, 3) else { return .malformed }
                pos += 3
                last = header & 1 != 0
                let size = Int(header >> 3)
                // libzstd refuses any block above 128 KiB too (`Block_Maximum_Size`).
                guard size <= maxBlockSize else { return .malformed }
                switch (header >> 1) & 3 {
                case 0:  // raw: `size` bytes copied
                    guard input.count - pos >= size else { return .malformed }
                    pos += size
                    bound += size
                case 1:  // RLE: one byte repeated `size` times
                    guard pos < input.count else { return .malformed }
                    pos += 1
                    bound += size
                case 2:  // compressed: at most one full block
                    guard input.count - pos >= size else { return .malformed }
                    pos += size
                    bound += maxBlockSize
                default:
                    return .malformed
                }
            }
            if descriptor & 0x04 != 0 {  // content checksum
                guard input.count - pos >= 4 else { return .malformed }
                pos += 4
            }
        }
        return .frames(Summary(maxDecodedSize: bound, declaredSize: declared))
    }

    public static func summarize(_ input: [UInt8]) -> Summary? {
        input.withUnsafeBytes { summarize($0) }
    }

    /// Little-endian unsigned integer of `count` bytes at `at`, nil past the end.
    private static func le(_ p: UnsafeRawBufferPointer, _ at: Int, _ count: Int) -> UInt64? {
        guard at >= 0, p.count - at >= count else { return nil }
        var v: UInt64 = 0
        for i in (0..<count).reversed() { v = v << 8 | UInt64(p[at + i]) }
        return v
    }
}
