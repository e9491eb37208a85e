#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import CartaeSync
import CLibcExtras

/// A pack written into the repository's folder as its blobs are sealed, under a temporary name
/// in a `data/XX` folder (restic and our lister skip names that are not IDs), and renamed to
/// `data/YY/<id>` once its hash is known.
///
/// Why: a sealer assembling its 16 MiB pack in memory held up to 24 MiB until the upload; two
/// sealers were a third of the binaries' backup's peak RSS. Whole 256 KiB pieces are written
/// with O_DIRECT (as `POSIX.writeAllDirect` writes whole packs) by two shared OS threads, so
/// the sealer never waits on the disk unless four pieces are behind; the tail goes through the
/// cache at the end. Where O_DIRECT is refused, pieces go through the cache as well.
///
/// Dropped unsaved (an error, a cancelled run), it waits for its pieces in flight and removes
/// the file before the drop returns: the writer threads hold `SpoolFile`, never the spool.
final class LocalSpool: BackendSpool, @unchecked Sendable {
    static let piece = 256 << 10
    static let buffers = 4
    private static let writers = ThreadPool(threads: 2)
    /// Buffers of finished spools, for the next: fresh ones would be pages to fault in per pack.
    private static let spares = SparePool<SpareBuffer>(limit: 4 * buffers)

    /// One aligned piece buffer; freed when the pool lets it go.
    private final class SpareBuffer: @unchecked Sendable {
        let address = UnsafeMutableRawPointer.allocate(byteCount: LocalSpool.piece, alignment: 4096)
        deinit { address.deallocate() }
    }

    private let file: SpoolFile
    /// This spool's buffers, held for its lifetime; the file's idle list and `current` are
    /// their addresses.
    private let owned: [SpareBuffer]
    // The appending task's own: the buffer being filled, its fill, and where it goes in the file.
    private var current: UnsafeMutableRawPointer
    private var pending = 0
    private var offset = 0
    private(set) var count = 0
    private var committed = false

    init(folder: String) throws {
        var buffers: [SpareBuffer] = []
        for _ in 0..<Self.buffers { buffers.append(Self.spares.take() ?? SpareBuffer()) }
        var addresses = buffers.map { $0.address }
        current = addresses.removeLast()
        owned = buffers
        file = try SpoolFile(folder: folder, idle: addresses)
    }

    deinit {
        if !committed { file.discard() }
        for buffer in owned { Self.spares.give(buffer) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = min(Self.piece - pending, bytes.count - done)
            (current + pending).copyMemory(from: base + done, byteCount: n)
            pending += n
            done += n
            if pending == Self.piece { try handOver() }
        }
        count += bytes.count
    }

    /// Gives the full buffer to a writer thread and takes an idle one, waiting for one only
    /// when every buffer is still being written.
    private func handOver() throws {
        let file = file, at = offset
        let address = Int(bitPattern: current)
        file.started()
        if Self.writers.threadCount == 0 {
            file.write(current, count: Self.piece, at: at)
        } else {
            Self.writers.submit([{ file.write(UnsafeMutableRawPointer(bitPattern: address)!, count: Self.piece, at: at) }])
        }
        offset += pending
        pending = 0
        current = try file.takeIdle()
    }

    /// Writes the partial last piece through the cache, after every whole one.
    private func finishWrites() throws {
        if let failed = file.drain() { throw failed }
        if pending > 0 {
            try file.writeTail(current, count: pending, at: offset)
            offset += pending
            pending = 0
        }
    }

    func contents() throws -> [UInt8] {
        try finishWrites()
        return try file.readAll(count: count)
    }

    /// Makes the file durable and gives it its name, as `LocalBackend.save` does a whole file.
    func commit(to final: String) throws {
        do {
            try finishWrites()
            try file.commit(to: final)
            committed = true
        } catch {
            file.discard()
            guard let failure = error as? ResticError else { throw error }
            throw ResticError(failure.kind, failure.message.replacingOccurrences(of: file.temp, with: final))
        }
    }
}

