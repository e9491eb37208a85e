#if canImport(Glibc)
import Glibc
#endif

/// A tree blob: the nodes of one directory, sorted by raw name bytes.
public struct Tree: Sendable, Equatable {
    public var nodes: [Node]

    public init(nodes: [Node]) {
        self.nodes = nodes
    }

    /// The bytes of the empty tree, `{"nodes":[]}\n`.
    public static let emptyTreeBytes: [UInt8] = Array("{\"nodes\":[]}\n".utf8)

    // MARK: order

    /// Go's string order: plain byte comparison.
    public static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        // memcmp compares bytes as unsigned, as `lexicographicallyPrecedes` would, at a
        // fraction of its cost: the walker and tree lookups compare names per entry.
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let n = min(pa.count, pb.count)
                if n > 0, let x = pa.baseAddress, let y = pb.baseAddress {
                    let order = memcmp(x, y, n)
                    if order != 0 { return order < 0 }
                }
                return pa.count < pb.count
            }
        }
    }

    /// Sorts nodes by raw name bytes, the order restic requires inside a tree.
    public static func sortNodes(_ nodes: inout [Node]) {
        nodes.sort { precedes($0.name, $1.name) }
    }

    /// True when names are strictly ascending (sorted, no duplicates) and none is empty — what
    /// restic's tree builder accepts.
    public var isSorted: Bool {
        firstOrderProblem == nil
    }

    /// Index of the first node that is empty-named, out of order or a duplicate.
    private var firstOrderProblem: Int? {
        for (i, node) in nodes.enumerated() {
            if node.name.isEmpty { return i }
            if i > 0 && !Tree.precedes(nodes[i - 1].name, node.name) { return i }
        }
        return nil
    }

    // MARK: lookup

    /// Binary search by raw name; the nodes must be sorted.
    public func node(named name: [UInt8]) -> Node? {
        var lo = 0, hi = nodes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Tree.precedes(nodes[mid].name, name) { lo = mid + 1 } else { hi = mid }
        }
        return lo < nodes.count && nodes[lo].name == name ? nodes[lo] : nil
    }

    public func node(named name: String) -> Node? {
        node(named: Array(name.utf8))
    }

    // MARK: encoding

    /// Exactly `{"nodes":[…]}\n` as restic writes a tree. Does not check the order: call
    /// `sortNodes` first, or use `encodeChecked()`.
    public func encode() -> [UInt8] {
        var w = GoJSONWriter(capacity: 64 + nodes.count * 400)
        w.beginObject()
        w.key("nodes")
        w.beginArray()
        for node in nodes { node.encode(into: &w) }
        w.endArray()
        w.endObject()
        w.bytes.append(0x0A)
        return w.bytes
    }

    /// Like `encode()`, but throws when names are empty, unsorted or repeated (restic's
    /// `ErrTreeNotOrdered`), so no tree restic would reject gets written.
    public func encodeChecked() throws -> [UInt8] {
        if let i = firstOrderProblem {
            let name = nodes[i].nameString
            if nodes[i].name.isEmpty {
                throw FormatError.invalidField("tree: node \(i) has an empty name")
            }
            throw FormatError.invalidField("tree: node \(i) \"\(name)\" is out of order or a duplicate")
        }
        return encode()
    }

    // MARK: decoding

    public static func decode(_ bytes: [UInt8]) throws -> Tree {
        try bytes.withUnsafeBytes { try decode($0) }
    }

    /// Decodes a tree blob: an object whose `nodes` is an array (or null); other keys are
    /// ignored. The order of nodes is kept as stored, not checked.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Tree {
        var r = JSONReader(bytes, what: "tree")
        var nodes: [Node] = []
        try r.beginObject()
        var first = true
        while try r.nextKey(&first) {
            guard r.keyIs("nodes") else {
                try r.skipValue()
                continue
            }
            nodes = []
            if try r.consumeNull() { continue }
            try r.beginArray()
            var firstNode = true
            while try r.nextElement(&firstNode) {
                do {
                    if try r.consumeNull() {
                        throw FormatError.invalidField("node is null")
                    }
                    nodes.append(try Node.decode(from: &r))
                } catch let e as FormatError {
                    throw e.adding(context: "tree node \(nodes.count)")
                }
            }
        }
        try r.finish()
        return Tree(nodes: nodes)
    }
}
