import ResticCore
import ResticRepository
import CartaeSync

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
    var bytes: [UInt8]
}

/// Chunk copies circulate between readers and sealers instead of being allocated per chunk:
/// a fresh multi-megabyte buffer per chunk would cost a page fault per 4 KiB. Only buffers up
/// to `keptCapacity` circulate, all of that one size: a pooled buffer stays resident as large
/// as the largest chunk it ever held, and the rare chunks near the chunker's 8 MiB maximum
/// would otherwise leave every pooled buffer that big.
final class ChunkBufferPool: Sendable {
    private let spare = Locked<[[UInt8]]>([])
    let limit: Int
    /// Above restic's average chunk (1 MiB), so most chunks travel in pooled buffers.
    static let keptCapacity = 2 << 20

    init(limit: Int) {
        self.limit = limit
    }

    /// A buffer holding a copy of `chunk`.
    func copy(_ chunk: UnsafeRawBufferPointer) -> [UInt8] {
        // Made to measure and freed after sealing, so its pages go back once it is sealed.
        guard chunk.count <= Self.keptCapacity else { return Array(chunk) }
        var buffer = spare.withLock { $0.popLast() } ?? []
        buffer.removeAll(keepingCapacity: true)
        buffer.reserveCapacity(Self.keptCapacity)
        buffer.append(contentsOf: chunk)
        return buffer
    }

    func recycle(_ buffer: [UInt8]) {
        guard buffer.capacity <= 2 * Self.keptCapacity else { return }
        spare.withLock { spare in
            if spare.count < limit { spare.append(buffer) }
        }
    }
}

/// Deduplicates in the reader (a known chunk is never copied or queued) and hands new chunks,
/// copied out of the reader's buffer, to the sealing tasks.
final class SealQueueSink: BlobSink {
    let writer: RepositoryWriter
    let queue: JobQueue<SealJob>
    let buffers: ChunkBufferPool
    /// Taken before a copy is made, given back by the sealer once it is sealed.
    let budget: AsyncBudget

    init(writer: RepositoryWriter, queue: JobQueue<SealJob>, buffers: ChunkBufferPool, budget: AsyncBudget) {
        self.writer = writer
        self.queue = queue
        self.buffers = buffers
        self.budget = budget
    }

    func storeChunk(_ chunk: UnsafeRawBufferPointer, id: ObjectID) async throws -> Bool {
        guard writer.reserve(id, .data) else { return false }
        try await budget.acquire(chunk.count)
        do {
            try await queue.send(SealJob(id: id, bytes: buffers.copy(chunk)))
        } catch {
            budget.release(chunk.count)
            throw error
        }
        return true
    }

    func flush() async throws {}
}
