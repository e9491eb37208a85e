#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticRepository

/// The scanned source: directories with their entries, files that need reading, and for each
/// entry what the parent snapshot had in its place.
final class ScannedDirectory {
    var node: Node
    var path: [UInt8]
    var children: [ScannedEntry] = []
    /// The parent snapshot's tree for this directory, if it had one.
    var parentSubtree: ObjectID?
    var existedInParent: Bool

    init(node: Node, path: [UInt8], parentSubtree: ObjectID?, existedInParent: Bool) {
        self.node = node
        self.path = path
        self.parentSubtree = parentSubtree
        self.existedInParent = existedInParent
    }
}

enum ScannedEntry {
    case directory(ScannedDirectory)
    /// Index into `SourceScanner.files`.
    case file(Int)
    case leaf(Node)
}

struct FileJob {
    var path: [UInt8]
    var node: Node
    var existedInParent: Bool
    /// Set when the parent snapshot has the same file unchanged: its content is reused.
    var reusedContent: [ObjectID]?
    var failed = false
}

/// Walks the source paths and compares them with the parent snapshot, without reading file
/// contents yet.
struct SourceScanner {
    let repository: IndexedRepository
    let options: BackupOptions
    let factory = NodeFactory()
    let progress: BackupProgress
    let offset: Int32
    var files: [FileJob] = []
    var warnings: [String] = []
    static let cacheTagSignature = Array("Signature: 8a477f597d28d172789f06886806bc55".utf8)

    init(repository: IndexedRepository, options: BackupOptions, progress: BackupProgress) {
        self.repository = repository
        self.options = options
        self.progress = progress
        offset = (options.time ?? GoTime.now()).utcOffset
    }

    /// Scans one directory (its metadata already in `dir.node`) and everything below it.
    mutating func scan(_ dir: ScannedDirectory, device: UInt64) async {
        let names: [[UInt8]]
        do {
            names = try SourceFS.list(dir.path)
        } catch {
            warn("\(error)")
            return
        }
        let parentTree = await loadParentTree(dir.parentSubtree)
        var cacheTagged = false
        if options.excludeCaches, names.contains(Array("CACHEDIR.TAG".utf8)) {
            cacheTagged = Self.hasCacheSignature(SourceFS.join(dir.path, Array("CACHEDIR.TAG".utf8)))
        }
        for name in names {
            if cacheTagged && name != Array("CACHEDIR.TAG".utf8) { continue }
            let path = SourceFS.join(dir.path, name)
            if isExcluded(path) { continue }
            await add(name: name, path: path, to: dir, parentTree: parentTree, device: device)
        }
    }

    mutating func add(name: [UInt8], path: [UInt8], to dir: ScannedDirectory, parentTree: Tree?, device: UInt64) async {
        let status: SourceFS.Status
        let node: Node
        do {
            status = try SourceFS.lstat(path, offset: offset)
            guard let made = try factory.node(name: name, path: path, status: status) else { return }
            node = made
        } catch {
            warn("\(error)")
            return
        }
        if options.oneFileSystem && status.device != device && status.isDirectory { return }
        let previous = parentTree?.node(named: name)
        switch node.type {
        case "dir":
            let child = ScannedDirectory(node: node, path: path,
                                         parentSubtree: previous?.type == "dir" ? previous?.subtree : nil,
                                         existedInParent: previous != nil)
            await scan(child, device: device)
            dir.children.append(.directory(child))
        case "file":
            var job = FileJob(path: path, node: node, existedInParent: previous != nil)
            if !options.force, let previous, Self.unchanged(node, previous),
               let content = previous.content, content.allSatisfy({ repository.index.contains($0, .data) }) {
                job.reusedContent = content
            }
            progress.scanned(files: 1, bytes: node.size)
            dir.children.append(.file(files.count))
            files.append(job)
        default:
            dir.children.append(.leaf(node))
        }
    }

    /// restic's change detection: same type, mtime, ctime, size and inode.
    static func unchanged(_ node: Node, _ previous: Node) -> Bool {
        func same(_ a: GoTime, _ b: GoTime) -> Bool { a.seconds == b.seconds && a.nanoseconds == b.nanoseconds }
        return previous.type == "file" && same(previous.mtime, node.mtime) && same(previous.ctime, node.ctime)
            && previous.size == node.size && previous.inode == node.inode
    }

    func isExcluded(_ path: [UInt8]) -> Bool {
        guard !options.excludes.isEmpty else { return false }
        let text = SourceFS.describe(path)
        return options.excludes.contains { $0.matches(text) }
    }

    func loadParentTree(_ id: ObjectID?) async -> Tree? {
        guard let id else { return nil }
        return try? await repository.loadTree(id)
    }

    mutating func warn(_ message: String) {
        warnings.append(message)
        progress.failed()
    }

    static func hasCacheSignature(_ path: [UInt8]) -> Bool {
        let fd = SourceFS.withCString(path) { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: cacheTagSignature.count)
        let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n == cacheTagSignature.count && header == cacheTagSignature
    }
}
