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
final class ReadAhead: Sendable {
    /// One queued file. Whoever gets to it first, read-ahead or reader, decides whether it is
    /// advised: a file a reader already took is skipped.
    final class Ticket: Sendable {
        let path: [UInt8]
        let bytes: Int
        /// 0 queued, 1 advised (its bytes counted in flight), 2 taken by a reader.
        fileprivate let state = Atomic<Int>(0)

        init(path: [UInt8], bytes: Int) {
            self.path = path
            self.bytes = bytes
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

    private let state = Locked(State())
    private let wakeup = WakeUp()

    init() {
        // Without a thread nothing is advised: the readers then wait for the disk themselves.
        _ = OSThread.start(stackSize: 256 * 1024, detached: true) { [self] in run() }
    }

    /// Queues a file the walker has just handed to the readers.
    func submit(path: [UInt8], size: UInt64) -> Ticket {
        // A file read with O_DIRECT would not use what was read ahead into the page cache.
        let bytes = size >= UInt64(DirectFileStream.threshold) ? 0 : Int(min(size, UInt64(Self.headBytes)))
        let ticket = Ticket(path: path, bytes: bytes)
        state.withLock { $0.pending.append(ticket) }
        wakeup.signal()
        return ticket
    }

    /// A reader starts on the file: read-ahead must not advise it any more.
    func taken(_ ticket: Ticket) {
        let (exchanged, _) = ticket.state.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing)
        if exchanged { return }
        // Advised earlier: its bytes are now being read, which frees room in the window.
        if ticket.state.exchange(2, ordering: .acquiringAndReleasing) == 1 {
            state.withLock { $0.inFlight -= ticket.bytes }
            wakeup.signal()
        }
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
                Self.advise(ticket)
            }
        }
    }

    private static func advise(_ ticket: Ticket) {
        guard ticket.bytes > 0 else { return }  // empty, or read directly
        // O_NONBLOCK: a FIFO swapped in for the file since the walk must not hang this thread.
        let fd = SourceFS.withCString(ticket.path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        guard fd >= 0 else { return }  // the reader reports the error
        _ = posix_fadvise(fd, 0, off_t(ticket.bytes), POSIX_FADV_WILLNEED)
        Glibc.close(fd)
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
