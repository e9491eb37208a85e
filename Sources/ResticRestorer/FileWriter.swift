#if canImport(Glibc)
import Glibc
#endif
import ResticCore

/// Carries out the file side of restore on the file threads: one job per file and batch,
/// grouped by directory so each thread mostly creates entries in a directory of its own.
struct FileWriter: Sendable {
    let files: [RestorePlan.FileTarget]
    let entries: [RestorePlan.Entry]
    let workers: FileWorkers
    let ownership: Bool
    /// Files one thread handles in a row. Above a batch's size, so a batch gives each directory
    /// to one thread: threads creating in the same directory queue on its lock (spinning).
    static let filesPerTask = 4096

    struct Piece: Sendable {
        var offset: Int
        var bytes: [UInt8]
    }

    /// What one batch does to one file.
    struct Job: Sendable {
        var file: Int
        /// The first job of a one-pack file creates it; other files exist before the data.
        var create: Bool
        var pieces: [Piece] = []
        /// Blobs of the file that could not be read, one message each.
        var failures: [String] = []
        /// The file's last piece is in this job: set its size and metadata, unless `failed`.
        var finish = false
        var failed = false
        /// The file ends in a hole (or lost pieces), so writing leaves it short.
        var extend = false
    }

    struct Result: Sendable {
        var bytesWritten = 0
        var filesCreated = 0
        var failures: [Restorer.FileFailure] = []
        var errors: [String] = []
        var fatal: ResticError?
        /// Files that could not be created or opened: later jobs for them are pointless.
        var unopened: [Int] = []

        mutating func add(_ other: Result) {
            bytesWritten += other.bytesWritten
            filesCreated += other.filesCreated
            failures += other.failures
            errors += other.errors
            unopened += other.unopened
            if fatal == nil { fatal = other.fatal }
        }
    }

    func run(_ jobs: [Job]) async -> Result {
        let groups = Self.grouped(jobs, limit: Self.filesPerTask) { files[$0.file].parent }
        let results = await workers.map(groups) { group in
            var result = Result()
            for job in group where result.fatal == nil { perform(job, &result) }
            return result
        }
        var total = Result()
        for result in results { total.add(result) }
        return total
    }

    private func perform(_ job: Job, _ result: inout Result) {
        let target = files[job.file]
        for message in job.failures { result.failures.append(.init(index: job.file, message: message)) }
        let fd: Int32
        do {
            fd = job.create
                ? try FS.createFile(target.path, mode: EntryMetadata.creationMode(entries[target.entry].meta, ownership: ownership))
                : try FS.openExisting(target.path)
        } catch {
            fail(job.file, error, &result)
            result.unopened.append(job.file)
            return
        }
        defer { close(fd) }
        if job.create { result.filesCreated += 1 }
        var failed = job.failed || !job.failures.isEmpty
        DirectPieceWriter.withWriter { writer in
            for piece in job.pieces {
                do {
                    try piece.bytes.withUnsafeBytes { try writer.write(fd, $0, offset: piece.offset, path: target.path) }
                    result.bytesWritten += piece.bytes.count
                } catch {
                    fail(job.file, error, &result)
                    failed = true
                    break
                }
            }
        }
        if result.fatal != nil { return }
        guard job.finish else { return }
        do {
            if failed || job.extend { try FS.truncate(fd, size: target.size, path: target.path) }
            if !failed {
                try EntryMetadata.apply(entries[target.entry].meta, fd: fd, path: target.path, ownership: ownership)
            }
        } catch {
            result.errors.append("\(error)")
        }
    }

    private func fail(_ file: Int, _ error: Error, _ result: inout Result) {
        if let full = error as? OutOfSpace {
            result.fatal = full.error
        } else {
            result.failures.append(.init(index: file, message: "\(error)"))
        }
    }

    /// Splits `items` by directory, in first-seen order, then into runs of at most `limit`.
    static func grouped<Item>(_ items: [Item], limit: Int, parent: (Item) -> Int) -> [[Item]] {
        var slot: [Int: Int] = [:]
        var groups: [[Item]] = []
        for item in items {
            let key = parent(item)
            if let known = slot[key], groups[known].count < limit {
                groups[known].append(item)
            } else {
                slot[key] = groups.count
                groups.append([item])
            }
        }
        return groups
    }
}
