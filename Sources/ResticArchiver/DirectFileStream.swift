#if canImport(Glibc)
import Glibc
#endif
import CartaeSync
import CLibcExtras

/// Reads a large regular file with O_DIRECT, on an OS thread of its own that stays a few
/// buffers ahead of the reader.
///
/// Through the page cache, reading the Swift toolchain's binaries (1.5 GB) cost 2.4-2.8 s of
/// kernel time against 0.55 s with O_DIRECT: the copy out of the cache and the cache's own upkeep
/// cost more than chunking the bytes. A direct read waits for the disk, though, and the readers
/// run on Swift's cooperative threads (one per core), so the reads happen here, ahead of need;
/// the reader only copies a filled buffer into its chunk buffer. Small files keep the page cache
/// and `ReadAhead`, which serves many of them at once.
final class DirectFileStream: @unchecked Sendable {
    /// Files this large or larger are read directly.
    static let threshold = 4 << 20
    static let bufferSize = 512 << 10
    static let bufferCount = 2
    /// O_DIRECT wants the buffer, the length and the file offset aligned to the device's
    /// logical block size; 4 KiB covers every common device.
    static let alignment = 4096

    private struct Filled {
        var index: Int
        var count: Int
    }

    private let fd: Int32
    private let buffers: UnsafeMutableRawPointer
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let roomFreed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var filled: [Filled] = []
    private var free: [Int]
    private var ended = false
    private var failure: Int32?
    private var stopping = false
    private var waiter: CheckedContinuation<Filled?, Never>?

    // The reader's side only.
    private var current: Filled?
    private var consumed = 0

    /// A stream over a copy of `fd`, or nil where O_DIRECT is refused (tmpfs, some FUSE file
    /// systems) or no thread can be started: the caller then reads `fd` the usual way.
    static func start(_ fd: Int32) -> DirectFileStream? {
        let copy = dup(fd)
        guard copy >= 0 else { return nil }
        // The flag is on the open file description the copy shares with `fd`, which the caller
        // no longer reads.
        guard cartae_set_direct_io(copy, 1) >= 0 else {
            close(copy)
            return nil
        }
        let stream = DirectFileStream(fd: copy)
        guard OSThread.start(stackSize: 64 * 1024, detached: true, { stream.run() }) != nil else {
            _ = cartae_set_direct_io(copy, 0)
            return nil
        }
        return stream
    }

    private init(fd: Int32) {
        self.fd = fd
        buffers = .allocate(byteCount: Self.bufferCount * Self.bufferSize, alignment: Self.alignment)
        free = Array((0..<Self.bufferCount).reversed())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(roomFreed, nil)
    }

    deinit {
        close(fd)
        buffers.deallocate()
        pthread_cond_destroy(roomFreed)
        pthread_mutex_destroy(mutex)
        roomFreed.deallocate()
        mutex.deallocate()
    }

    /// Copies the next bytes of the file into `into`; 0 at the end. Throws the read's errno.
    func read(into: UnsafeMutableRawBufferPointer) async throws(ReadFailure) -> Int {
        while true {
            if let piece = current, consumed < piece.count {
                let count = min(into.count, piece.count - consumed)
                into.baseAddress!.copyMemory(from: buffers + piece.index * Self.bufferSize + consumed, byteCount: count)
                consumed += count
                return count
            }
            if let done = current {
                current = nil
                giveBack(done.index)
            }
            guard let next = await nextFilled() else {
                if let code = locked({ failure }) { throw ReadFailure(code: code) }
                return 0
            }
            current = next
            consumed = 0
        }
    }

    struct ReadFailure: Error {
        let code: Int32
    }

    /// The reader is done with the file (at its end or not): the thread stops and, once it has,
    /// the buffers go.
    func finish() {
        locked {
            stopping = true
            pthread_cond_signal(roomFreed)
        }
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    private func giveBack(_ index: Int) {
        locked {
            free.append(index)
            pthread_cond_signal(roomFreed)
        }
    }

    private func nextFilled() async -> Filled? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Filled?, Never>) in
            pthread_mutex_lock(mutex)
            if !filled.isEmpty {
                let next = filled.removeFirst()
                pthread_mutex_unlock(mutex)
                continuation.resume(returning: next)
            } else if ended {
                pthread_mutex_unlock(mutex)
                continuation.resume(returning: nil)
            } else {
                waiter = continuation
                pthread_mutex_unlock(mutex)
            }
        }
    }

    private func run() {
        while true {
            pthread_mutex_lock(mutex)
            while free.isEmpty && !stopping { pthread_cond_wait(roomFreed, mutex) }
            if stopping {
                pthread_mutex_unlock(mutex)
                return
            }
            let index = free.removeLast()
            pthread_mutex_unlock(mutex)

            let (count, code) = readOnce(into: buffers + index * Self.bufferSize)

            pthread_mutex_lock(mutex)
            if count > 0 {
                filled.append(Filled(index: index, count: count))
            } else {
                free.append(index)
                ended = true
                failure = code
            }
            // Resumed after unlocking: resuming takes the waiting task's own lock, which a
            // cancelling task may hold while it waits for ours.
            var resume: (CheckedContinuation<Filled?, Never>, Filled?)?
            if let waiter {
                self.waiter = nil
                resume = (waiter, filled.isEmpty ? nil : filled.removeFirst())
            }
            let done = ended
            pthread_mutex_unlock(mutex)
            if let (continuation, next) = resume { continuation.resume(returning: next) }
            if done { return }
        }
    }

    /// One read of up to a buffer; (0, nil) at the end, (0, errno) on failure.
    private func readOnce(into buffer: UnsafeMutableRawPointer) -> (Int, Int32?) {
        while true {
            let n = Glibc.read(fd, buffer, Self.bufferSize)
            if n >= 0 { return (n, nil) }
            let code = errno
            if code == EINTR { continue }
            // After a short read (the file's unaligned tail, or a file that grew) the offset is
            // no longer aligned, and a direct read there is refused: go on through the cache.
            if code == EINVAL, cartae_set_direct_io(fd, 0) == 1 { continue }
            return (0, code)
        }
    }
}
