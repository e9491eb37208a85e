import ResticCore
import ResticChunker
import ResticRepository
import CartaeSync
import Synchronization

/// What the tasks of one backup share: the writer, the counters for the summary, and the
/// writing of trees, which whichever task completes a directory performs.
final class BackupRun: Sendable {
    let repository: IndexedRepository
    let options: BackupOptions
    let progress: BackupProgress
    let writer: RepositoryWriter
    /// Changed and new files on their way from the walker to the readers.
    let queue: JobQueue<FileJob>
    /// New chunks on their way from the readers to the sealing tasks.
    let chunks: JobQueue<SealJob>
    let chunkBuffers: ChunkBufferPool
    /// Bytes of chunk copies not yet sealed. A count of chunks alone does not bound memory, as
    /// a chunk may be anything from 512 KiB to 8 MiB: six maximal chunks in flight (two queued,
    /// two being sealed, two made by readers waiting for room) were 48 MiB. Two of the largest
    /// keep both sealers of a 2-core machine busy.
    let chunkBytes = AsyncBudget(limit: 2 * Chunker.maxSize)
    let readAhead = ReadAhead()
    let walkerSlots = WalkerSlots(Archiver.sealers - 1, spare: 3 * Archiver.sealers)
    /// User and group names, looked up once per ID for the whole run: every walker task shares
    /// them (a lookup reads /etc/passwd or asks NSS).
    let owners = OwnerNames()
    private let tally = Locked(BackupSummary())
    private let rootTree = Locked<ObjectID?>(nil)
    private let readersLeft: Atomic<Int>

    /// Files the walker may run ahead of the readers: enough for read-ahead to keep the disk
    /// busy across runs of tiny files (a queued job is a few hundred bytes), few enough that
    /// memory stays small.
    static let queueCapacity = 4096
    /// Chunks waiting for a sealer: one per sealer keeps them busy; each may be 8 MiB.
    static let chunkQueueCapacity = 2

    init(repository: IndexedRepository, options: BackupOptions, progress: BackupProgress, writer: RepositoryWriter) {
        self.repository = repository
        self.options = options
        self.progress = progress
        self.writer = writer
        queue = JobQueue(capacity: Self.queueCapacity)
        chunks = JobQueue(capacity: Self.chunkQueueCapacity)
        chunkBuffers = ChunkBufferPool(limit: Self.chunkQueueCapacity + 2)
        readersLeft = Atomic(max(1, options.fileConcurrency))
    }

    var summary: BackupSummary { tally.withLock { $0 } }
    var root: ObjectID? { rootTree.withLock { $0 } }

    func count(_ update: (inout BackupSummary) -> Void) {
        tally.withLock { update(&$0) }
    }

    func warn(_ message: String) {
        tally.withLock { $0.warnings.append(message) }
        progress.failed()
    }

    func makeSealer() throws -> BlobSealer {
        try BlobSealer(repository: repository.repository, compression: options.compression, verify: options.verifyBeforeUpload)
    }

    /// Sealers for trees, made when a tree is first written: most directories of an incremental
    /// backup reuse their parent's tree and write none, while every walker task would otherwise
    /// build zstd and cipher contexts of its own (a few percent of an unchanged backup).
    private let treeSealers = SparePool<BlobSealer>()

    private func saveTree(_ bytes: [UInt8]) async throws -> ObjectID {
        let sealer = try treeSealers.take() ?? makeSealer()
        defer { treeSealers.give(sealer) }
        return try await writer.save(bytes, .tree, sealer: sealer).0
    }

    /// Writes the tree of a complete directory, then of every ancestor this completes in turn.
    func finish(_ tree: PendingTree) async throws {
        var current = tree
        while true {
            let entries = current.takeEntries()
            let id: ObjectID
            // An unchanged directory has its parent's tree; it must still be in the index (a
            // damaged repository may have lost it), or it is written again.
            if let same = current.reusableParentSubtree(for: entries), repository.index.contains(same, .tree) {
                id = same
            } else {
                id = try await saveTree(Tree(nodes: entries).encode())
            }
            // The virtual root holds the targets' first components; restic does not count it.
            guard let parent = current.parent else {
                rootTree.withLock { $0 = id }
                return
            }
            let existed = current.existedInParent, unchanged = id == current.parentSubtree
            count { summary in
                if !existed {
                    summary.dirsNew += 1
                } else if unchanged {
                    summary.dirsUnmodified += 1
                } else {
                    summary.dirsChanged += 1
                }
            }
            var node = current.node
            node.subtree = id
            guard parent.deliver(node, to: current.slot) else { return }
            current = parent
        }
    }

