/// Deterministic test data. `compressible` repeats short phrases, `noise` is LCG output.
func compressible(_ count: Int) -> [UInt8] {
    let words = Array("restic stores blobs in packs; zstd frames hold trees and data. ".utf8)
    return (0..<count).map { words[($0 * 7 + $0 / 1000) % words.count] }
}

func noise(_ count: Int, seed: UInt32 = 1) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

/// A zstd frame built by hand from raw blocks, with no content-size field and no checksum
/// (frame header descriptor 0x00, window descriptor 0x58 = 2 MiB window). Independent of libzstd's encoder.
func handMadeFrame(_ payload: [UInt8], blockSize: Int = 1000) -> [UInt8] {
    var frame: [UInt8] = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]
    var offset = 0
    repeat {
        let size = min(blockSize, payload.count - offset)
        let last: UInt32 = offset + size == payload.count ? 1 : 0
        let header = UInt32(size) << 3 | 0 << 1 | last  // block type 0 = raw
        frame += [UInt8(header & 0xff), UInt8(header >> 8 & 0xff), UInt8(header >> 16 & 0xff)]
        frame += payload[offset..<(offset + size)]
        offset += size
    } while offset < payload.count
    return frame
}

/// Frame header descriptor bits: does the frame carry a content size / a checksum?
func frameFlags(_ frame: [UInt8]) -> (hasContentSize: Bool, hasChecksum: Bool) {
    let descriptor = frame[4]
    let fcsFlag = descriptor >> 6
    let singleSegment = descriptor >> 5 & 1 == 1
    return (fcsFlag != 0 || singleSegment, descriptor >> 2 & 1 == 1)
}
