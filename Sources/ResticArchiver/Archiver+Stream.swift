#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticChunker
import ResticRepository

extension Archiver {
    /// Backs up one stream (standard input or a command's output) as a single file named
    /// `filename` (may contain folders). `finish` runs after the data and index are stored and
    /// before the snapshot is written: throwing there (e.g. the dump command failed) leaves no
    /// snapshot behind. Empty input is an error, as in restic.
    public func backupStream(filename: String,
                             read: (UnsafeMutableRawBufferPointer) throws -> Int,
                             finish: () async throws -> Void = {}) async throws -> BackupSummary {
        var summary = BackupSummary()
        summary.start = GoTime.now()
        let components = filename.split(separator: "/").map { Array($0.utf8) }
        guard let fileName = components.last, !fileName.isEmpty,
              !components.contains([46]), !components.contains([46, 46]) else {
            throw ResticError.invalid("--stdin-filename: invalid file name \"\(filename)\"")
        }
        let time = options.time ?? GoTime.now()
        let writer = try await Self.makeWriter(repository, options: options)
        let sealer = try BlobSealer(repository: repository.repository, compression: options.compression)
        let tables = ChunkerTables.shared(for: repository.repository.polynomial)
        let reader = ChunkedReader(writer: writer, sealer: sealer, tables: tables)
        let result = try await reader.store(read: read) { progress.processed(files: 0, bytes: UInt64($0)) }
        guard result.bytesRead > 0 else {
            throw ResticError.invalid("\(filename): no data read, snapshot not saved")
        }

        var file = Node(name: fileName, type: "file")
        file.mode = 0o644
        file.mtime = time
        file.atime = time
        file.ctime = time
        file.uid = getuid()
        file.gid = getgid()
        file.size = result.bytesRead
        file.content = result.content
        var treeID = try await writer.save(Tree(nodes: [file]).encode(), .tree, sealer: sealer).0
        // Parent folders of a name like "db/dump.sql", innermost first.
        for name in components.dropLast().reversed() {
            var dir = Node(name: name, type: "dir")
            dir.mode = GoFileMode.dir | 0o755
            dir.mtime = time
            dir.atime = time
            dir.ctime = time
            dir.uid = getuid()
            dir.gid = getgid()
            dir.subtree = treeID
            treeID = try await writer.save(Tree(nodes: [dir]).encode(), .tree, sealer: sealer).0
        }
        try await writer.flush()
        try await finish()

        let stats = await writer.statistics
        summary.filesNew = 1
        summary.dirsNew = components.count - 1
        summary.totalFilesProcessed = 1
        summary.totalBytesProcessed = result.bytesRead
        summary.dataBlobs = stats.dataBlobs
        summary.treeBlobs = stats.treeBlobs
        summary.dataAdded = stats.dataAdded
        summary.dataAddedPacked = stats.dataAddedPacked
        summary.end = GoTime.now()
        var streamOptions = options
        streamOptions.time = time
        var snapshot = SnapshotBuilder.make(tree: treeID, paths: ["/" + components.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")],
                                            options: streamOptions)
        snapshot.summary = summary.snapshotSummary
        if !options.dryRun {
            summary.snapshotID = try await repository.repository.saveUnpacked(.snapshot, snapshot.encode())
        }
        return summary
    }
}
