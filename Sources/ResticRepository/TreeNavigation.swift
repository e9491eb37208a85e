import ResticCore

extension IndexedRepository {
    /// The tree at `path` (slash-separated, relative to `root`), as `SNAPSHOT:path` names it.
    public func subtree(of root: ObjectID, path: String) async throws -> ObjectID {
        var current = root
        var walked = ""
        for component in path.split(separator: "/") where component != "." && !component.isEmpty {
            let tree = try await loadTree(current)
            walked += "/" + component
            guard let node = tree.node(named: Array(component.utf8)) else {
                throw ResticError.notFound("path \(walked) not found in snapshot")
            }
            guard node.type == "dir", let next = node.subtree else {
                throw ResticError.invalid("path \(walked) is not a directory")
            }
            current = next
        }
        return current
    }

    /// The node at `path` below `root`, nil for the root itself.
    public func node(at path: String, below root: ObjectID) async throws -> Node? {
        let parts = path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }
        guard let last = parts.last else { return nil }
        let parent = try await subtree(of: root, path: parts.dropLast().joined(separator: "/"))
        guard let node = try await loadTree(parent).node(named: Array(last.utf8)) else {
            throw ResticError.notFound("path \(path) not found in snapshot")
        }
        return node
    }

    /// Visits every node below `root` depth first in name order, with its path ("/a/b").
    /// Return false from `body` to skip a directory's children.
    public func walk(_ root: ObjectID, prefix: String = "",
                     _ body: (String, Node) async throws -> Bool) async throws {
        let tree = try await loadTree(root)
        for node in tree.nodes {
            let path = prefix + "/" + node.nameString
            let descend = try await body(path, node)
            if descend, node.type == "dir", let subtree = node.subtree {
                try await walk(subtree, prefix: path, body)
            }
        }
    }
}
