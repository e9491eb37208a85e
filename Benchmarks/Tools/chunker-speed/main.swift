// Chunker throughput on deterministic bytes, to compare with restic's Go chunker
// (Benchmarks/chunker-vs-go.sh runs both on the same bytes):
//   chunker-speed [MIB] [ROUNDS] [SEED]      (defaults: 256, 5, 1)
// The bytes are splitmix64(SEED) words written little-endian; the polynomial is 0x3DA3358B4DC173
// (the one restic's chunker tests use). Prints the chunk count and an FNV-1a hash of the chunk
// end offsets, so the two implementations can be checked for identical cut points.
import Foundation
import ResticChunker

let arguments = CommandLine.arguments
let mebibytes = arguments.count > 1 ? Int(arguments[1]) ?? 256 : 256
let rounds = arguments.count > 2 ? max(1, Int(arguments[2]) ?? 5) : 5
let seed = arguments.count > 3 ? UInt64(arguments[3]) ?? 1 : 1
let size = mebibytes << 20

func splitmixBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { out in
        var i = 0
        while i < count {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            z ^= z >> 31
            for k in 0..<min(8, count - i) { out[i + k] = UInt8(truncatingIfNeeded: z >> (8 * UInt64(k))) }
            i += 8
        }
    }
    return bytes
}

/// FNV-1a over each chunk end offset as 8 little-endian bytes.
func boundaryHash(_ lengths: [Int]) -> UInt64 {
    var hash: UInt64 = 0xcbf29ce484222325
    var end: UInt64 = 0
    for length in lengths {
        end += UInt64(length)
        for k in 0..<8 {
            hash ^= (end >> (8 * UInt64(k))) & 0xff
            hash = hash &* 0x100000001b3
        }
    }
    return hash
}

let data = splitmixBytes(size, seed: seed)
let polynomial = Polynomial(0x3DA3358B4DC173)
_ = Chunker(polynomial: polynomial) // builds the tables outside the timed rounds, as Go's cache does
var best = Double.infinity
var lengths: [Int] = []
for _ in 0..<rounds {
    let start = DispatchTime.now().uptimeNanoseconds
    lengths = data.withUnsafeBytes { chunkLengths(of: $0, polynomial: polynomial) }
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}
print(String(format: "swift chunker: %d MiB, %d chunks, boundaries %016llx, best of %d: %.3f s, %.1f MB/s",
             mebibytes, lengths.count, boundaryHash(lengths), rounds, best, Double(size) / best / 1e6))
