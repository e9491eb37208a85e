#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import CLibcExtras
import CartaeSync

/// One directory as the prefetch reads it: opened, its names read and sorted, then its
/// entries statted (and, when it is to be cached, their extended attributes and link targets
/// read) in parts of `partSize` names, which several threads may take at once: on a cold cache
/// each lstat of a large directory waits for a disk read, and one thread alone would keep the
/// whole prefetch waiting for the last large directory. Whoever completes the last part stores
/// the listing.
final class DirectoryScan: Sendable {
    let path: [UInt8]
    let parts: Int
    private let directory: SourceFS.OpenDirectory
    private var fd: Int32 { directory.fd }
    private let own: stat
    /// The target's device, for --one-file-system.
    let rootDevice: UInt64
    private let listedAt: UInt64
    private let watch: Int32?
    private let names: NameList
    private let cache: ScanCache?
    private let progress: Locked<Progress>

    static let partSize = 1024

    /// A part's outcome: its entries in the cache's layout, and the subdirectories to scan next.
    struct Part {
        var bytes: [UInt8] = []
        var count = 0
        var subdirectories: [[UInt8]] = []
        var cacheable = true
    }

    private struct Progress: ~Copyable {
        var done: [Part?]
        var left: Int
    }

    /// nil when the walker has taken the directory already, or it cannot be opened.
    init?(path: [UInt8], rootDevice: UInt64?, cache: ScanCache?, local: inout [UInt64: Bool]) {
        listedAt = ScanCache.now()
        var watch: Int32?
        switch cache?.plan(path) ?? .warm {
        case .skip: return nil
        case .warm: break
        case .cache(let wd): watch = wd
        }
        let directory = try? SourceFS.OpenDirectory(path)
        var own = stat()
        guard let directory, fstat(directory.fd, &own) == 0,
              cache?.wanted(device: UInt64(own.st_dev), inode: UInt64(own.st_ino)) ?? true else {
            if let watch { cache?.abandon(watch) }
            return nil
        }
        let names = NameList()
        var cacheable = names.read(directory.fd)
        if watch != nil && cacheable { cacheable = Self.isLocal(directory.fd, device: UInt64(own.st_dev), &local) }
        if let wd = watch, !cacheable {
            cache?.abandon(wd)
            watch = nil
        }
        self.path = path
        self.directory = directory
        self.own = own
        self.rootDevice = rootDevice ?? UInt64(own.st_dev)
        self.watch = watch
        self.names = names
        self.cache = cache
        parts = max(1, (names.count + Self.partSize - 1) / Self.partSize)
        progress = Locked(Progress(done: Array(repeating: nil, count: parts), left: parts))
    }

    /// Stats the entries of part `index`; `stop` says when to give up.
    func scan(_ index: Int, builder: inout ScannedDirectoryBuilder, oneFileSystem: Bool,
              isExcluded: ([UInt8]) -> Bool, stop: () -> Bool) -> Part {
        let device = UInt64(own.st_dev)
        var caching = watch != nil
        var part = Part()
        builder.reset()
        var st = stat()
        for i in index * Self.partSize..<min(names.count, (index + 1) * Self.partSize) {
            if stop() {
                caching = false
                break
            }
            let name = names[i]
            guard fstatat(fd, name.baseAddress!.assumingMemoryBound(to: CChar.self), &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                caching = false  // vanished meanwhile: the walker reports it as it finds it
                continue
            }
            let isDirectory = st.st_mode & S_IFMT == S_IFDIR
            guard caching || isDirectory else { continue }
            let bytes = Array(name)
            if caching {
                let attributes = SourceFS.extendedAttributes(in: fd, name: bytes, path: SourceFS.join(path, bytes))
                var linkTarget: [UInt8]?
                if st.st_mode & S_IFMT == S_IFLNK {
                    linkTarget = try? SourceFS.readLink(in: fd, name: bytes, path: SourceFS.join(path, bytes))
                    if linkTarget == nil { caching = false }
                }
                if caching {
                    caching = builder.append(name: name, status: st, directoryDevice: device,
                                             attributes: attributes, linkTarget: linkTarget)
                }
            }
            if isDirectory && !(oneFileSystem && UInt64(st.st_dev) != rootDevice) {
                let entryPath = SourceFS.join(path, bytes)
                if !isExcluded(entryPath) { part.subdirectories.append(entryPath) }
            }
        }
        part.cacheable = caching
        if caching {
            part.count = builder.count
            if parts > 1 { part.bytes = builder.exactBytes }
        }
        return part
    }

