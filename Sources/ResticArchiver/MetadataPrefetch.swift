#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CartaeSync
import Synchronization

/// Walks the backup sources on threads of its own (directory listings and lstat only) while
/// the command derives the key and loads the index, so the metadata the archiver's walker needs
/// is in the kernel's caches by the time it asks. On a cold cache a backup of many small files
/// spends most of its time waiting for exactly these reads; this overlaps them with the key
/// derivation, which keeps only one core busy. Several threads list different directories at
/// once: one thread waits for one disk read at a time, and the key derivation (about half a
/// second) is shorter than a cold walk of a large tree by one thread.
public final class MetadataPrefetch: Sendable {
    private struct Work: ~Copyable {
        var pending: [String] = []
        /// Threads listing a directory right now: while any is, more directories may come.
        var busy = 0
    }

    private let stopped = Atomic<Bool>(false)
    private let work = Locked(Work())
    static let threads = 4

    /// Starts walking `paths` (nothing happens for a path that does not exist).
    public init(paths: [String]) {
        work.withLock { $0.pending = paths }
        for _ in 0..<Self.threads {
            let thread = Thread { [self] in run() }
            thread.name = "cartae-prefetch"
            thread.start()
        }
    }

    /// Ends the walk early; it also ends by itself once it has seen every entry.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    private enum Step { case list(String), idle, done }

    private func run() {
        while !isStopped {
            let step: Step = work.withLock { work in
                if let dir = work.pending.popLast() {
                    work.busy += 1
                    return .list(dir)
                }
                return work.busy == 0 ? .done : .idle
            }
            switch step {
            case .done: return
            case .idle: usleep(500)  // another thread's listing may yield more directories
            case .list(let dir):
                let found = list(dir)
                work.withLock { work in
                    work.pending += found
                    work.busy -= 1
                }
            }
        }
    }

    /// Stats every entry of `dir`; returns its subdirectories.
    private func list(_ dir: String) -> [String] {
        guard let stream = opendir(dir) else { return [] }
        defer { closedir(stream) }
        let fd = dirfd(stream)
        var subdirectories: [String] = []
        var st = stat()
        while let entry = readdir(stream), !isStopped {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                raw[0] == 46 && (raw[1] == 0 || (raw[1] == 46 && raw[2] == 0))
            }
            if isDot { continue }
            let statted = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                fstatat(fd, raw.baseAddress!.assumingMemoryBound(to: CChar.self), &st, AT_SYMLINK_NOFOLLOW) == 0
            }
            guard statted, st.st_mode & S_IFMT == S_IFDIR else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            subdirectories.append(dir + "/" + name)
        }
        return subdirectories
    }
}
