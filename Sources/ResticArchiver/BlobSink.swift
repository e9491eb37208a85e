import ResticCore
import ResticRepository

/// Where a reader sends the chunks it cut: straight into its own pack (streams), or onto the
/// queue of sealing tasks (file backups), so one large file keeps every core busy.
protocol BlobSink: AnyObject {
    /// Stores the chunk unless the repository or this run has it; returns whether it was new.
    /// `chunk` is only valid during the call.
    func storeChunk(_ chunk: UnsafeRawBufferPointer, id: ObjectID) async throws -> Bool
    /// Called once the reader has read its last stream.
    func flush() async throws
}

extension BlobPacker: BlobSink {
    func storeChunk(_ chunk: UnsafeRawBufferPointer, id: ObjectID) async throws -> Bool {
        try await store(chunk, id: id).new
    }
}

/// A new chunk on its way from a reader to a sealing task.
struct SealJob: Sendable {
    let id: ObjectID
    let bytes: [UInt8]
}

/// Deduplicates in the reader (a known chunk is never copied or queued) and hands new chunks,
/// copied out of the reader's buffer, to the sealing tasks.
final class SealQueueSink: BlobSink {
    let writer: RepositoryWriter
    let queue: JobQueue<SealJob>

    init(writer: RepositoryWriter, queue: JobQueue<SealJob>) {
        self.writer = writer
        self.queue = queue
    }

    func storeChunk(_ chunk: UnsafeRawBufferPointer, id: ObjectID) async throws -> Bool {
        guard writer.reserve(id, .data) else { return false }
        try await queue.send(SealJob(id: id, bytes: Array(chunk)))
        return true
    }

    func flush() async throws {}
}