/// The temporary file of a `LocalSpool` and what its writer threads share: the descriptors,
/// the idle buffers, the writes under way and the first failure.
private final class SpoolFile: @unchecked Sendable {
    let temp: String
    /// Where the file was to go, for messages: the temporary name means nothing to a reader.
    private let destination: String
    /// `plain` writes through the cache; `direct` is a second descriptor with O_DIRECT, or -1.
    private var plain: Int32 = -1
    private var direct: Int32 = -1
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let written = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var idle: [UnsafeMutableRawPointer]
    private var inFlight = 0
    private var failure: ResticError?

    init(folder: String, idle: [UnsafeMutableRawPointer]) throws {
        temp = folder + "/.tmp-pack-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        destination = folder + "/"
        self.idle = idle
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(written, nil)
        do {
            try POSIX.makeDirectory(folder)
            plain = try POSIX.open(temp, O_RDWR | O_CREAT | O_EXCL, 0o600)
        } catch let error as ResticError {
            throw repositoryError(error)
        }
        let second = Glibc.open(temp, O_WRONLY | O_CLOEXEC)
        if second >= 0 {
            if cartae_set_direct_io(second, 1) >= 0 { direct = second } else { close(second) }
        }
    }

    deinit {
        closeFiles()
        pthread_cond_destroy(written)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        written.deallocate()
    }

    func started() {
        pthread_mutex_lock(mutex)
        inFlight += 1
        pthread_mutex_unlock(mutex)
    }

    /// An idle buffer, once one is; the first failure of a write, if any, instead.
    func takeIdle() throws -> UnsafeMutableRawPointer {
        pthread_mutex_lock(mutex)
        while idle.isEmpty { pthread_cond_wait(written, mutex) }
        let buffer = idle.removeLast()
        let failed = failure
        pthread_mutex_unlock(mutex)
        if let failed { throw failed }
        return buffer
    }

    /// On a writer thread: one whole piece, direct if possible; the buffer is idle afterwards.
    func write(_ buffer: UnsafeMutableRawPointer, count: Int, at position: Int) {
        var error: ResticError?
        var done = 0
        if direct >= 0 { done = POSIX.pwriteAll(direct, buffer, count: count, at: position) }
        if done < count && POSIX.pwriteAll(plain, buffer + done, count: count - done, at: position + done) < count - done {
            error = repositoryError(POSIX.error("write", temp))
        }
        pthread_mutex_lock(mutex)
        if failure == nil { failure = error }
        idle.append(buffer)
        inFlight -= 1
        pthread_cond_broadcast(written)
        pthread_mutex_unlock(mutex)
    }

    /// The unaligned end, through the cache, after `drain`.
    func writeTail(_ buffer: UnsafeMutableRawPointer, count: Int, at position: Int) throws {
        if POSIX.pwriteAll(plain, buffer, count: count, at: position) < count {
            throw repositoryError(POSIX.error("write", temp))
        }
    }

    /// Waits for the writer threads to finish this file's pieces; the first failure, if any.
    func drain() -> ResticError? {
        pthread_mutex_lock(mutex)
        while inFlight > 0 { pthread_cond_wait(written, mutex) }
        let failed = failure
        pthread_mutex_unlock(mutex)
        return failed
    }

    func readAll(count: Int) throws -> [UInt8] {
        try POSIX.pread(plain, count: count, offset: 0, path: temp)
    }

    func commit(to final: String) throws {
        if fsync(plain) != 0 { throw repositoryError(POSIX.error("fsync", temp)) }
        let slash = final.lastIndex(of: "/") ?? final.startIndex
        let folder = String(final[..<slash])
        try POSIX.makeDirectory(folder)
        if rename(temp, final) != 0 { throw POSIX.error("rename", final) }
        closeFiles()
        POSIX.fsyncDirectory(folder)
    }

    /// Waits for the pieces in flight, closes and removes the file.
    func discard() {
        _ = drain()
        closeFiles()
        unlink(temp)
    }

    private func closeFiles() {
        if plain >= 0 { close(plain) }
        if direct >= 0 { close(direct) }
        plain = -1
        direct = -1
    }

    /// A pack that cannot be written stops the run (as a failed save does), so the error is not
    /// `.io`, which backup reads as an unreadable source file; it names the folder, not the
    /// temporary name.
    private func repositoryError(_ error: ResticError) -> ResticError {
        ResticError(.other, error.message.replacingOccurrences(of: temp, with: destination + " (new pack)"))
    }
}
