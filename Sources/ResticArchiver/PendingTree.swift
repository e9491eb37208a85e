import ResticCore
import CartaeSync

/// A directory whose tree is being assembled. Entries arrive from the walker (metadata,
/// unchanged files) and from the file readers (files just stored), in any order; whoever
/// delivers the last one writes the tree and hands the directory's node to its parent. So a
/// directory is written, and its memory freed, as soon as its own contents are stored, and
/// the walker never waits for readers except when the job queue is full.
final class PendingTree: Sendable {
    /// The directory's own node; its `subtree` is filled in when the tree is written.
    let node: Node
    let path: [UInt8]
    let parent: PendingTree?
    /// Where this directory's node goes in the parent's entries.
    let slot: Int
    /// The parent snapshot's tree for this directory, if it had one.
    let parentSubtree: ObjectID?
    let existedInParent: Bool

    private struct State: ~Copyable {
        var entries: [Node?] = []
        /// Entries still to come, plus one while the walker is still listing the directory.
        var outstanding = 1
        /// The parent snapshot's entries of this directory, once the walker has loaded them.
        var parentNodes: [Node]?
    }

    private let state = Locked(State())

    init(node: Node, path: [UInt8], parent: PendingTree?, parentSubtree: ObjectID?, existedInParent: Bool) {
        self.node = node
        self.path = path
        self.parent = parent
        self.parentSubtree = parentSubtree
        self.existedInParent = existedInParent
        slot = parent?.reserveSlot() ?? 0
    }

    /// The virtual root of a snapshot, above the targets' first path components.
    var isRoot: Bool { parent == nil }

    /// An entry known right away.
    func add(_ node: Node) {
        state.withLock { $0.entries.append(node) }
    }

    /// A place for an entry that another task will deliver with `deliver`.
    func reserveSlot() -> Int {
        state.withLock { state in
            state.entries.append(nil)
            state.outstanding += 1
            return state.entries.count - 1
        }
    }

    /// Fills a reserved slot (nil: the entry could not be stored and is left out). Returns true
    /// when that completed the directory: the caller must then write its tree.
    func deliver(_ node: Node?, to slot: Int) -> Bool {
        state.withLock { state in
            state.entries[slot] = node
            state.outstanding -= 1
            return state.outstanding == 0
        }
    }

    /// The walker has listed every entry. Returns true when nothing else is outstanding.
    func listingFinished() -> Bool {
        state.withLock { state in
            state.outstanding -= 1
            return state.outstanding == 0
        }
    }

    /// Keeps the parent snapshot's entries for `reusableParentSubtree`.
    func keepParentNodes(_ nodes: [Node]) {
        state.withLock { $0.parentNodes = nodes }
    }

    /// The parent snapshot's tree when `entries` are exactly its nodes: the directory's tree is
    /// then that tree, and need not be encoded and hashed again to find out.
    func reusableParentSubtree(for entries: [Node]) -> ObjectID? {
        guard let parentSubtree else { return nil }
        let parentNodes = state.withLock { state in
            let nodes = state.parentNodes
            state.parentNodes = nil
            return nodes
        }
        return parentNodes == entries ? parentSubtree : nil
    }

    /// The entries in restic's order (sorted by name), taken out: called once, when complete.
    func takeEntries() -> [Node] {
        var nodes = state.withLock { state in
            let entries = state.entries
            state.entries = []
            return entries
        }.compactMap { $0 }
        nodes.sort { $0.name.lexicographicallyPrecedes($1.name) }
        return nodes
    }
}

/// A regular file the walker found changed or new, for a reader task to store.
struct FileJob: Sendable {
    var node: Node
    let path: [UInt8]
    let directory: PendingTree
    let slot: Int
    let existedInParent: Bool
    /// The file's place in the read-ahead queue.
    let ticket: ReadAhead.Ticket
}
