#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ResticCore
import ResticRepository

/// Files in a Redis data folder: the atomic, validated write of a restored RDB.
enum RedisFiles {
    /// Streams the stored RDB into `<directory>/.<name>.cartae-<pid>`, validating it on the
    /// way, then fsyncs it, gives it the folder's owner (as root) and the old file's mode,
    /// renames it over `<name>` and fsyncs the folder. Nothing replaces `<name>` unless the
    /// whole RDB arrived intact.
    static func writeAtomically(_ repository: IndexedRepository, node: Node, directory: String,
                                name: String) async throws -> RDBValidator.Summary {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var folder = stat()
        guard stat(directory, &folder) == 0 else { throw failure("stat", directory) }
        let final = directory + "/" + name
        var previous = stat()
        let mode: mode_t = stat(final, &previous) == 0 ? previous.st_mode & 0o7777 : 0o644
        let temporary = "\(directory)/.\(name).cartae-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", temporary) }
        var done = false
        defer {
            close(fd)
            if !done { unlink(temporary) }
        }
        var validator = RDBValidator()
        try await DRContext.streamContent(repository, node) { bytes in
            try validator.consume(bytes)
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw failure("write", temporary)
                    }
                    offset += n
                }
            }
        }
        let summary = try validator.finish()
        guard validator.trailingBytes == 0 else {
            throw StageError("the stored RDB has \(validator.trailingBytes) bytes after its end")
        }
        guard fsync(fd) == 0 else { throw failure("fsync", temporary) }
        if getuid() == 0, fchown(fd, folder.st_uid, folder.st_gid) != 0 { throw failure("chown", temporary) }
        guard fchmod(fd, mode) == 0 else { throw failure("chmod", temporary) }
        guard rename(temporary, final) == 0 else { throw failure("rename", final) }
        done = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
        return summary
    }

    static func failure(_ operation: String, _ path: String) -> StageError {
        StageError("\(operation) \(path): \(String(cString: strerror(errno)))")
    }

    /// Whether two folder names point at the same folder (symlinks and `..` resolved).
    static func samePath(_ a: String, _ b: String?) -> Bool {
        guard let b else { return false }
        func resolved(_ path: String) -> String {
            URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        }
        return resolved(a) == resolved(b)
    }

    /// An AOF in the folder takes precedence over dump.rdb when Redis runs with appendonly yes.
    static func hasAppendOnlyFile(_ directory: String) -> Bool {
        ["appendonlydir", "appendonly.aof"].contains { FileManager.default.fileExists(atPath: directory + "/" + $0) }
    }
}
