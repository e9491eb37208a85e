#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticRepository
import CartaeSync

public struct BackupOptions: Sendable {
    public var excludes: [PathPattern] = []
    /// Directories holding a CACHEDIR.TAG with the standard signature keep only that file.
    public var excludeCaches = false
    public var oneFileSystem = false
    /// Re-read every file even if the parent snapshot says it is unchanged.
    public var force = false
    public var parent: SnapshotRecord?
    public var hostname: String
    public var tags: [String] = []
    public var time: GoTime?
    public var dryRun = false
    public var compression: BlobSealer.Compression = .automatic
    /// Decrypt and decompress every sealed blob again before it is stored (restic ≥ 0.17 does;
    /// `--no-extra-verify` turns it off): about a sixth of a first backup's CPU time.
    public var verifyBeforeUpload = true
    public var packSize = 16 * 1024 * 1024
    /// Files read at once (restic's --read-concurrency, default 2). Each reader holds a chunk
    /// buffer and an open pack, so more readers cost memory; the walker runs beside them.
    public var fileConcurrency = 2
    public var programVersion = "cartae-restic"
    /// What a `MetadataPrefetch` has read of the sources; the walker takes directories from it.
    public var scanCache: ScanCache?
    /// The names of the repository's pack files, listed ahead (they need no key, so the
    /// listing runs while the key is derived): the backup adopts those no index names.
    public var packListing: (@Sendable () async throws -> [String])?

    public init(hostname: String) {
        self.hostname = hostname
    }
}

/// restic's backup summary, as in the snapshot's `summary` and `backup --json`.
public struct BackupSummary: Sendable {
    public var filesNew = 0, filesChanged = 0, filesUnmodified = 0
    public var dirsNew = 0, dirsChanged = 0, dirsUnmodified = 0
    public var dataBlobs = 0, treeBlobs = 0
    public var dataAdded: UInt64 = 0, dataAddedPacked: UInt64 = 0
    public var totalFilesProcessed = 0
    public var totalBytesProcessed: UInt64 = 0
    public var start = GoTime.now(), end = GoTime.now()
    public var snapshotID: ObjectID?
    /// Source entries that could not be read; the snapshot was written without them.
    public var warnings: [String] = []

    public var snapshotSummary: SnapshotSummary {
        var s = SnapshotSummary(backupStart: start, backupEnd: end)
        s.filesNew = filesNew
        s.filesChanged = filesChanged
        s.filesUnmodified = filesUnmodified
        s.dirsNew = dirsNew
        s.dirsChanged = dirsChanged
        s.dirsUnmodified = dirsUnmodified
        s.dataBlobs = dataBlobs
        s.treeBlobs = treeBlobs
        s.dataAdded = dataAdded
        s.dataAddedPacked = dataAddedPacked
        s.totalFilesProcessed = UInt64(totalFilesProcessed)
        s.totalBytesProcessed = totalBytesProcessed
        return s
    }
}

/// Live counters for a progress display; read from another task while a backup runs.
public final class BackupProgress: Sendable {
    private let state = Locked<(files: Int, bytes: UInt64, totalFiles: Int, totalBytes: UInt64, errors: Int, current: String)>((0, 0, 0, 0, 0, ""))

    public init() {}

    func scanned(files: Int, bytes: UInt64) {
        state.withLock { $0.totalFiles += files; $0.totalBytes += bytes }
    }

    func processed(files: Int, bytes: UInt64, current: String? = nil) {
        state.withLock {
            $0.files += files
            $0.bytes += bytes
            if let current { $0.current = current }
        }
    }

    func failed() { state.withLock { $0.errors += 1 } }

    public var snapshot: (files: Int, bytes: UInt64, totalFiles: Int, totalBytes: UInt64, errors: Int, current: String) {
        state.withLock { $0 }
    }
}