    /// Files a scanned part; for the last one, stores the listing (from `builder`, which scanned
    /// it, when there is a single part) and returns every part's subdirectories, in order.
    func complete(_ index: Int, _ part: Part, builder: ScannedDirectoryBuilder) -> [[UInt8]]? {
        let all: [Part]? = progress.withLock { progress in
            progress.done[index] = part
            progress.left -= 1
            return progress.left == 0 ? progress.done.map { $0 ?? Part(cacheable: false) } : nil
        }
        guard let all else { return nil }
        if let watch, let cache {
            if all.allSatisfy(\.cacheable) {
                let directory: ScannedDirectory
                if parts == 1 {
                    directory = builder.finish(own: own, listedAt: listedAt)
                } else {
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(all.reduce(0) { $0 + $1.bytes.count })
                    for part in all { bytes += part.bytes }
                    directory = ScannedDirectory(own: own, listedAt: listedAt, count: all.reduce(0) { $0 + $1.count },
                                                 bytes: bytes)
                }
                cache.store(directory, path: path, watch: watch)
            } else {
                cache.abandon(watch)
            }
        }
        return all.flatMap(\.subdirectories)
    }

    /// File systems where every change goes through this kernel, so inotify reports it (not
    /// NFS, SMB, FUSE and the like, where another host or process may change files unseen).
    static let localFileSystems: Set<Int> = [
        0xEF53,  // ext2/3/4
        0x5846_5342,  // xfs
        0x9123_683E,  // btrfs
        0x0102_1994,  // tmpfs
        0x8584_58F6,  // ramfs
        0xF2F5_2010,  // f2fs
        0x2FC1_2FC1,  // zfs
        0xCA45_1A4E,  // bcachefs
        0x794C_7630,  // overlayfs
        0x3153_464A,  // jfs
        0x5265_4973,  // reiserfs
        0x4D44,  // vfat
        0x2011_BAB0,  // exfat
    ]

    private static func isLocal(_ fd: Int32, device: UInt64, _ known: inout [UInt64: Bool]) -> Bool {
        if let local = known[device] { return local }
        var info = statfs()
        let local = fstatfs(fd, &info) == 0 && localFileSystems.contains(Int(info.f_type))
        known[device] = local
        return local
    }
}

/// A directory's entry names, NUL-terminated in one buffer, sorted as the walker sorts them
/// (byte order; memcmp compares bytes as unsigned, as `lexicographicallyPrecedes` does).
/// Read once, then only read from.
final class NameList: @unchecked Sendable {
    private var arena = UnsafeMutableRawPointer.allocate(byteCount: 1024, alignment: 8)
    private var capacity = 1024
    private var used = 0
    private var ranges: [(offset: Int, length: Int)] = []

    deinit { arena.deallocate() }

    var count: Int { ranges.count }

    /// The name's bytes, followed by a NUL.
    subscript(i: Int) -> UnsafeRawBufferPointer {
        let range = ranges[i]
        return UnsafeRawBufferPointer(start: arena + range.offset, count: range.length)
    }

    /// Reads and sorts the names of the open directory `fd` (without `.` and `..`); false when
    /// the listing failed (what was read before is kept).
    func read(_ fd: Int32) -> Bool {
        // fdopendir takes over the descriptor it is given, so it gets a copy.
        let copy = dup(fd)
        guard copy >= 0 else { return false }
        guard let stream = fdopendir(copy) else {
            Glibc.close(copy)
            return false
        }
        defer { closedir(stream) }
        errno = 0
        while let entry = readdir(stream) {
            var length = 0
            let name = UnsafeRawPointer(cartae_dirent_name(entry, &length)!)
            let first = name.load(as: UInt8.self)
            if first == 46 && (length == 1 || (length == 2 && name.load(fromByteOffset: 1, as: UInt8.self) == 46)) {
                continue
            }
            reserve(length + 1)
            (arena + used).copyMemory(from: name, byteCount: length)
            arena.storeBytes(of: 0, toByteOffset: used + length, as: UInt8.self)
            ranges.append((used, length))
            used += length + 1
        }
        let ok = errno == 0
        let base = arena
        ranges.sort { a, b in
            let order = memcmp(base + a.offset, base + b.offset, min(a.length, b.length))
            return order != 0 ? order < 0 : a.length < b.length
        }
        return ok
    }

    private func reserve(_ more: Int) {
        guard used + more > capacity else { return }
        let grown = max(capacity * 2, used + more)
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
        bigger.copyMemory(from: arena, byteCount: used)
        arena.deallocate()
        arena = bigger
        capacity = grown
    }
}
