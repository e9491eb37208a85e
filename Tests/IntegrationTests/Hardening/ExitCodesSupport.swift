import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Shared by the disk-full, secrets and exit-code tests: a small tmpfs, the "one clear error
/// line" rule, and a repository whose keys are cheap to open.
enum Hardening {
    /// Exactly one `Fatal:` line, nothing a crash prints, and the expected exit status.
    static func expectOneError(_ result: Harness.Result, status: Int32, naming needles: [String] = [],
                               _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        // 11 is restic's "locked" and also SIGSEGV's number: only the stderr checks tell them apart.
        if status != 11 { ReadPath.expectNoCrash(result, sourceLocation: sourceLocation) }
        #expect(result.status == status, "\(what): exit \(result.status), want \(status); stderr: \(result.stderr)",
                sourceLocation: sourceLocation)
        let fatal = ReadPath.fatalLines(result)
        #expect(fatal.count == 1, "\(what): want one Fatal line, got: \(result.stderr)", sourceLocation: sourceLocation)
        for needle in needles {
            #expect(result.stderr.localizedLowercase.contains(needle.localizedLowercase),
                    "\(what): stderr does not name \(needle): \(result.stderr)", sourceLocation: sourceLocation)
        }
        for marker in ["Fatal error:", "Stack dump", "Current stack trace", "SIGSEGV", "SIGABRT", "Backtrace"] {
            #expect(!result.stderr.contains(marker), "\(what): \(marker) in stderr: \(result.stderr)", sourceLocation: sourceLocation)
        }
    }

    /// Every regular file below `root` (relative paths), hidden ones included.
    static func allFiles(_ root: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var files: [String] = []
        while let next = enumerator.nextObject() as? String {
            var st = stat()
            if lstat(root + "/" + next, &st) == 0, st.st_mode & S_IFMT != S_IFDIR { files.append(next) }
        }
        return files.sorted()
    }

    /// Leftovers of interrupted writes: the local backend's `.tmp-*` names.
    static func temporaryFiles(_ repo: String) -> [String] {
        allFiles(repo).filter { ($0 as NSString).lastPathComponent.hasPrefix(".tmp-") }
    }
}

/// A tmpfs of a fixed size, for running out of space on purpose. Mounting needs root (or
/// CAP_SYS_ADMIN); the test then fails with that message rather than silently skipping.
final class SmallDisk {
    let dir: URL
    var path: String { dir.appendingPathComponent("mnt").path }
    private var mounted = false

    init(megabytes: Int) throws {
        dir = try TempDir.make("cartae-smalldisk")
        try FileManager.default.createDirectory(atPath: dir.appendingPathComponent("mnt").path, withIntermediateDirectories: true)
        let result = try Harness.run("mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0755", "tmpfs", dir.appendingPathComponent("mnt").path])
        guard result.status == 0 else {
            try? FileManager.default.removeItem(at: dir)
            throw HarnessError("mounting a \(megabytes) MiB tmpfs failed (this test needs root or CAP_SYS_ADMIN): \(result.stderr)")
        }
        mounted = true
    }

    /// Unmounts (lazily if something still holds it open) and removes the mount point.
    func remove() {
        if mounted {
            if (try? Harness.run("umount", [path]))?.status != 0 { _ = try? Harness.run("umount", ["-l", path]) }
            mounted = false
        }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { remove() }
}
