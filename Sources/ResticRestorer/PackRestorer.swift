import ResticCore
import ResticCrypto
import ResticRepository

/// Reads the needed blobs of one pack with as few ranged reads as possible, decrypts them, and
/// has the file threads write each blob's plaintext to every place it belongs. A file whose
/// content lies wholly in this pack is created, written, given its metadata and closed in one
/// go. Failures are per file: the rest goes on.
struct PackRestorer: Sendable {
    let repository: IndexedRepository
    /// The plan's placements, sorted by pack and offset.
    let placements: [RestorePlan.Placement]
    let writer: FileWriter
    let sparse: Bool
    /// Files that could not be made before the data: nothing can be written to them.
    let unmade: Set<Int>
    /// Blobs closer together than this are fetched in one read; the gap is read and dropped.
    static let mergeGap = 256 * 1024
    /// A read stops growing here (one larger blob is still read whole): with several packs in
    /// flight, whole-pack reads would hold tens of megabytes each.
    static let maxRead = 1 << 20
    /// Decrypted bytes gathered before they are handed to the file threads.
    static let batchBytes = 512 << 10
    /// Files gathered before a hand-over: tiny files cost more in bookkeeping than in bytes.
    static let batchFiles = 2048

    struct Outcome: Sendable {
        var bytesWritten = 0
        var filesCreated = 0
        var failures: [Restorer.FileFailure] = []
        var errors: [String] = []
        /// Set when the target is full: the restore stops.
        var fatal: ResticError?
    }

    /// What this pack still owes each of its one-pack files, across batches.
    private struct Progress {
        var remaining: [Int: Int] = [:]
        var created: Set<Int> = []
        var failed: Set<Int> = []
        var unopened: Set<Int> = []
        var end: [Int: Int] = [:]
    }

    func restore(_ work: RestorePlan.PackWork) async -> Outcome {
        var outcome = Outcome()
        var progress = Progress()
        progress.unopened = unmade
        for placement in placements[work.range] where writer.files[placement.file].layout == .onePack {
            progress.remaining[placement.file, default: 0] += 1
        }
        let blobs = Self.blobs(placements, work.range)
        var batch = Batch()
        // Cipher, MAC and zstd contexts made once per unit, not once per blob. Should making
        // them fail, each blob reports that failure.
        let opener = Result { try BlobOpener(key: repository.repository.key) }
        for run in Self.runs(blobs, placements) where !Task.isCancelled {
            let start = Int(placements[blobs[run.lowerBound].lowerBound].location.offset)
            let end = blobs[run].map { Self.end(of: placements[$0.lowerBound].location) }.max() ?? start
            let bytes: [UInt8]
            do {
                bytes = try await repository.backend.load(FileHandle(.pack, work.pack), offset: start, length: end - start)
            } catch {
                for blob in blobs[run] {
                    for index in blob { note(placements[index], .failure("pack \(work.pack.hex): \(error)"), &batch, &progress) }
                }
                continue
            }
            for blob in blobs[run] {
                let placement = placements[blob.lowerBound]
                let from = Int(placement.location.offset) - start
                let sealed = bytes[from..<(from + Int(placement.location.length))]
                let content: Content
                do {
                    let plaintext = try opener.get().open(sealed, id: placement.id, type: .data, location: placement.location)
                    content = sparse && Self.isAllZero(plaintext) ? .hole : .bytes(plaintext)
                } catch {
                    content = .failure("\(error)")
                }
                for index in blob { note(placements[index], content, &batch, &progress) }
                if batch.bytes >= Self.batchBytes || batch.jobs.count >= Self.batchFiles {
                    if await flush(&batch, &progress, &outcome) { return outcome }
                }
            }
        }
        _ = await flush(&batch, &progress, &outcome)
        return outcome
    }

    /// Hints the backend at the span of `work`'s pack that its blobs occupy.
    func willRead(_ work: RestorePlan.PackWork) {
        guard let first = placements[work.range].first else { return }
        let start = Int(first.location.offset)
        let end = placements[work.range].map { Self.end(of: $0.location) }.max() ?? start
        repository.backend.willLoad(FileHandle(.pack, work.pack), range: start..<end)
    }

    private enum Content {
        case bytes([UInt8])
        case hole
        case failure(String)
    }

