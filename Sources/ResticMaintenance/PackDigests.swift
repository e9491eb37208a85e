#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import ResticCore
import ResticCrypto
import CartaeSync

/// SHA-256 digests of local pack files, computed before the key is known.
///
/// `check --read-data` hashes every pack file whole (its name must be its hash), which needs no
/// key. Deriving the key keeps one core busy for about half a second; on a thread of its own,
/// this hashes the packs meanwhile, in the order the read phase will take them, and leaves them
/// in the page cache for it. The read phase then only decrypts, decompresses and hashes blobs.
/// A pack the read phase reaches first is left to it, so no pack is hashed twice.
public final class PackDigests: Sendable {
    private enum State {
        case hashing
        case hashed(ObjectID)
        /// The read phase hashes it itself.
        case taken
    }

    private let states = Locked<[ObjectID: State]>([:])
    private let stopped = Atomic<Bool>(false)
    private let pool: ThreadPool
    static let readSize = 1 << 20

    /// Starts hashing every pack file of a local backend, in ID order; nil for a remote backend
    /// (the packs would be downloaded twice) or when no thread can be started.
    public static func start(_ backend: any Backend) async -> PackDigests? {
        guard backend.localPath(FileHandle(.pack, ObjectID(bytes: [UInt8](repeating: 0, count: 32)))) != nil,
              let files = try? await backend.list(.pack) else { return nil }
        let packs = files.compactMap { ObjectID(hex: $0.name) }.sorted()
        let digests = PackDigests(pool: ThreadPool(threads: 1, stackSize: 256 << 10))
        guard digests.pool.threadCount > 0 else { return nil }
        digests.pool.submit(packs.compactMap { pack in
            guard let path = backend.localPath(FileHandle(.pack, pack)) else { return nil }
            return { [digests] in digests.hash(pack, at: path) }
        })
        return digests
    }

    private init(pool: ThreadPool) {
        self.pool = pool
    }

    /// The digest of `pack` if it was hashed here; otherwise the read phase hashes it, and
    /// this will not start on it.
    public func take(_ pack: ObjectID) -> ObjectID? {
        states.withLock { states in
            if case .hashed(let digest)? = states[pack] { return digest }
            states[pack] = .taken
            return nil
        }
    }

    /// Hashes everything not yet taken, then ends the thread.
    public func finish() {
        pool.stop()
    }

    /// Skips what is left and ends the thread.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        pool.stop()
    }

    private func hash(_ pack: ObjectID, at path: String) {
        guard !stopped.load(ordering: .relaxed) else { return }
        let claimed = states.withLock { states in
            guard states[pack] == nil else { return false }
            states[pack] = .hashing
            return true
        }
        guard claimed else { return }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let hasher = SHA256Stream()
        var buffer = [UInt8](repeating: 0, count: Self.readSize)
        var offset = 0
        while !stopped.load(ordering: .relaxed) {
            let abandoned = states.withLock { states in
                if case .taken? = states[pack] { return true }
                return false
            }
            if abandoned { return }
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if count < 0 && errno == EINTR { continue }
            // A read error leaves the pack to the read phase, which reports it.
            guard count >= 0 else { return }
            if count == 0 {
                let digest = ObjectID(bytes: hasher.finalize())
                states.withLock { states in
                    if case .hashing? = states[pack] { states[pack] = .hashed(digest) }
                }
                return
            }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
            offset += count
        }
    }
}
