import Benchmark
import Foundation
import ResticChunker
import ResticCompress
import ResticCore
import ResticCrypto
import ResticRepository

/// Throughput of each stage of the backup and restore pipelines, on 8 MiB of pseudo-random
/// bytes (and on text where compression matters). Throughput metrics count bytes processed.
let benchmarks: @Sendable () -> Void = {
    let size = 8 << 20
    let random = Bytes.random(size)
    let text = Bytes.text(size)
    let key = MasterKey.random()
    let polynomial = Polynomial(0x3DA3358B4DC173)
    let configuration = Benchmark.Configuration(metrics: [.throughput, .wallClock, .peakMemoryResident],
                                                scalingFactor: .one, maxDuration: .seconds(3))

    Benchmark("chunker 8 MiB", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            random.withUnsafeBytes { blackHole(chunkLengths(of: $0, polynomial: polynomial)) }
        }
    }
    Benchmark("sha256 8 MiB", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(SHA256.digest(random)) }
    }
    Benchmark("seal 8 MiB (AES-256-CTR + Poly1305-AES)", configuration: configuration) { benchmark in
        let context = CryptoContext(key: key)
        var out: [UInt8] = []
        for _ in benchmark.scaledIterations {
            out.removeAll(keepingCapacity: true)
            random.withUnsafeBytes { context.seal($0, appendingTo: &out) }
            blackHole(out)
        }
    }
    let sealed = key.seal(random)
    Benchmark("open 8 MiB", configuration: configuration) { benchmark in
        let context = CryptoContext(key: key)
        var out: [UInt8] = []
        for _ in benchmark.scaledIterations {
            try sealed.withUnsafeBytes { try context.open($0, into: &out) }
            blackHole(out)
        }
    }
    for level: Int32 in [1, 3] {
        Benchmark("zstd level \(level) compress 8 MiB text", configuration: configuration) { benchmark in
            let compressor = try ZstdCompressor(level: level)
            for _ in benchmark.scaledIterations { blackHole(try compressor.compress(text)) }
        }
    }
    let compressed = try! ZstdCompressor(level: 3).compress(text)
    Benchmark("zstd decompress 8 MiB text", configuration: configuration) { benchmark in
        let decompressor = try ZstdDecompressor()
        for _ in benchmark.scaledIterations {
            blackHole(try decompressor.decompress(compressed, expectedSize: size, limit: size))
        }
    }

    let blobs = (0..<1_000_000).map { i in ObjectID(bytes: SHA256.digest(Array("blob \(i)".utf8))) }
    Benchmark("index build 1M blobs", configuration: .init(metrics: [.wallClock, .peakMemoryResident], maxDuration: .seconds(5))) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(Bytes.index(blobs)) }
    }
    let index = Bytes.index(blobs)
    Benchmark("index lookup", configuration: .init(metrics: [.throughput, .wallClock], scalingFactor: .kilo)) { benchmark in
        var found = 0
        for i in benchmark.scaledIterations where index.contains(blobs[i % blobs.count], .data) { found += 1 }
        blackHole(found)
    }

    let tree = Bytes.tree(nodes: 1000)
    let encoded = tree.encode()
    Benchmark("tree encode 1000 nodes", configuration: .init(metrics: [.throughput, .wallClock])) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(tree.encode()) }
    }
    Benchmark("tree decode 1000 nodes", configuration: .init(metrics: [.throughput, .wallClock])) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try Tree.decode(encoded)) }
    }
}

enum Bytes {
    static func random(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E3779B97F4A7C15
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    static func text(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var n = 0
        while out.count < count {
            out += Array("2026-11-26T12:00:\(n % 60)Z INFO request id=\(n &* 2654435761 % 100000) status=200\n".utf8)
            n += 1
        }
        return Array(out.prefix(count))
    }

    static func index(_ blobs: [ObjectID]) -> MasterIndex {
        var index = MasterIndex()
        let packs = stride(from: 0, to: blobs.count, by: 1000).map { start in
            IndexPack(id: blobs[start], blobs: (start..<min(start + 1000, blobs.count)).map {
                IndexBlob(id: blobs[$0], type: .data, offset: UInt32(($0 - start) * 100), length: 100)
            })
        }
        index.add(IndexFile(packs: packs), from: .zero)
        index.finalize()
        return index
    }

    static func tree(nodes count: Int) -> Tree {
        let time = GoTime(seconds: 1_700_000_000, nanoseconds: 123_456_789, utcOffset: 0)
        return Tree(nodes: (0..<count).map { i in
            var node = Node(name: Array(String(format: "file-%05d.txt", i).utf8), type: "file")
            node.mode = 0o644
            node.mtime = time; node.atime = time; node.ctime = time
            node.uid = 1000; node.gid = 1000
            node.user = "user"; node.group = "group"
            node.inode = UInt64(1000 + i); node.deviceID = 2049; node.size = 4096; node.links = 1
            node.content = [ObjectID(bytes: SHA256.digest(Array("\(i)".utf8)))]
            return node
        })
    }
}
