#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticCrypto
import ResticRepository

/// Reads the needed blobs of one pack with as few ranged reads as possible and writes each
/// blob's plaintext to every place it belongs. Failures are per file: the rest goes on.
struct PackRestorer: Sendable {
    let repository: IndexedRepository
    let files: [RawPath]
    let sparse: Bool
    /// Blobs closer together than this are fetched in one read; the gap is read and dropped.
    static let mergeGap = 256 * 1024
    /// Files one pack worker keeps open at once.
    static let maxOpenFiles = 32

    struct Outcome: Sendable {
        var bytesWritten = 0
        var failures: [Restorer.FileFailure] = []
    }

    func restore(_ work: RestorePlan.PackWork) async -> Outcome {
        var outcome = Outcome()
        var descriptors: [Int: Int32] = [:]
        defer { for fd in descriptors.values { close(fd) } }

        for run in runs(work.blobs) {
            let start = Int(run.first!.location.offset)
            let end = run.map { Int($0.location.offset) + Int($0.location.length) }.max()!
            let bytes: [UInt8]
            do {
                bytes = try await repository.backend.load(FileHandle(.pack, work.pack), offset: start, length: end - start)
            } catch {
                for blob in run { fail(blob.placements, "pack \(work.pack.hex): \(error)", &outcome) }
                continue
            }
            for blob in run {
                let from = Int(blob.location.offset) - start
                let sealed = bytes[from..<(from + Int(blob.location.length))]
                let plaintext: [UInt8]
                do {
                    plaintext = try BlobCodec.open(sealed, id: blob.id, type: .data, location: blob.location,
                                                   key: repository.repository.key)
                } catch {
                    fail(blob.placements, "\(error)", &outcome)
                    continue
                }
                if sparse && Self.isAllZero(plaintext) { continue }
                for placement in blob.placements {
                    do {
                        let fd = try descriptor(placement.file, &descriptors)
                        try plaintext.withUnsafeBytes {
                            try FS.pwriteAll(fd, $0, offset: placement.offset, path: files[placement.file])
                        }
                        outcome.bytesWritten += plaintext.count
                    } catch {
                        outcome.failures.append(.init(index: placement.file, message: "\(error)"))
                    }
                }
            }
        }
        return outcome
    }

    private func fail(_ placements: [RestorePlan.Placement], _ message: String, _ outcome: inout Outcome) {
        for placement in placements {
            outcome.failures.append(.init(index: placement.file, message: "\(files[placement.file]): \(message)"))
        }
    }

    private func descriptor(_ file: Int, _ open: inout [Int: Int32]) throws -> Int32 {
        if let fd = open[file] { return fd }
        // A pack of small files touches thousands of files: keep only a few open at a time.
        if open.count >= Self.maxOpenFiles {
            for fd in open.values { close(fd) }
            open.removeAll(keepingCapacity: true)
        }
        let path = files[file]
        let fd = path.withCString { Glibc.open($0, O_WRONLY | O_CLOEXEC) }
        if fd < 0 { throw FS.failure("open", path) }
        open[file] = fd
        return fd
    }

    typealias Blob = (id: ObjectID, location: BlobLocation, placements: [RestorePlan.Placement])

    /// Splits offset-ordered blobs into runs whose gaps are small enough to read through.
    private func runs(_ blobs: [Blob]) -> [[Blob]] {
        var result: [[Blob]] = []
        var current: [Blob] = []
        var currentEnd = 0
        for blob in blobs {
            let offset = Int(blob.location.offset)
            if !current.isEmpty && offset - currentEnd > Self.mergeGap {
                result.append(current)
                current = []
            }
            current.append(blob)
            currentEnd = max(currentEnd, offset + Int(blob.location.length))
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    static func isAllZero(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            let base = raw.baseAddress!
            for i in 0..<words where base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 {
                return false
            }
            for i in (words * 8)..<raw.count where raw[i] != 0 { return false }
            return true
        }
    }
}
