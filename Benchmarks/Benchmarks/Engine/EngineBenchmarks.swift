import Benchmark
import Foundation
import ResticBackends
import ResticChunker
import ResticCompress
import ResticCore
import ResticCrypto
import ResticRepository

/// Throughput of each stage of the backup and restore pipelines, on 8 MiB of pseudo-random
/// bytes (and on text where compression matters). Throughput is iterations per second: times the
/// size per iteration for bytes per second (Benchmarks/README.md has them converted).
let benchmarks: @Sendable () -> Void = {
    let size = 8 << 20
    let random = Bytes.random(size)
    let text = Bytes.text(size)
    let key = MasterKey.random()
    let polynomial = Polynomial(0x3DA3358B4DC173)
    let configuration = Benchmark.Configuration(metrics: [.throughput, .wallClock, .peakMemoryResident, .mallocCountTotal],
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

    Benchmark("pack assembly 16 MiB (16 × 1 MiB blobs: seal, header, SHA-256)", configuration: configuration) { benchmark in
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-pack-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Setup outside the measurement: a throwaway repository only provides the key.
        let repository = try await Repository.initialize(LocalBackend(path: folder), password: "bench",
                                                         scrypt: KeyRing.ScryptParameters(n: 1024, r: 8, p: 1))
        let writer = RepositoryWriter(repository: IndexedRepository(repository: repository, index: MasterIndex()))
        let packer = BlobPacker(writer: writer, sealer: try BlobSealer(repository: repository, compression: .off, verify: false))
        let ids = (0..<16).map { ObjectID(w0: UInt64($0), w1: 1, w2: 2, w3: 3) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var packs = 0
            for (k, id) in ids.enumerated() {
                let blob = (k % 8) << 20 ..< (k % 8 + 1) << 20
                let full = try random.withUnsafeBytes { try packer.append(UnsafeRawBufferPointer(rebasing: $0[blob]), id: id).full }
                if let full { packs += 1; blackHole(full) }
            }
            precondition(packs == 1, "16 MiB of blobs must fill exactly one pack")
        }
        benchmark.stopMeasurement()
    }

    let blobs = (0..<1_000_000).map { i in ObjectID(bytes: SHA256.digest(Array("blob \(i)".utf8))) }
    let indexFile = Bytes.indexFile(blobs)
    Benchmark("index insert 1M blobs (add + finalize)",
              configuration: .init(metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal], maxDuration: .seconds(5))) { benchmark in
        for _ in benchmark.scaledIterations {
            var index = MasterIndex()
            index.add(indexFile, from: .zero)
            index.finalize()
            blackHole(index)
        }
    }
    let index = Bytes.index(indexFile)
    let strangers = (0..<1_000_000).map { i in ObjectID(bytes: SHA256.digest(Array("stranger \(i)".utf8))) }
    Benchmark("index lookup hit (1M blobs)", configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal], scalingFactor: .kilo)) { benchmark in
        // A random start per run: the same first thousand IDs every time would all sit in cache.
        let start = Int.random(in: 0..<blobs.count)
        var found = 0
        for i in benchmark.scaledIterations where index.location(of: blobs[(start + i) % blobs.count], .data) != nil { found += 1 }
        precondition(found == benchmark.scaledIterations.count, "every inserted blob must be found")
    }
    Benchmark("index lookup miss (1M blobs)", configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal], scalingFactor: .kilo)) { benchmark in
        let start = Int.random(in: 0..<strangers.count)
        var found = 0
        for i in benchmark.scaledIterations where index.contains(strangers[(start + i) % strangers.count], .data) { found += 1 }
        precondition(found == 0, "no stranger may be found")
    }

    let tree = Bytes.tree(nodes: 1000)
    let encoded = tree.encode()
    Benchmark("tree encode 1000 nodes", configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal])) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(tree.encode()) }
    }
    Benchmark("tree decode 1000 nodes", configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal])) { benchmark in
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

    /// 1000 packs of 1000 blobs each.
    static func indexFile(_ blobs: [ObjectID]) -> IndexFile {
        IndexFile(packs: stride(from: 0, to: blobs.count, by: 1000).map { start in
            IndexPack(id: blobs[start], blobs: (start..<min(start + 1000, blobs.count)).map {
                IndexBlob(id: blobs[$0], type: .data, offset: UInt32(($0 - start) * 100), length: 100)
            })
        })
    }

    static func index(_ file: IndexFile) -> MasterIndex {
        var index = MasterIndex()
        index.add(file, from: .zero)
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