    private struct Batch {
        var jobs: [FileWriter.Job] = []
        var slot: [Int: Int] = [:]
        var bytes = 0
    }

    /// Adds one placement's content to the batch; the last piece of a one-pack file finishes it.
    private func note(_ placement: RestorePlan.Placement, _ content: Content, _ batch: inout Batch,
                      _ progress: inout Progress) {
        let file = placement.file
        let onePack = writer.files[file].layout == .onePack
        if progress.unopened.contains(file) { return }
        let slot: Int
        if let known = batch.slot[file] {
            slot = known
        } else {
            slot = batch.jobs.count
            batch.slot[file] = slot
            batch.jobs.append(FileWriter.Job(file: file, create: onePack && !progress.created.contains(file)))
            if onePack { progress.created.insert(file) }
        }
        switch content {
        case .bytes(let plaintext):
            batch.jobs[slot].pieces.append(.init(offset: placement.offset, bytes: plaintext))
            batch.bytes += plaintext.count
            if onePack { progress.end[file] = max(progress.end[file] ?? 0, placement.offset + plaintext.count) }
        case .hole:
            break
        case .failure(let message):
            batch.jobs[slot].failures.append("\(writer.files[file].path): \(message)")
            progress.failed.insert(file)
        }
        guard onePack, let left = progress.remaining[file] else { return }
        if left > 1 {
            progress.remaining[file] = left - 1
            return
        }
        progress.remaining[file] = nil
        batch.jobs[slot].finish = true
        batch.jobs[slot].failed = progress.failed.contains(file)
        batch.jobs[slot].extend = (progress.end[file] ?? 0) < writer.files[file].size
    }

    /// Has the file threads carry out the batch; true when the target is full. The pack's
    /// worker waits meanwhile: the other packs' workers keep the cores busy, and memory stays
    /// bounded by one batch per pack.
    private func flush(_ batch: inout Batch, _ progress: inout Progress, _ outcome: inout Outcome) async -> Bool {
        let jobs = batch.jobs
        batch = Batch()
        if jobs.isEmpty { return false }
        let result = await writer.run(jobs)
        outcome.bytesWritten += result.bytesWritten
        outcome.filesCreated += result.filesCreated
        outcome.failures += result.failures
        outcome.errors += result.errors
        for failure in result.failures { progress.failed.insert(failure.index) }
        progress.unopened.formUnion(result.unopened)
        outcome.fatal = result.fatal
        return result.fatal != nil
    }

    /// Placements of one blob are side by side (same pack, same offset): one range each. The ID
    /// is compared too, so a damaged index that puts two blobs at one offset cannot hand one
    /// blob's bytes to the other's files unchecked.
    static func blobs(_ placements: [RestorePlan.Placement], _ range: Range<Int>) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start = range.lowerBound
        while start < range.upperBound {
            var end = start + 1
            while end < range.upperBound && placements[end].location.offset == placements[start].location.offset
                && placements[end].id == placements[start].id { end += 1 }
            result.append(start..<end)
            start = end
        }
        return result
    }

    /// Splits offset-ordered blobs into runs whose gaps are small enough to read through and
    /// whose reads stay near `maxRead`.
    static func runs(_ blobs: [Range<Int>], _ placements: [RestorePlan.Placement]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var runStart = 0
        var runOffset = 0
        var currentEnd = 0
        for (number, blob) in blobs.enumerated() {
            let location = placements[blob.lowerBound].location
            let offset = Int(location.offset)
            let end = Self.end(of: location)
            if number > runStart && (offset - currentEnd > mergeGap || end - runOffset > maxRead) {
                result.append(runStart..<number)
                runStart = number
            }
            if number == runStart { runOffset = offset }
            currentEnd = max(currentEnd, end)
        }
        if runStart < blobs.count { result.append(runStart..<blobs.count) }
        return result
    }

    static func end(of location: BlobLocation) -> Int {
        Int(location.offset) + Int(location.length)
    }

    static func isAllZero(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            guard let base = raw.baseAddress else { return true }
            for i in 0..<words where base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 {
                return false
            }
            for i in (words * 8)..<raw.count where raw[i] != 0 { return false }
            return true
        }
    }
}
