import Foundation
import Testing
import ResticCore
import ResticCrypto
import ResticCompress
import ResticBackends
import ResticRepository

/// Hostile repository data, written with the repository's own key (a malicious or broken
/// writer) so it gets past the MAC: pack trailers and headers that claim huge sizes, blobs and
/// files whose zstd frames or index entries claim hundreds of MiB. Every command must answer
/// with a clear error and exit 1, never a trap, and never allocate what the data only claims:
/// the commands that could be fooled run under a virtual memory limit that a 500 MiB
/// allocation cannot fit in, but the real work fits in with room to spare.
@Suite("hostile packs and frames", .serialized)
struct HostilePackTests {
    static let claim = 500 << 20

    final class HostileRepo {
        let dir: URL
        let path: String
        let repository: Repository
        /// The virtual memory limit for `run(_:limited:)`, in KiB (see `calibrate`).
        private(set) var memoryLimitKB = 0

        private init(dir: URL, path: String, repository: Repository) {
            self.dir = dir
            self.path = path
            self.repository = repository
        }

        /// The smallest limit, in 100 MB steps, under which `check --read-data` still passes on
        /// the intact repository, plus 150 MB. It depends on the machine (thread stacks count,
        /// one per core), so it is measured; a 500 MiB allocation never fits in the headroom.
        private func calibrate() throws {
            for limit in stride(from: 200_000, through: 3_000_000, by: 100_000) {
                memoryLimitKB = limit
                if try run(["check", "--read-data"], limited: true).status == 0 {
                    memoryLimitKB = limit + 150_000
                    return
                }
            }
            throw HarnessError("check --read-data fails under every memory limit up to 3 GB")
        }

        /// A v2 repository made by our engine with one small snapshot.
        static func make() async throws -> HostileRepo {
            let dir = try TempDir.make("cartae-hostile")
            let path = try await WriteRepo.ours(version: 2, in: dir)
            let source = dir.appendingPathComponent("src")
            try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
            try Data("hello, hostile world\n".utf8).write(to: source.appendingPathComponent("a.txt"))
            let backup = try Harness.ours(["backup", "-q", source.path], repo: path, password: WriteRepo.password)
            guard backup.status == 0 else { throw HarnessError("backup failed: \(backup.stderr)") }
            let repository = try await Repository.open(LocalBackend(path: path), password: WriteRepo.password)
            let repo = HostileRepo(dir: dir, path: path, repository: repository)
            try repo.calibrate()
            return repo
        }

        func remove() { try? FileManager.default.removeItem(at: dir) }

