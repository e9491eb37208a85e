import Testing
import ResticCore
import ResticCrypto
@testable import ResticMaintenance

/// A small deterministic generator (SplitMix64) so random subsets can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Pack IDs spread over all first bytes: SHA-256 of "pack N".
func samplePacks(_ count: Int, size: Int64 = 100) -> [ObjectID: Int64] {
    var packs: [ObjectID: Int64] = [:]
    for i in 0..<count { packs[ObjectID(bytes: SHA256.digest(Array("pack \(i)".utf8)))] = size }
    return packs
}

func id(firstByte: UInt8, fill: UInt8 = 0x11) -> ObjectID {
    ObjectID(bytes: [firstByte] + [UInt8](repeating: fill, count: 31))
}

@Suite struct CheckSubsetParsingTests {
    @Test func parsesEachForm() throws {
        #expect(try CheckSubset(parsing: "1/3") == .bucket(n: 1, t: 3))
        #expect(try CheckSubset(parsing: "256/256") == .bucket(n: 256, t: 256))
        #expect(try CheckSubset(parsing: "12.5%") == .percentage(12.5))
        #expect(try CheckSubset(parsing: "100%") == .percentage(100))
        #expect(try CheckSubset(parsing: "100b") == .size(100))
        #expect(try CheckSubset(parsing: "5k") == .size(5 * 1024))
        #expect(try CheckSubset(parsing: "3M") == .size(3 * 1024 * 1024))
        #expect(try CheckSubset(parsing: "2g") == .size(2 << 30))
        #expect(try CheckSubset(parsing: "1T") == .size(1 << 40))
    }

    @Test(arguments: [
        ("0/3", "values must be positive integers, and n <= t"),
        ("4/3", "values must be positive integers, and n <= t"),
        ("1/0", "values must be positive integers, and n <= t"),
        ("1/257", "t must be at most 256"),
        ("0%", "x must be above 0.0% and at most 100.0%"),
        ("100.5%", "x must be above 0.0% and at most 100.0%"),
        ("0b", "n must be above 0"),
        // restic reads a bare number as a one-element n/t list, which is invalid.
        ("500", "has invalid value"),
        ("1/2/3", "has invalid value"),
        ("abc%", "has invalid value"),
        ("nan%", "has invalid value"),
        ("-5k", "has invalid value"),
        ("12x", "has invalid value"),
        ("9999999999t", "has invalid value"),
        ("1/x", "has invalid value"),
    ])
    func rejects(_ text: String, _ message: String) {
        do {
            _ = try CheckSubset(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect("\(error)".contains(message), "\(text): \(error)")
            #expect("\(error)".hasPrefix("check flag"), "\(text): \(error)")
        }
    }
}

@Suite struct CheckSubsetSelectionTests {
    @Test func bucketUsesFirstByteModT() {
        // 0x05 % 3 == 2 → group 3; 0x06 % 3 == 0 → group 1; 0xff % 256 == 255 → group 256.
        #expect(CheckSubset.bucket(of: id(firstByte: 0x05), groups: 3) == 3)
        #expect(CheckSubset.bucket(of: id(firstByte: 0x06), groups: 3) == 1)
        #expect(CheckSubset.bucket(of: id(firstByte: 0xff), groups: 256) == 256)
        #expect(CheckSubset.bucket(of: id(firstByte: 0x00, fill: 0xff), groups: 7) == 1)
        let packs = [id(firstByte: 0x05): Int64(1), id(firstByte: 0x06): 1, id(firstByte: 0x08): 1]
        var rng = SplitMix64(seed: 1)
        #expect(CheckSubset.bucket(n: 3, t: 3).select(from: packs, using: &rng) == [id(firstByte: 0x05), id(firstByte: 0x08)].sorted())
        #expect(CheckSubset.bucket(n: 1, t: 3).select(from: packs, using: &rng) == [id(firstByte: 0x06)])
        #expect(CheckSubset.bucket(n: 2, t: 3).select(from: packs, using: &rng) == [])
    }

