import ResticCore

extension Archiver {
    /// Backs up one stream (standard input or a command's output) as a single file named
    /// `filename` (may contain folders). `finish` runs after the data and index are stored and
    /// before the snapshot is written: throwing there (e.g. the dump command failed) leaves no
    /// snapshot behind. Empty input is an error, as in restic.
    public func backupStream(filename: String,
                             read: (UnsafeMutableRawBufferPointer) throws -> Int,
                             finish: () async throws -> Void = {}) async throws -> BackupSummary {
        let components = filename.split(separator: "/")
        guard let fileName = components.last, !fileName.isEmpty,
              !components.contains("."), !components.contains("..") else {
            throw ResticError.invalid("--stdin-filename: invalid file name \"\(filename)\"")
        }
        return try await backupStreams({ files in
            guard try await files.addStream(filename, read: read) > 0 else {
                throw ResticError.invalid("\(filename): no data read, snapshot not saved")
            }
        }, finish: finish)
    }
}
