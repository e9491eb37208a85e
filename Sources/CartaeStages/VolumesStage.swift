#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ResticArchiver
import ResticCore
import ResticRepository
import ResticRestorer

/// Backs up the BACKUP_VOLUMES folders as trees in one snapshot tagged `volumes` (the
/// previous one of the same paths as parent, so unchanged files are not read again), and puts
/// them back in place or under a target folder.
public struct VolumesStage: Sendable {
    let context: DRContext
    let volumes: [String]

    public init(context: DRContext, volumes: [String]) {
        self.context = context
        self.volumes = volumes
    }

    static let tags = [StageKind.volumes.tag]

    public func backup(repository: Repository) async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64) {
        let missing = volumes.filter { !FileManager.default.fileExists(atPath: $0) }
        guard missing.isEmpty else { throw StageError("BACKUP_VOLUMES: \(missing.joined(separator: ", ")) does not exist") }
        let summary = try await context.withBackupLock(repository) { indexed in
            var options = context.backupOptions(tags: Self.tags)
            let paths = Set(volumes.map { PathClean.clean($0) })
            options.parent = try await repository.loadSnapshots().last {
                $0.snapshot.hostname == options.hostname && Set($0.snapshot.paths) == paths
                    && $0.snapshot.tags.contains(StageKind.volumes.tag)
            }
            return try await Archiver(repository: indexed, options: options).backup(paths: volumes)
        }
        guard summary.warnings.isEmpty else {
            // The snapshot exists, but without the files listed: the stage reports a failure.
            throw StageError("snapshot \(summary.snapshotID?.shortHex ?? "-") saved without \(summary.warnings.count) unreadable entries: "
                             + summary.warnings.prefix(3).joined(separator: "; "))
        }
        return ("snapshot \(summary.snapshotID?.shortHex ?? "-") saved: \(volumes.count) folder(s), \(summary.totalFilesProcessed) files, "
                + "\(summary.totalBytesProcessed) bytes (\(summary.filesNew) new, \(summary.filesChanged) changed, \(summary.filesUnmodified) unchanged)",
                summary.snapshotID, summary.totalBytesProcessed)
    }

    /// With `target`, the whole snapshot goes below it (`<target>/srv/data/...`, as restic
    /// restores). Without, each folder is restored next to itself and swapped in by rename,
    /// so the folder holds exactly the backed-up content; a folder that cannot be renamed (a
    /// mount point) is restored over in place instead.
    public func restore(record: SnapshotRecord, repository: Repository, target: String?,
                        verify: Bool) async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64) {
        let indexed = try await repository.loadIndex()
        var options = RestoreOptions()
        options.verify = verify
        if let target {
            let report = try await Restorer(repository: indexed, options: options).restore(tree: record.snapshot.tree, to: target)
            try Self.check(report)
            return ("restored snapshot \(record.id.shortHex) below \(target): \(report.filesRestored) files, \(report.bytesWritten) bytes"
                    + (verify ? ", \(report.filesVerified) verified" : ""), record.id, UInt64(report.bytesWritten))
        }
        var files = 0, bytes = 0
        for path in record.snapshot.paths {
            let report = try await restoreInPlace(path, record: record, indexed: indexed, options: options)
            files += report.filesRestored
            bytes += report.bytesWritten
        }
        return ("restored snapshot \(record.id.shortHex) in place: \(record.snapshot.paths.joined(separator: ", ")) (\(files) files, \(bytes) bytes)",
                record.id, UInt64(bytes))
    }

    private func restoreInPlace(_ path: String, record: SnapshotRecord, indexed: IndexedRepository,
                                options: RestoreOptions) async throws -> RestoreReport {
        let clean = PathClean.clean(path)
        guard clean != "/", let slash = clean.lastIndex(of: "/") else {
            throw StageError("cannot restore \(path) in place: give --target")
        }
        let parent = slash == clean.startIndex ? "/" : String(clean[..<slash])
        let name = String(clean[clean.index(after: slash)...])
        let parentTree = try await indexed.subtree(of: record.snapshot.tree, path: parent)
        var options = options
        options.filter = RestoreFilter(includes: [PathPattern("/" + name)])
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let staging = parent + "/.cartae-restore-\(DRContext.fileName(name))-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let restorer = Restorer(repository: indexed, options: options)
        let report = try await restorer.restore(tree: parentTree, to: staging)
        try Self.check(report)
        let fresh = staging + "/" + name
        let old = staging + "/.previous"
        let existed = access(clean, F_OK) == 0
        if existed && rename(clean, old) != 0 {
            // A mount point cannot move: restore over the existing content instead.
            context.console.warning("volumes: \(clean) cannot be replaced (\(String(cString: strerror(errno)))); restoring over it in place, files created since the backup stay")
            let inPlace = try await restorer.restore(tree: parentTree, to: parent)
            try Self.check(inPlace)
            return inPlace
        }
        guard rename(fresh, clean) == 0 else {
            let reason = String(cString: strerror(errno))
            if existed { _ = rename(old, clean) }
            throw StageError("cannot move the restored \(name) into \(parent): \(reason)")
        }
        context.console.info("volumes: restored \(clean)")
        return report
    }

    static func check(_ report: RestoreReport) throws {
        guard report.errors.isEmpty else {
            throw StageError("\(report.errors.count) entries could not be restored: " + report.errors.prefix(3).joined(separator: "; "))
        }
    }
}