    @Test(arguments: [1, 2, 3, 7, 16, 255, 256])
    func groupsCoverEveryPackExactlyOnce(t: Int) {
        let packs = samplePacks(700)
        var seen: [ObjectID: Int] = [:]
        var rng = SplitMix64(seed: 9)
        for n in 1...t {
            let chosen = CheckSubset.bucket(n: n, t: t).select(from: packs, using: &rng)
            for pack in chosen {
                seen[pack, default: 0] += 1
                #expect(Int(pack.firstByte) % t == n - 1)
            }
            // The same call always picks the same packs.
            #expect(CheckSubset.bucket(n: n, t: t).select(from: packs, using: &rng) == chosen)
        }
        #expect(Set(seen.keys) == Set(packs.keys))
        #expect(seen.values.allSatisfy { $0 == 1 })
    }

    @Test(arguments: [
        (10, 25.0, 2), (10, 1.0, 1), (10, 100.0, 10), (10, 99.9, 9), (3, 50.0, 1), (0, 50.0, 0), (700, 10.0, 70),
    ])
    func percentageCount(count: Int, percent: Double, expected: Int) {
        #expect(CheckSubset.count(percent: percent, of: count) == expected)
        var rng = SplitMix64(seed: 3)
        let packs = samplePacks(count)
        let chosen = CheckSubset.percentage(percent).select(from: packs, using: &rng)
        #expect(chosen.count == expected)
        #expect(Set(chosen).count == expected)
        #expect(Set(chosen).isSubset(of: Set(packs.keys)))
    }

    @Test func randomPickIsReplayableAndVaries() {
        let packs = samplePacks(200)
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42), c = SplitMix64(seed: 43)
        let first = CheckSubset.percentage(10).select(from: packs, using: &a)
        #expect(first == CheckSubset.percentage(10).select(from: packs, using: &b))
        #expect(first != CheckSubset.percentage(10).select(from: packs, using: &c))
        // Over many draws every pack gets picked sometime: the pick is not a fixed prefix.
        var picked = Set<ObjectID>()
        for _ in 0..<200 { picked.formUnion(CheckSubset.percentage(10).select(from: packs, using: &a)) }
        #expect(picked.count > 190)
    }

    @Test func sizeBecomesAPercentageOfTotalPackBytes() {
        let packs = samplePacks(8, size: 100)  // 800 bytes in all
        var rng = SplitMix64(seed: 5)
        #expect(CheckSubset.size(100).select(from: packs, using: &rng).count == 1)   // 12.5%
        #expect(CheckSubset.size(250).select(from: packs, using: &rng).count == 2)   // 31.25% of 8 = 2.5
        #expect(CheckSubset.size(799).select(from: packs, using: &rng).count == 7)   // 99.875% of 8 = 7.99
        #expect(CheckSubset.size(1).select(from: packs, using: &rng).count == 1)     // at least one
        #expect(CheckSubset.size(1 << 40).select(from: packs, using: &rng).count == 8)  // capped at the total
        // Picked by count, not by bytes: one huge pack and many small ones.
        var uneven = samplePacks(9, size: 10)
        uneven[id(firstByte: 1)] = 910  // total 1000
        #expect(CheckSubset.size(500).select(from: uneven, using: &rng).count == 5)  // 50% of 10 packs
    }

    @Test func phaseLines() {
        #expect(CheckPhase.readData(.all, chosen: 9, total: 9, totalBytes: 1).description == "read all data")
        #expect(CheckPhase.readData(.subset(.bucket(n: 2, t: 5)), chosen: 3, total: 9, totalBytes: 1).description
                == "read group #2 of 3 data packs (out of total 9 packs in 5 groups)")
        #expect(CheckPhase.readData(.subset(.percentage(12.25)), chosen: 1, total: 9, totalBytes: 1).description
                == "read 12.2% of data packs")  // Go rounds the exact tie 12.25 to even
        #expect(CheckPhase.readData(.subset(.size(2048)), chosen: 1, total: 9, totalBytes: 8192).description
                == "read 2048 bytes (25.0%) of data packs")
        #expect(CheckPhase.readData(.subset(.size(1 << 20)), chosen: 9, total: 9, totalBytes: 8192).description
                == "read 8192 bytes (100.0%) of data packs")
    }
}
