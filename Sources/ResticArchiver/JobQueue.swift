import CartaeSync

/// A bounded first-in first-out queue between tasks. `send` waits while the queue is full,
/// which is what keeps a fast producer (the directory walker) from holding the whole source
/// tree in memory while slow consumers (file readers) catch up. Closing or cancelling wakes
/// everyone: consumers then get nil, producers get `CancellationError`.
final class JobQueue<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        var items: [Element?] = []
        var head = 0
        var closed = false
        var consumers: [CheckedContinuation<Element?, Never>] = []
        var producers: [CheckedContinuation<Bool, Never>] = []

        var count: Int { items.count - head }

        mutating func popFirst() -> Element? {
            guard head < items.count else { return nil }
            let item = items[head]
            items[head] = nil
            head += 1
            // Compact now and then so the array does not grow with every item ever sent.
            if head >= 1024 && head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return item
        }

        mutating func takeProducer() -> CheckedContinuation<Bool, Never>? {
            producers.isEmpty ? nil : producers.removeFirst()
        }
    }

    /// Continuations are resumed only after the lock is released: resuming takes the resumed
    /// task's status lock, and a task group cancelling that task holds its status lock while it
    /// runs the task's cancellation handler, which takes this queue's lock (`close`). Resuming
    /// under the lock deadlocked a backup interrupted with SIGINT.
    private enum SendStep { case done, handOver(CheckedContinuation<Element?, Never>), wait, closed }

    private let state = Locked(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Hands `item` to a waiting consumer or queues it; waits while the queue is full.
    func send(_ item: Element) async throws {
        while true {
            let step: SendStep = state.withLock { state in
                if state.closed { return .closed }
                if !state.consumers.isEmpty { return .handOver(state.consumers.removeFirst()) }
                if state.count < capacity {
                    state.items.append(item)
                    return .done
                }
                return .wait
            }
            switch step {
            case .done: return
            case .handOver(let consumer):
                consumer.resume(returning: item)
                return
            case .closed: throw CancellationError()
            case .wait:
                let open = await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                        let resumeNow: Bool? = state.withLock { state in
                            if state.closed { return false }
                            if state.count < capacity { return true }
                            state.producers.append(continuation)
                            return nil
                        }
                        if let resumeNow { continuation.resume(returning: resumeNow) }
                    }
                } onCancel: {
                    close()
                }
                if !open { throw CancellationError() }
            }
        }
    }

    /// The next item, or nil once the queue is closed and drained.
    func next() async -> Element? {
        let (ready, producer) = state.withLock { state -> (Element??, CheckedContinuation<Bool, Never>?) in
            if let item = state.popFirst() { return (.some(item), state.takeProducer()) }
            return (state.closed ? .some(nil) : nil, nil)
        }
        producer?.resume(returning: true)
        if let ready { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let (ready, producer) = state.withLock { state -> (Element??, CheckedContinuation<Bool, Never>?) in
                    if let item = state.popFirst() { return (.some(item), state.takeProducer()) }
                    if state.closed { return (.some(nil), nil) }
                    // A producer woken by an earlier pop may have handed its item straight to a
                    // consumer, leaving another producer asleep beside an empty queue: a consumer
                    // about to wait wakes one, which then hands it an item.
                    let producer = state.takeProducer()
                    state.consumers.append(continuation)
                    return (nil, producer)
                }
                producer?.resume(returning: true)
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            close()
        }
    }

    /// Nothing queued: the consumers have taken everything sent (or nothing was).
    var isEmpty: Bool {
        state.withLock { $0.count == 0 }
    }

    /// No more items will be sent: waiting consumers get nil once the queue is drained,
    /// waiting producers are released with an error.
    func close() {
        let (consumers, producers) = state.withLock { state in
            state.closed = true
            let waiting = (state.consumers, state.producers)
            state.consumers = []
            state.producers = []
            return waiting
        }
        for consumer in consumers { consumer.resume(returning: nil) }
        for producer in producers { producer.resume(returning: false) }
    }
}
