/// Objects too costly to make per use and unsafe to share (cipher, MAC and zstd contexts): a
/// task takes one, uses it alone and gives it back, so the next task need not make its own.
public final class SparePool<Item>: Sendable {
    /// Hands an item to whichever task takes it from the pool; only one holds it at a time.
    private struct Spare: @unchecked Sendable {
        let item: Item
    }

    private let spares = Locked<[Spare]>([])
    private let limit: Int

    /// Keeps at most `limit` items; one given back beyond that is let go.
    public init(limit: Int = .max) {
        self.limit = limit
    }

    public func take() -> Item? {
        spares.withLock { $0.popLast() }?.item
    }

    public func give(_ item: Item) {
        let spare = Spare(item: item)
        spares.withLock { if $0.count < limit { $0.append(spare) } }
    }
}
