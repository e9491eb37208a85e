import ResticCore
import ResticRepository

/// The result of checking one tree: its problems and the subtrees still to visit.
struct TreeCheck: Sendable {
    var id: ObjectID
    var errors: [String]
    var subtrees: [ObjectID]
}

extension Checker {
    /// Loads every snapshot and walks every tree reachable from them once: each must load and
    /// decode, and its nodes must be well formed and name only indexed blobs.
    public func checkStructure(_ index: CheckedIndex, report: (CheckFinding) -> Void) async throws {
        let roots = try await snapshotTrees(report: report)
        try await walkTrees(from: roots, index: index, report: report)
    }

    /// The root tree of every snapshot that loads; the others are reported.
    func snapshotTrees(report: (CheckFinding) -> Void) async throws -> [ObjectID] {
        let ids = try await repository.list(.snapshot).sorted()
        var roots: [ObjectID: ObjectID] = [:]
        var failures: [(ObjectID, String)] = []
        let repository = self.repository
        await withTaskGroup(of: (ObjectID, Result<ObjectID, Error>).self) { group in
            var pending = ids[...]
            func startNext(_ group: inout TaskGroup<(ObjectID, Result<ObjectID, Error>)>) {
                guard let id = pending.popFirst() else { return }
                group.addTask {
                    do {
                        return (id, .success(try await repository.loadSnapshot(id).tree))
                    } catch {
                        return (id, .failure(error))
                    }
                }
            }
            for _ in 0..<concurrency { startNext(&group) }
            while let (id, result) = await group.next() {
                startNext(&group)
                switch result {
                case .success(let tree): roots[id] = tree
                case .failure(let error): failures.append((id, "\(error)"))
                }
            }
        }
        for (id, message) in failures.sorted(by: { $0.0 < $1.0 }) {
            report(CheckFinding(.snapshot, id, [message]))
        }
        return roots.sorted { $0.key < $1.key }.map(\.value)
    }

    /// Depth first over all trees, `concurrency` loads at a time. Only the IDs of visited trees
    /// and of subtrees not yet loaded are kept, never the trees.
    func walkTrees(from roots: [ObjectID], index: CheckedIndex, report: (CheckFinding) -> Void) async throws {
        var visited = Set<ObjectID>()
        var backlog = Array(roots.reversed())
        let indexed = index.indexed
        try await withThrowingTaskGroup(of: TreeCheck.self) { group in
            var running = 0
            while true {
                while running < concurrency, let next = backlog.popLast() {
                    guard visited.insert(next).inserted else { continue }
                    group.addTask { await Self.checkTree(next, in: indexed) }
                    running += 1
                }
                guard running > 0, let result = try await group.next() else { break }
                running -= 1
                try Task.checkCancellation()
                if !result.errors.isEmpty {
                    report(CheckFinding(.tree, result.id, result.errors))
                }
                backlog.append(contentsOf: result.subtrees.reversed())
            }
        }
    }

    static func checkTree(_ id: ObjectID, in indexed: IndexedRepository) async -> TreeCheck {
        do {
            let tree = try await indexed.loadTree(id)
            let (errors, subtrees) = problems(in: tree, id: id, index: indexed.index)
            return TreeCheck(id: id, errors: errors, subtrees: subtrees)
        } catch {
            return TreeCheck(id: id, errors: ["\(error)"], subtrees: [])
        }
    }

    /// restic's node rules: files need a content list of indexed data blobs, directories a
    /// subtree, every node a known type and a name. File sizes are not compared with their
    /// blobs (restic #1887). Returns the problems and the subtrees to visit.
    public static func problems(in tree: Tree, id: ObjectID, index: MasterIndex) -> (errors: [String], subtrees: [ObjectID]) {
        var errors: [String] = []
        var subtrees: [ObjectID] = []
        let prefix = "tree \(id.hex): "
        for node in tree.nodes {
            let name = "\"" + String(decoding: GoStrconv.quoteContents(node.name), as: UTF8.self) + "\""
            switch node.type {
            case "file":
                guard let content = node.content else {
                    errors.append(prefix + "file \(name) has nil blob list")
                    break
                }
                for (number, blob) in content.enumerated() {
                    if blob.isZero {
                        errors.append(prefix + "file \(name) blob \(number) has null ID")
                    } else if !index.contains(blob, .data) {
                        errors.append(prefix + "file \(name) blob \(blob.hex) not found in index")
                    }
                }
            case "dir":
                guard let subtree = node.subtree else {
                    errors.append(prefix + "dir node \(name) has no subtree")
                    break
                }
                if subtree.isZero {
                    errors.append(prefix + "dir node \(name) subtree id is null")
                } else {
                    subtrees.append(subtree)
                }
            case "symlink", "socket", "chardev", "dev", "fifo":
                break
            default:
                let type = "\"" + String(decoding: GoStrconv.quoteContents(Array(node.type.utf8)), as: UTF8.self) + "\""
                errors.append(prefix + "node \(name) with invalid type \(type)")
            }
            if node.name.isEmpty {
                errors.append(prefix + "node with empty name")
            }
        }
        return (errors, subtrees)
    }
}