    /// One reader: takes files off the queue until it is closed, cuts and hashes them, passes
    /// new chunks to the sealers, and delivers the files' nodes. The last reader to finish
    /// closes the chunk queue.
    func readFiles(tables: ChunkerTables) async throws {
        defer {
            if readersLeft.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { chunks.close() }
        }
        let reader = ChunkedReader(sink: SealQueueSink(writer: writer, queue: chunks, buffers: chunkBuffers, budget: chunkBytes), tables: tables)
        let progress = progress
        while let job = await queue.next() {
            var node: Node? = job.node
            let opened = readAhead.taken(job.ticket)
            do {
                let result = try await reader.storeFile(job.path, opened: opened) {
                    progress.processed(files: 0, bytes: UInt64($0))
                }
                node?.content = result.content
                // The size restic records is what was read, even if the file changed meanwhile.
                node?.size = result.bytesRead
                count { if job.existedInParent { $0.filesChanged += 1 } else { $0.filesNew += 1 } }
                progress.processed(files: 1, bytes: 0, current: SourceFS.describe(job.path))
            } catch let error as ResticError where error.kind == .io || error.kind == .notFound {
                warn("\(error)")
                node = nil
            }
            // A file's blobs may still wait for a sealer: the snapshot is written only after
            // every sealer has flushed, so the tree may name them already.
            if job.directory.deliver(node, to: job.slot) { try await finish(job.directory) }
        }
    }

    /// One sealer: compresses, encrypts and packs the chunks the readers found new, with its
    /// own contexts and its own open pack, until the readers are done.
    func sealChunks() async throws {
        let packer = BlobPacker(writer: writer, sealer: try makeSealer())
        while var job = await chunks.next() {
            let sealed = Result { try job.bytes.withUnsafeBytes { try packer.append($0, id: job.id) } }
            let bytes = job.bytes
            job.bytes = []
            chunkBytes.release(bytes.count)
            chunkBuffers.recycle(consume bytes)
            if let full = try sealed.get().full { try await packer.upload(full) }
        }
        try await packer.flush()
    }
}

/// How many walker tasks may run besides the first: a subdirectory's walk, or the second half
/// of a large directory's entries. Walking is system calls and tree encoding; for an unchanged
/// backup it is all the work, so every core should share it. A task takes a free slot only when
/// it reaches a subdirectory or a split point, so a few slots per core keep one ready when
/// another task is busy in a large folder or waiting for its parent tree: in the walk of an
/// unchanged /usr/share both cores were busy about 60% of the time with one slot, about 75%
/// with seven and large folders split (the whole backup 0.94 → 0.90 s, ten alternating runs).
/// When files are being read, the walker only has to stay ahead of the readers, and more
/// walkers competing with them for the cores cost the first backup of /usr/share 3% (3.52 →
/// 3.62 s): the spare slots are taken only while no file waits for a reader.
final class WalkerSlots: Sendable {
    private let free: Atomic<Int>
    private let spare: Int

    init(_ count: Int, spare: Int) {
        free = Atomic(max(0, count) + max(0, spare))
        self.spare = max(0, spare)
    }

    /// Takes a slot: one of the spare ones only if `walkIsTheWork` says so when the others are
    /// taken.
    func tryAcquire(spareIf walkIsTheWork: @autoclosure () -> Bool) -> Bool {
        if take(keeping: spare) { return true }
        return walkIsTheWork() && take(keeping: 0)
    }

    private func take(keeping reserved: Int) -> Bool {
        var current = free.load(ordering: .relaxed)
        while current > reserved {
            let (exchanged, original) = free.compareExchange(expected: current, desired: current - 1,
                                                             ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() {
        free.add(1, ordering: .acquiringAndReleasing)
    }
}
