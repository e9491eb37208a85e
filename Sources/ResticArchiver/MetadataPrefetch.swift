#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Walks the backup sources on a thread of its own (directory listings and lstat only) while
/// the command derives the key and loads the index, so the metadata the archiver's walker needs
/// is in the kernel's caches by the time it asks. On a cold cache a backup of many small files
/// spends most of its time waiting for exactly these reads; this overlaps them with the key
/// derivation, which keeps only one core busy.
public final class MetadataPrefetch: Sendable {
    private let stopped = Atomic<Bool>(false)

    /// Starts walking `paths` (nothing happens for a path that does not exist).
    public init(paths: [String]) {
        let thread = Thread { [self] in
            for path in paths where !isStopped { walk(path) }
        }
        thread.name = "cartae-prefetch"
        thread.start()
    }

    /// Ends the walk early; it also ends by itself once it has seen every entry.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    private func walk(_ root: String) {
        var pending = [root]
        var st = stat()
        while let dir = pending.popLast(), !isStopped {
            guard let stream = opendir(dir) else { continue }
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = dir + "/" + name
                guard lstat(path, &st) == 0 else { continue }
                if st.st_mode & S_IFMT == S_IFDIR { pending.append(path) }
            }
            closedir(stream)
        }
    }
}
