import ResticChunker
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
/// a fresh multi-megabyte buffer per chunk costs a page fault per 4 KiB and an munmap (for
/// 1.5 GB of binaries, 0.3 CPU-s of 7). Two sizes circulate, so a pooled buffer stays no
/// more resident than its class: most chunks fit the small one (restic's average chunk is
/// 1 MiB), and the few spare large ones hold the rare chunks up to the chunker's 8 MiB.
final class ChunkBufferPool: Sendable {
    private let small = Locked<[[UInt8]]>([])
    private let large = Locked<[[UInt8]]>([])
    let limit: Int
    static let smallCapacity = 2 << 20
    static let largeCapacity = Chunker.maxSize
    /// Spare large buffers: the chunk budget lets two of the largest be in flight.
    static let largeLimit = 2

    init(limit: Int) {
        self.limit = limit
    }

    /// A buffer holding a copy of `chunk`.
    func copy(_ chunk: UnsafeRawBufferPointer) -> [UInt8] {
        let isSmall = chunk.count <= Self.smallCapacity
        var buffer = (isSmall ? small.withLock { $0.popLast() } : large.withLock { $0.popLast() }) ?? []
        buffer.removeAll(keepingCapacity: true)
        buffer.reserveCapacity(isSmall ? Self.smallCapacity : Self.largeCapacity)
        buffer.append(contentsOf: chunk)
        return buffer
    }

    func recycle(_ buffer: [UInt8]) {
        let capacity = buffer.capacity
        if capacity <= 2 * Self.smallCapacity {
            small.withLock { if $0.count < limit { $0.append(buffer) } }
        } else if capacity <= 2 * Self.largeCapacity {
            large.withLock { if $0.count < Self.largeLimit { $0.append(buffer) } }
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
