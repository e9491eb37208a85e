#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticChunker
import ResticRepository

extension Archiver {
    /// Backs up several streams as files of one snapshot (e.g. a database dump and the small
    /// JSON file describing it). `produce` adds the files in any order through the writer it is
    /// given; every file may have folders in its name. `finish` runs after all data and the
    /// index are stored and before the snapshot is written: throwing there (a dump command
    /// failed, its output did not validate) leaves no snapshot behind, only unreferenced data
    /// that the next backup deduplicates against and prune removes.
    public func backupStreams(_ produce: (StreamSnapshotWriter) async throws -> Void,
                              finish: () async throws -> Void = {}) async throws -> BackupSummary {
        var summary = BackupSummary()
        summary.start = GoTime.now()
        let time = options.time ?? GoTime.now()
        let writer = try await Self.makeWriter(repository, options: options)
        let sealer = try BlobSealer(repository: repository.repository, compression: options.compression,
                                    verify: options.verifyBeforeUpload)
        let tables = ChunkerTables.shared(for: repository.repository.polynomial)
        let files = StreamSnapshotWriter(reader: ChunkedReader(sink: BlobPacker(writer: writer, sealer: sealer), tables: tables),
                                         progress: progress, time: time)
        try await produce(files)
        try await files.reader.flush()
        guard !files.entries.isEmpty else {
            throw ResticError.invalid("no stream was added: snapshot not saved")
        }
        let root = try await files.saveTree(writer: writer, sealer: sealer)
        try await writer.flush()
        try await finish()

        let stats = writer.statistics
        summary.filesNew = files.entries.count
        summary.dirsNew = root.directories
        summary.totalFilesProcessed = files.entries.count
        summary.totalBytesProcessed = files.entries.reduce(0) { $0 + $1.node.size }
        summary.dataBlobs = stats.dataBlobs
        summary.treeBlobs = stats.treeBlobs
        summary.dataAdded = stats.dataAdded
        summary.dataAddedPacked = stats.dataAddedPacked
        summary.end = GoTime.now()
        var streamOptions = options
        streamOptions.time = time
        let paths = files.entries.map { "/" + $0.path.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/") }
        var snapshot = SnapshotBuilder.make(tree: root.id, paths: paths.sorted(), options: streamOptions)
        snapshot.summary = summary.snapshotSummary
        if !options.dryRun {
            summary.snapshotID = try await repository.repository.saveUnpacked(.snapshot, snapshot.encode())
        }
        return summary
    }
}

/// Collects the files of a multi-stream snapshot: each stream is chunked and stored as it is
/// read, so only one chunk is in memory at a time; the tree is written once all are in.
public final class StreamSnapshotWriter {
    struct Entry {
        var path: [[UInt8]]
        var node: Node
    }

    let reader: ChunkedReader
    private let progress: BackupProgress
    private let time: GoTime
    private(set) var entries: [Entry] = []

    init(reader: ChunkedReader, progress: BackupProgress, time: GoTime) {
        self.reader = reader
        self.progress = progress
        self.time = time
    }

    /// Stores everything `read` returns (until it returns 0) as the file `path`; returns the
    /// number of bytes stored. An empty stream becomes an empty file: the caller decides
    /// whether that is an error.
    @discardableResult
    public func addStream(_ path: String, read: (UnsafeMutableRawBufferPointer) throws -> Int) async throws -> UInt64 {
        let components = try Self.components(path)
        guard !entries.contains(where: { $0.path == components }) else {
            throw ResticError.invalid("\(path): added twice to the same snapshot")
        }
        let progress = progress
        let result = try await reader.store(read: read) { progress.processed(files: 0, bytes: UInt64($0)) }
        var node = Node(name: components[components.count - 1], type: "file")
        node.mode = 0o644
        node.mtime = time
        node.atime = time
        node.ctime = time
        node.uid = getuid()
        node.gid = getgid()
        node.size = result.bytesRead
        node.content = result.content
        entries.append(Entry(path: components, node: node))
        progress.processed(files: 1, bytes: 0, current: path)
        return result.bytesRead
    }

    /// Stores a small file held in memory.
    public func addFile(_ path: String, bytes: [UInt8]) async throws {
        var offset = 0
        try await addStream(path) { buffer in
            let n = min(buffer.count, bytes.count - offset)
            guard n > 0 else { return 0 }
            bytes.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: n)
            }
            offset += n
            return n
        }
    }

    /// Clean relative components; "." and ".." are refused so every file lands inside the tree.
    static func components(_ path: String) throws -> [[UInt8]] {
        let components = path.split(separator: "/").map { Array($0.utf8) }
        guard !components.isEmpty, !components.contains([46]), !components.contains([46, 46]) else {
            throw ResticError.invalid("invalid file name \"\(path)\" for a stream")
        }
        return components
    }

    /// Writes the trees bottom up; returns the root tree and how many folders were made.
    func saveTree(writer: RepositoryWriter, sealer: BlobSealer) async throws -> (id: ObjectID, directories: Int) {
        var directories = 0
        func save(prefix: [[UInt8]]) async throws -> ObjectID {
            var nodes: [Node] = []
            var subfolders: [[UInt8]] = []
            for entry in entries where entry.path.count > prefix.count && Array(entry.path.prefix(prefix.count)) == prefix {
                if entry.path.count == prefix.count + 1 {
                    nodes.append(entry.node)
                } else if !subfolders.contains(entry.path[prefix.count]) {
                    subfolders.append(entry.path[prefix.count])
                }
            }
            for name in subfolders {
                if nodes.contains(where: { $0.name == name }) {
                    throw ResticError.invalid("\(String(decoding: name, as: UTF8.self)) is both a file and a folder")
                }
                var dir = Node(name: name, type: "dir")
                dir.mode = GoFileMode.dir | 0o755
                dir.mtime = time
                dir.atime = time
                dir.ctime = time
                dir.uid = getuid()
                dir.gid = getgid()
                dir.subtree = try await save(prefix: prefix + [name])
                directories += 1
                nodes.append(dir)
            }
            nodes.sort { $0.name.lexicographicallyPrecedes($1.name) }
            return try await writer.save(Tree(nodes: nodes).encode(), .tree, sealer: sealer).0
        }
        let root = try await save(prefix: [])
        return (root, directories)
    }
}
