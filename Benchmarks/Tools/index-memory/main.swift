// Memory cost of the in-memory index (MasterIndex) per blob, and its lookup speed:
//   index-memory [BLOBS] [BLOBS_PER_PACK]     (defaults: 10000000 and 100)
// Inserts synthetic entries one index file (1000 packs) at a time, as Repository.loadIndex does,
// so that the decoded index files are freed between files. Reports the growth of malloc'd bytes
// (mallinfo2) and of the resident set across building, divided by the blob count, plus peak RSS.
// The index files are freed as they go, so both deltas are the index's own memory.
import CMalloc
import Foundation
import ResticCore
import ResticRepository

let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1]) ?? 10_000_000 : 10_000_000
let perPack = arguments.count > 2 ? max(1, Int(arguments[2]) ?? 100) : 100
let packsPerFile = 1000

/// splitmix64: IDs are as uniform as SHA-256 digests, but cost nothing to make.
struct IDSource {
    var state: UInt64
    mutating func next64() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func next() -> ObjectID { ObjectID(w0: next64(), w1: next64(), w2: next64(), w3: next64()) }
}

func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    return (Int(line.split(separator: " ")[1]) ?? 0) * 1024
}

func mallocedBytes() -> Int {
    let info = mallinfo2()
    return Int(info.uordblks) + Int(info.hblkhd)
}

/// CPU time of this thread: the machine is shared, and wall time would count other processes.
func seconds(_ body: () -> Void) -> Double {
    func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    let start = now()
    body()
    return now() - start
}

func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

/// Every blob of one index file: blob i of the whole run is the i-th ID of `ids`; one in 16 is a tree.
func indexFile(first: Int, blobs: Int, ids: inout IDSource, packIDs: inout IDSource) -> IndexFile {
    var packs: [IndexPack] = []
    var i = first
    while i < first + blobs {
        let n = min(perPack, first + blobs - i)
        var offset: UInt32 = 0
        let pack = IndexPack(id: packIDs.next(), blobs: (0..<n).map { j in
            let length = UInt32(1000 + (i + j) % 4096)
            defer { offset += length }
            return IndexBlob(id: ids.next(), type: (i + j) % 16 == 0 ? .tree : .data, offset: offset,
                             length: length, uncompressedLength: (i + j) % 2 == 0 ? length * 2 : 0)
        })
        packs.append(pack)
        i += n
    }
    return IndexFile(packs: packs)
}

malloc_trim(0)
let mallocBefore = mallocedBytes()
let residentBefore = residentBytes()
let peakBefore = peakResidentBytes()

var index = MasterIndex()
var ids = IDSource(state: 1)
var packIDs = IDSource(state: 2)
var fileIDs = IDSource(state: 3)
let perFile = perPack * packsPerFile
let buildTime = seconds {
    var first = 0
    while first < count {
        let blobs = min(perFile, count - first)
        index.add(indexFile(first: first, blobs: blobs, ids: &ids, packIDs: &packIDs), from: fileIDs.next())
        first += blobs
    }
}
let finalizeTime = seconds { index.finalize() }
let untrimmedDelta = residentBytes() - residentBefore
malloc_trim(0)
let mallocDelta = mallocedBytes() - mallocBefore
let residentDelta = residentBytes() - residentBefore
let peakDelta = peakResidentBytes() - peakBefore
guard index.blobCount == count else {
    print("error: index holds \(index.blobCount) blobs, expected \(count)")
    exit(1)
}

// Lookups: an evenly spread sample of the inserted IDs (hits; in insertion order, so at random
// in the table) and as many IDs never inserted (misses). Every hit's location is checked.
let probes = min(count, 1_000_000)
let stride = max(1, count / probes)
struct Probe {
    var id: ObjectID
    var type: BlobType
    var pack: Int
    var length: UInt32
    var uncompressedLength: UInt32
}
var replay = IDSource(state: 1)
var hits: [Probe] = []
hits.reserveCapacity(probes)
for i in 0..<count where hits.count < probes {
    let id = replay.next()
    guard i % stride == 0 else { continue }
    let length = UInt32(1000 + i % 4096)
    hits.append(Probe(id: id, type: i % 16 == 0 ? .tree : .data, pack: i / perPack, length: length,
                      uncompressedLength: i % 2 == 0 ? length * 2 : 0))
}
var replayPacks = IDSource(state: 2)
let packList = (0..<index.packCount).map { _ in replayPacks.next() }
var strangers = IDSource(state: 99)
let missIDs = (0..<hits.count).map { _ in strangers.next() }
var locations: [BlobLocation?] = []
locations.reserveCapacity(hits.count)
let hitTime = seconds { for probe in hits { locations.append(index.location(of: probe.id, probe.type)) } }
var missed = 0
let missTime = seconds { for id in missIDs where !index.contains(id, .data) { missed += 1 } }
let wrong = zip(hits, locations).filter { probe, location in
    location.map { $0.pack != packList[probe.pack] || $0.length != probe.length
        || $0.uncompressedLength != probe.uncompressedLength } ?? true
}.count
guard wrong == 0, missed == missIDs.count else {
    print("error: \(wrong) of \(hits.count) hits wrong or missing, \(missIDs.count - missed) strangers found")
    exit(1)
}

print("blobs                 \(count) (\(perPack) per pack, \(index.packCount) packs, \(index.blobCount(.tree)) trees)")
print(String(format: "malloc'd bytes / blob  %.1f  (%@)", Double(mallocDelta) / Double(count), mib(mallocDelta)))
print(String(format: "resident bytes / blob  %.1f  (%@; %.1f before malloc_trim)", Double(residentDelta) / Double(count),
             mib(residentDelta), Double(untrimmedDelta) / Double(count)))
print(String(format: "peak RSS growth / blob %.1f  (%@, while building)", Double(peakDelta) / Double(count), mib(peakDelta)))
print(String(format: "add                   %.2f s CPU (%.0f ns/blob, synthesis of the index files included)",
             buildTime, buildTime * 1e9 / Double(count)))
print(String(format: "finalize              %.2f s CPU (%.0f ns/blob)", finalizeTime, finalizeTime * 1e9 / Double(count)))
print(String(format: "lookup hit            %.0f ns CPU (location(of:), %d probes)", hitTime * 1e9 / Double(hits.count), hits.count))
print(String(format: "lookup miss           %.0f ns CPU (contains, %d probes)", missTime * 1e9 / Double(missIDs.count), missIDs.count))
