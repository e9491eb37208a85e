#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticCrypto
import ResticRepository

/// `restore --verify`: reads every restored file back, blob by blob, and compares each piece's
/// SHA-256 with the blob ID the snapshot lists. Files are checked on the file threads.
enum RestoreVerifier {
    /// Files one thread checks in a row.
    static let filesPerTask = 256

    struct Result: Sendable {
        var problems: [String] = []
        var verified: [Int] = []
    }

    static func verify(_ plan: RestorePlan, workers: FileWorkers, verified: inout Int) async -> [String] {
        // Each file's placements in content order; the plan keeps them in pack order.
        let order = plan.placements.indices.sorted { a, b in
            let x = plan.placements[a], y = plan.placements[b]
            return x.file != y.file ? x.file < y.file : x.offset < y.offset
        }
        var firstPlacement = [Int](repeating: order.count, count: plan.files.count + 1)
        for position in order.indices.reversed() { firstPlacement[plan.placements[order[position]].file] = position }
        for number in stride(from: plan.files.count - 1, through: 0, by: -1) {
            firstPlacement[number] = min(firstPlacement[number], firstPlacement[number + 1])
        }
        let numbers = plan.files.indices.filter { !plan.files[$0].failed }
        let groups = stride(from: 0, to: numbers.count, by: filesPerTask).map {
            Array(numbers[$0..<min($0 + filesPerTask, numbers.count)])
        }
        let starts = firstPlacement
        let results = await workers.map(groups) { group in
            var result = Result()
            for number in group {
                let pieces = order[starts[number]..<starts[number + 1]].map { plan.placements[$0] }
                if let problem = check(plan.files[number], pieces) {
                    result.problems.append(problem)
                } else {
                    result.verified.append(number)
                }
            }
            return result
        }
        var problems: [String] = []
        var good = Set<Int>()
        for result in results {
            problems += result.problems
            good.formUnion(result.verified)
        }
        verified += good.count
        // restic counts every file node, so further names of a verified hardlinked file count too.
        for entry in plan.entries {
            if case .hardlink(let index) = entry.kind, good.contains(index) { verified += 1 }
        }
        return problems
    }

    /// The file's content against its blobs, in order, and its size; nil when all match.
    private static func check(_ file: RestorePlan.FileTarget, _ pieces: [RestorePlan.Placement]) -> String? {
        let fd = file.path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return "verify \(file.path): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var buffer: [UInt8] = []
        for piece in pieces {
            let length = piece.location.plaintextLength
            if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(piece.offset)) }
            let digest = buffer.withUnsafeBytes { SHA256.digest(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
            if n != length || ObjectID(bytes: digest) != piece.id {
                return "verify \(file.path): content at offset \(piece.offset) does not match blob \(piece.id.hex)"
            }
        }
        var st = stat()
        if fstat(fd, &st) == 0 && Int(st.st_size) != file.size {
            return "verify \(file.path): size \(st.st_size), expected \(file.size)"
        }
        return nil
    }
}
