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
    }

    private enum SendStep { case done, wait, closed }

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
                if !state.consumers.isEmpty {
                    state.consumers.removeFirst().resume(returning: item)
                    return .done
                }
                if state.count < capacity {
                    state.items.append(item)
                    return .done
                }
                return .wait
            }
            switch step {
            case .done: return
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
        if let item = state.withLock({ state -> Element?? in
            if let item = state.popFirst() {
                if !state.producers.isEmpty { state.producers.removeFirst().resume(returning: true) }
                return .some(item)
            }
            return state.closed ? .some(nil) : nil
        }) {
            return item
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let ready: Element?? = state.withLock { state in
                    if let item = state.popFirst() {
                        if !state.producers.isEmpty { state.producers.removeFirst().resume(returning: true) }
                        return .some(item)
                    }
                    if state.closed { return .some(nil) }
                    // A producer woken by an earlier pop may have handed its item straight to a
                    // consumer, leaving another producer asleep beside an empty queue: a consumer
                    // about to wait wakes one, which then hands it an item.
                    if !state.producers.isEmpty { state.producers.removeFirst().resume(returning: true) }
                    state.consumers.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            close()
        }
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
