#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CartaeSync
import Synchronization

/// Asks the kernel to start reading the files queued for the readers before they get to them.
/// On a cold cache a backup of many small files otherwise waits for one disk read at a time per
/// reader, and the readers run on Swift's cooperative pool (as many threads as cores), so more
/// readers cannot add I/O depth without starving the sealers. One thread of its own issues
/// `posix_fadvise(WILLNEED)` for the files in the order the walker queued them: that only
/// submits the reads and returns, so the device gets many requests at once while the readers
/// later find the data in the page cache. Nothing is read into this process: the bound is on
/// bytes advised and not yet read (page cache, not our memory), so a slow reader never makes the
/// kernel evict what it was asked to keep.
///
/// The descriptor opened to advise a file is kept for its reader (up to `heldLimit` at once):
/// opening every small file twice cost a backup of `/usr/share` about 2% of its time.
final class ReadAhead: Sendable {
    /// One queued file. Whoever gets to it first, read-ahead or reader, decides whether it is
    /// advised: a file a reader already took is skipped.
    final class Ticket: Sendable {
        let path: [UInt8]
        let bytes: Int
        /// 0 queued, 1 being advised (its bytes counted in flight), 2 taken by a reader,
        /// 3 advised with `descriptor` open for the reader.
        fileprivate let state = Atomic<Int>(0)
        fileprivate let descriptor = Atomic<Int32>(-1)
        fileprivate let held: HeldCount

        init(path: [UInt8], bytes: Int, held: HeldCount) {
            self.path = path
            self.bytes = bytes
            self.held = held
        }

        /// Advised, with a descriptor open for the reader (for tests).
        var holdsDescriptor: Bool { state.load(ordering: .acquiring) == 3 }
        var heldDescriptor: Int32? { holdsDescriptor ? descriptor.load(ordering: .relaxed) : nil }

        /// A backup that stopped before its readers got here leaves the descriptor to close.
        deinit {
            if state.load(ordering: .acquiring) == 3 {
                Glibc.close(descriptor.load(ordering: .relaxed))
                held.count.subtract(1, ordering: .relaxed)
            }
        }
    }

    private struct State: ~Copyable {
        var pending: [Ticket] = []
        var head = 0
        var inFlight = 0
        var closed = false
    }

    /// Bytes advised and not yet read: deep enough for the device to serve many small files at
    /// once, small next to the page cache of any machine this runs on.
    static let window = 64 << 20
    /// Of a large file only its head is advised: the readers' sequential reads keep the
    /// kernel's own read-ahead going after that, and a multi-gigabyte file must not fill the
    /// window on its own.
    static let headBytes = 8 << 20
    /// Descriptors kept open for readers at most: a quarter of the process's file limit
    /// (raised to its hard limit at start), enough for the small files a full window holds.
    static let heldLimit: Int = {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 64 }
        return Int(min(8192, max(64, limit.rlim_cur / 4)))
    }()

    /// Descriptors open in tickets. Its own object, so tickets need not point back here.
    final class HeldCount: Sendable {
        let count = Atomic<Int>(0)
    }

    private let state = Locked(State())
    private let held = HeldCount()
    private let wakeup = WakeUp()

    init() {
        // Without a thread nothing is advised: the readers then wait for the disk themselves.
        _ = OSThread.start(stackSize: 256 * 1024, detached: true) { [self] in run() }
    }

    /// Queues a file the walker has just handed to the readers.
    func submit(path: [UInt8], size: UInt64) -> Ticket {
        // A file read with O_DIRECT would not use what was read ahead into the page cache.
        let bytes = size >= UInt64(DirectFileStream.threshold) ? 0 : Int(min(size, UInt64(Self.headBytes)))
        let ticket = Ticket(path: path, bytes: bytes, held: held)
        state.withLock { $0.pending.append(ticket) }
        wakeup.signal()
        return ticket
    }

    /// A reader starts on the file: read-ahead must not advise it any more. Returns the
    /// descriptor read-ahead opened for it, if any, which the reader then owns.
    func taken(_ ticket: Ticket) -> Int32? {
        switch ticket.state.exchange(2, ordering: .acquiringAndReleasing) {
        case 1:
            // Being advised: its bytes are now being read, which frees room in the window. The
            // read-ahead thread closes its descriptor, seeing the ticket taken.
            release(ticket)
            return nil
        case 3:
            release(ticket)
            held.count.subtract(1, ordering: .relaxed)
            return ticket.descriptor.load(ordering: .relaxed)
        default:
            return nil
        }
    }

    private func release(_ ticket: Ticket) {
        state.withLock { $0.inFlight -= ticket.bytes }
        wakeup.signal()
    }

    /// No more files will be queued: the thread exits once it has advised those it has.
    func close() {
        state.withLock { $0.closed = true }
        wakeup.signal()
    }

    /// The backup stops: the thread exits without advising the rest.
    func stop() {
        state.withLock { state in
            state.closed = true
            state.pending = []
            state.head = 0
        }
        wakeup.signal()
    }

    private enum Step { case advise(Ticket), wait, stop }

    private func run() {
        while true {
            let step: Step = state.withLock { state in
                if state.closed && state.head >= state.pending.count { return .stop }
                guard state.head < state.pending.count, state.inFlight < Self.window else { return .wait }
                let ticket = state.pending[state.head]
                state.head += 1
                if state.head >= 1024 && state.head * 2 >= state.pending.count {
                    state.pending.removeFirst(state.head)
                    state.head = 0
                }
                // Counted before it is claimed, so a reader that takes it at once can subtract.
                state.inFlight += ticket.bytes
                return .advise(ticket)
            }
            switch step {
            case .stop: return
            case .wait: wakeup.wait()
            case .advise(let ticket):
                guard ticket.state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged else {
                    state.withLock { $0.inFlight -= ticket.bytes }
                    continue
                }
                advise(ticket)
            }
        }
    }

    private func advise(_ ticket: Ticket) {
        guard ticket.bytes > 0 else { return }  // empty, or read directly
        // O_NONBLOCK: a FIFO swapped in for the file since the walk must not hang this thread.
        let fd = SourceFS.withCString(ticket.path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        guard fd >= 0 else { return }  // the reader reports the error
        _ = posix_fadvise(fd, 0, off_t(ticket.bytes), POSIX_FADV_WILLNEED)
        guard held.count.load(ordering: .relaxed) < Self.heldLimit else {
            Glibc.close(fd)
            return
        }
        ticket.descriptor.store(fd, ordering: .relaxed)
        held.count.add(1, ordering: .relaxed)
        guard ticket.state.compareExchange(expected: 1, desired: 3, ordering: .acquiringAndReleasing).exchanged else {
            held.count.subtract(1, ordering: .relaxed)
            Glibc.close(fd)
            return
        }
    }
}

/// Lets the read-ahead thread sleep until there is something to do. A signal sent while the
/// thread is busy is remembered, so none is lost between its check and its wait.
private final class WakeUp: @unchecked Sendable {
    private let condition = NSCondition()
    private var signalled = false

    func signal() {
        condition.lock()
        signalled = true
        condition.signal()
        condition.unlock()
    }

    func wait() {
        condition.lock()
        while !signalled { condition.wait() }
        signalled = false
        condition.unlock()
    }
}