        /// Stores `bytes` as a pack named by their hash; returns the pack ID.
        @discardableResult
        func writePack(_ bytes: [UInt8]) throws -> ObjectID {
            let id = ObjectID(bytes: SHA256.digest(bytes))
            let folder = "\(path)/data/\(id.hex.prefix(2))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/\(id.hex)"))
            return id
        }

        /// A pack of real sealed blobs with a header the caller may replace, and a trailer that
        /// may lie. Returns the pack ID and the index entries of its blobs.
        func craftPack(_ blobs: [(plaintext: [UInt8], claimedLength: UInt32?)], header: [UInt8]? = nil,
                       trailer: UInt32? = nil) throws -> (ObjectID, [IndexBlob]) {
            var bytes: [UInt8] = []
            var entries: [PackHeaderEntry] = []
            let compressor = try ZstdCompressor(level: 3)
            for blob in blobs {
                let sealed = repository.key.seal(try compressor.compress(blob.plaintext))
                entries.append(PackHeaderEntry(type: .data, length: UInt32(sealed.count),
                                               uncompressedLength: blob.claimedLength ?? UInt32(blob.plaintext.count),
                                               id: ObjectID(bytes: SHA256.digest(blob.plaintext)), offset: UInt32(bytes.count)))
                bytes += sealed
            }
            let sealedHeader = repository.key.seal(header ?? PackHeader.encode(entries))
            bytes += sealedHeader + PackHeader.lengthField(Int(trailer ?? UInt32(sealedHeader.count)))
            let index = entries.map { IndexBlob(id: $0.id, type: .data, offset: $0.offset, length: $0.length,
                                                uncompressedLength: $0.uncompressedLength) }
            return (try writePack(bytes), index)
        }

        func index(_ pack: ObjectID, _ blobs: [IndexBlob]) async throws {
            _ = try await repository.saveIndex([IndexPack(id: pack, blobs: blobs)])
        }

        /// Our binary on this repository; with `limited`, under the virtual memory limit.
        func run(_ arguments: [String], limited: Bool = false) throws -> Harness.Result {
            let env = ["RESTIC_REPOSITORY": path, "RESTIC_PASSWORD": WriteRepo.password, "MALLOC_ARENA_MAX": "1"]
            guard limited else { return try Harness.run(Harness.binary, arguments, environment: env) }
            return try Harness.run("/bin/bash", ["-c", "ulimit -v \(memoryLimitKB) && exec \"$0\" \"$@\"",
                                                 Harness.binary] + arguments, environment: env)
        }
    }

    @Test("a pack trailer claiming 2^31 header bytes is refused by check, repair and the index path")
    func trailerClaims2GiB() async throws {
        let repo = try await HostileRepo.make()
        defer { repo.remove() }
        let (pack, blobs) = try repo.craftPack([(Array("hostile blob".utf8), nil)], trailer: 1 << 31)
        try await repo.index(pack, blobs)

        let check = try repo.run(["check", "--read-data"], limited: true)
        CheckOutput.expectFailed(check, naming: ["pack \(pack.hex)", "header length 2147483648 is larger than the file"])
        // The blobs themselves are intact: only the header is refused.
        #expect(!check.stderr.contains("blob \(blobs[0].id.hex)"), "\(check.stderr)")
        #expect(try Harness.restic(["check", "--read-data"], repo: repo.path, password: WriteRepo.password).status == 1)

        // `list blobs` reads the index only (as restic's does): it lists the blob, no header read.
        let list = try repo.run(["list", "blobs"], limited: true)
        ReadPath.expectNoCrash(list)
        #expect(list.status == 0 && list.out.contains("data \(blobs[0].id.hex)"), "\(list.status) \(list.stderr)")

        // repair index reads every header from the backend: the pack is named, nothing is allocated.
        let repair = try repo.run(["repair", "index", "--read-all-packs"], limited: true)
        ReadPath.expectNoCrash(repair)
        #expect(repair.status == 0, "\(repair.stderr)")
        #expect(repair.stderr.contains("pack \(pack.hex): ") && repair.stderr.contains("header length 2147483648"), "\(repair.stderr)")
    }

    @Test("a sparse 200 MB pack whose trailer claims 150 MB (4 million entries) is refused before reading the header")
    func trailerClaimsMillionsOfEntries() async throws {
        let repo = try await HostileRepo.make()
        defer { repo.remove() }
        // A name that no content hashes to: the file is made sparse, not written.
        let pack = try #require(ObjectID(hex: String(repeating: "5a", count: 32)))
        let file = "\(repo.path)/data/5a/\(pack.hex)"
        let size = 200_000_000
        FileManager.default.createFile(atPath: file, contents: nil)
        let handle = try Foundation.FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: UInt64(size - 4))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(PackHeader.lengthField(150_000_000)))
        try handle.close()
        try await repo.index(pack, [IndexBlob(id: ObjectID(bytes: SHA256.digest([1])), type: .data, offset: 0, length: 100)])

        let check = try repo.run(["check", "--read-data"], limited: true)
        CheckOutput.expectFailed(check, naming: ["pack \(pack.hex)", "header length 150000000 exceeds the maximum"])

        // Last: repair drops the unreadable pack from the index.
        let repair = try repo.run(["repair", "index", "--read-all-packs"], limited: true)
        ReadPath.expectNoCrash(repair)
        #expect(repair.stderr.contains("pack \(pack.hex): ") && repair.stderr.contains("header length 150000000 exceeds the maximum"),
                "\(repair.status) \(repair.stderr)")
    }

    @Test("a validly sealed header of 400000 entries that reach past the data section is refused")
    func headerEntriesBeyondData() async throws {
        let repo = try await HostileRepo.make()
        defer { repo.remove() }
        let count = 400_000
        let entries = (0..<count).map { i in
            PackHeaderEntry(type: .data, length: 100, id: ObjectID(bytes: SHA256.digest([UInt8(i & 0xFF), UInt8(i >> 8 & 0xFF), UInt8(i >> 16)])))
        }
        let (pack, blobs) = try repo.craftPack([(Array("real blob".utf8), nil)], header: PackHeader.encode(entries))
        try await repo.index(pack, blobs)
        let check = try repo.run(["check", "--read-data"], limited: true)
        CheckOutput.expectFailed(check, naming: ["pack \(pack.hex)", "header lists blobs beyond the data section"])
    }

    @Test("a blob whose index entry claims 500 MiB uncompressed fails with a size mismatch, not an allocation")
    func blobClaims500MiB() async throws {
        let repo = try await HostileRepo.make()
        defer { repo.remove() }
        let plaintext = Array("tiny blob, huge claim".utf8)
        let (pack, blobs) = try repo.craftPack([(plaintext, UInt32(Self.claim))])
        try await repo.index(pack, blobs)

        let cat = try repo.run(["cat", "blob", blobs[0].id.hex], limited: true)
        Hardening.expectOneError(cat, status: 1, naming: [blobs[0].id.hex, "decompressed \(plaintext.count) bytes, expected \(Self.claim)"],
                                 "cat blob")
        let check = try repo.run(["check", "--read-data"], limited: true)
        CheckOutput.expectFailed(check, naming: ["blob \(blobs[0].id.hex)", "expected \(Self.claim)"])
    }

    /// `0x02 ‖ zstd` where the frame header declares `claim` bytes but one raw block holds `json`.
    static func lyingFrame(_ json: [UInt8], claim: Int) -> [UInt8] {
        var frame: [UInt8] = [2, 0x28, 0xB5, 0x2F, 0xFD, 0xE0]
        frame += (0..<8).map { UInt8(truncatingIfNeeded: UInt64(claim) >> (8 * UInt64($0))) }
        let header = UInt32(json.count) << 3 | 1
        return frame + [UInt8(header & 0xFF), UInt8(header >> 8 & 0xFF), UInt8(header >> 16 & 0xFF)] + json
    }

    @Test("a snapshot and an index whose zstd frames claim 500 MiB are refused from the frame header")
    func unpackedFilesClaim500MiB() async throws {
        let repo = try await HostileRepo.make()
        defer { repo.remove() }
        let snapshot = Snapshot(time: .goZero, tree: .zero, paths: ["/hostile"]).encode()
        let sealedSnapshot = repo.repository.key.seal(Self.lyingFrame(snapshot, claim: Self.claim))
        let snapshotID = ObjectID(bytes: SHA256.digest(sealedSnapshot))
        try await repo.repository.backend.save(ResticCore.FileHandle(.snapshot, snapshotID), data: sealedSnapshot)

        let cat = try repo.run(["cat", "snapshot", snapshotID.hex], limited: true)
        Hardening.expectOneError(cat, status: 1, naming: [snapshotID.hex, "declares \(Self.claim) bytes of content"], "cat snapshot")
        let snapshots = try repo.run(["snapshots"], limited: true)
        ReadPath.expectNoCrash(snapshots)
        #expect(snapshots.stderr.contains("declares \(Self.claim) bytes of content"), "\(snapshots.stderr)")

        let index = IndexFile(packs: []).encode()
        let sealedIndex = repo.repository.key.seal(Self.lyingFrame(index, claim: Self.claim))
        let indexID = ObjectID(bytes: SHA256.digest(sealedIndex))
        try await repo.repository.backend.save(ResticCore.FileHandle(.index, indexID), data: sealedIndex)
        let list = try repo.run(["list", "blobs"], limited: true)
        Hardening.expectOneError(list, status: 1, naming: [indexID.hex, "declares \(Self.claim) bytes of content"], "list blobs")
    }

    /// The real entry points (`Repository.decodeHeader`, `BlobCodec.open`, `loadUnpacked`) on
    /// mutants sealed with the repository's key: each gives a value or a ResticError, never a
    /// trap. (The bulk of the fuzzing runs in ResticCoreTests/Fuzz on the same steps.)
    @Test("decodeHeader, BlobCodec.open and loadUnpacked on sealed mutants")
    func realEntryPointsOnMutants() async throws {
        let repo = try await HostileRepo.make()
        defer { repo.remove() }
        let key = repo.repository.key
        var state: UInt64 = 0x686F_7374
        func next() -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
        }
        func mutate(_ bytes: [UInt8]) -> [UInt8] {
            var b = bytes
            guard !b.isEmpty else { return [UInt8(truncatingIfNeeded: next())] }
            let i = next() % b.count
            switch next() % 4 {
            case 0: b[i] = UInt8(truncatingIfNeeded: next())
            case 1: b.removeLast(b.count - i)
            case 2: for k in 0..<min(4, b.count - i) { b[i + k] = [0xFF, 0x7F, 0, 0x10][k] }
            default: b.insert(contentsOf: b[i..<min(b.count, i + 1 + next() % 64)], at: next() % b.count)
            }
            return b
        }
        var outcomes = (values: 0, errors: 0)
        func record(_ body: () async throws -> Void) async {
            do { try await body(); outcomes.values += 1 } catch {
                #expect(error is ResticError, "\(type(of: error)): \(error)")
                outcomes.errors += 1
            }
        }
        let plaintext = Array("a blob for the entry points".utf8)
        let frame = try ZstdCompressor(level: 3).compress(plaintext)
        let header = PackHeader.encode([PackHeaderEntry(type: .tree, length: UInt32(frame.count + 32),
                                                        uncompressedLength: UInt32(plaintext.count),
                                                        id: ObjectID(bytes: SHA256.digest(plaintext)))])
        for _ in 0..<2_000 {
            let sealedHeader = key.seal(mutate(header))
            await record { _ = try repo.repository.decodeHeader(sealedHeader, pack: .zero, dataEnd: next() % 4096) }
            let sealedBlob = key.seal(mutate(frame))
            let location = BlobLocation(pack: .zero, offset: 0, length: UInt32(sealedBlob.count),
                                        uncompressedLength: next() % 3 == 0 ? UInt32(next() % (1 << 20)) : UInt32(plaintext.count))
            await record {
                _ = try BlobCodec.open(sealedBlob[...], id: ObjectID(bytes: SHA256.digest(plaintext)), type: .tree,
                                       location: location, key: key)
            }
        }
        let snapshot = [2] + (try ZstdCompressor(level: 3).compress(Snapshot(time: .goZero, tree: .zero, paths: ["/x"]).encode()))
        for _ in 0..<200 {
            let sealed = key.seal(mutate(snapshot))
            let id = ObjectID(bytes: SHA256.digest(sealed))
            try await repo.repository.backend.save(ResticCore.FileHandle(.snapshot, id), data: sealed)
            await record { _ = try await repo.repository.loadUnpacked(.snapshot, id) }
        }
        #expect(outcomes.values > 0 && outcomes.errors > 0, "\(outcomes)")
    }
}
