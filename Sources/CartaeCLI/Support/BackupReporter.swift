#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ResticCore
import ResticArchiver

/// What `backup` shows: a live status line on a terminal (or `status` JSON lines), then
/// restic's summary.
struct BackupReporter: Sendable {
    let json: Bool
    let quiet: Bool
    let started = ContinuousClock.now

    /// Runs the backup while a child task reports progress once a second.
    func run(_ progress: BackupProgress, _ body: () async throws -> BackupSummary) async throws -> BackupSummary {
        let live = !quiet && (json || isatty(STDOUT_FILENO) == 1)
        guard live else { return try await body() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    report(progress.snapshot)
                }
            }
            defer { group.cancelAll() }
            let summary = try await body()
            group.cancelAll()
            if !json { FileHandle.standardOutput.write(Data("\r\u{1b}[2K".utf8)) }
            return summary
        }
    }

    private func report(_ s: (files: Int, bytes: UInt64, totalFiles: Int, totalBytes: UInt64, errors: Int, current: String)) {
        let elapsed = Double((ContinuousClock.now - started).components.seconds)
        let fraction = s.totalBytes == 0 ? 0 : min(1, Double(s.bytes) / Double(s.totalBytes))
        if json {
            var w = GoJSONWriter()
            w.beginObject()
            w.key("message_type"); w.string("status")
            w.key("seconds_elapsed"); w.number(Int(elapsed))
            w.key("percent_done"); w.number(fraction)
            w.key("total_files"); w.number(s.totalFiles)
            w.key("files_done"); w.number(s.files)
            w.key("total_bytes"); w.number(s.totalBytes)
            w.key("bytes_done"); w.number(s.bytes)
            w.key("error_count"); w.number(s.errors)
            w.endObject()
            Output.write(w.bytes + [10])
            return
        }
        let rate = elapsed > 0 ? Double(s.bytes) / elapsed : 0
        let eta = rate > 0 && s.totalBytes > s.bytes ? Int(Double(s.totalBytes - s.bytes) / rate) : 0
        let line = String(format: "[%@] %.2f%%  %d files %@, total %d files %@, %d errors  %@/s  ETA %@",
                          Self.clock(Int(elapsed)), fraction * 100, s.files, SizeFormat.bytes(s.bytes),
                          s.totalFiles, SizeFormat.bytes(s.totalBytes), s.errors,
                          SizeFormat.bytes(UInt64(rate)), Self.clock(eta))
        FileHandle.standardOutput.write(Data(("\r\u{1b}[2K" + line).utf8))
    }

    func finish(_ summary: BackupSummary, dryRun: Bool) {
        let seconds = Double(summary.end.seconds - summary.start.seconds)
            + Double(summary.end.nanoseconds - summary.start.nanoseconds) / 1e9
        for warning in summary.warnings { Output.error("error: \(warning)") }
        if json {
            var w = GoJSONWriter()
            w.beginObject()
            w.key("message_type"); w.string("summary")
            w.key("files_new"); w.number(summary.filesNew)
            w.key("files_changed"); w.number(summary.filesChanged)
            w.key("files_unmodified"); w.number(summary.filesUnmodified)
            w.key("dirs_new"); w.number(summary.dirsNew)
            w.key("dirs_changed"); w.number(summary.dirsChanged)
            w.key("dirs_unmodified"); w.number(summary.dirsUnmodified)
            w.key("data_blobs"); w.number(summary.dataBlobs)
            w.key("tree_blobs"); w.number(summary.treeBlobs)
            w.key("data_added"); w.number(summary.dataAdded)
            w.key("data_added_packed"); w.number(summary.dataAddedPacked)
            w.key("total_files_processed"); w.number(summary.totalFilesProcessed)
            w.key("total_bytes_processed"); w.number(summary.totalBytesProcessed)
            w.key("total_duration"); w.number(seconds)
            w.key("backup_start"); w.time(summary.start)
            w.key("backup_end"); w.time(summary.end)
            if let id = summary.snapshotID { w.key("snapshot_id"); w.string(id.hex) }
            w.key("dry_run"); w.bool(dryRun)
            BackendUsage.appendJSON(to: &w)
            w.endObject()
            Output.write(w.bytes + [10])
            return
        }
        guard !quiet else { return }
        Output.print("")
        Output.print(String(format: "Files:       %5d new, %5d changed, %5d unmodified", summary.filesNew, summary.filesChanged, summary.filesUnmodified))
        Output.print(String(format: "Dirs:        %5d new, %5d changed, %5d unmodified", summary.dirsNew, summary.dirsChanged, summary.dirsUnmodified))
        Output.print("Added to the repository: \(SizeFormat.bytes(summary.dataAdded)) (\(SizeFormat.bytes(summary.dataAddedPacked)) stored)")
        Output.print("")
        Output.print("processed \(summary.totalFilesProcessed) files, \(SizeFormat.bytes(summary.totalBytesProcessed)) in \(Self.clock(Int(seconds)))")
        if let id = summary.snapshotID {
            Output.print("snapshot \(id.shortHex) saved")
        } else if dryRun {
            Output.print("Would add to the repository: \(SizeFormat.bytes(summary.dataAddedPacked))")
        }
    }

    static func clock(_ seconds: Int) -> String {
        seconds >= 3600 ? String(format: "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
                        : String(format: "%d:%02d", seconds / 60, seconds % 60)
    }
}
