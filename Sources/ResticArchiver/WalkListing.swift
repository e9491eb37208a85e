#if canImport(Glibc)
import Glibc
#endif
import ResticCore

/// The entries of one directory for the walker, in restic's order: from the scan cache when
/// the prefetch read it (no system call), else read now.
struct WalkListing {
    private enum Storage {
        case live(SourceFS.OpenDirectory, [[UInt8]])
        case cached(ScannedDirectory)
    }

    /// Where the walker takes an entry's metadata from.
    enum Source {
        /// lstat, extended attributes and link target read now: relative to the open directory,
        /// or by path when there is none.
        case live(SourceFS.OpenDirectory?)
        case cached(ScannedDirectory.Entry)
    }

    private let storage: Storage
    private var index = 0
    private var cursor = ScannedDirectory.Cursor()
    /// Entries still to come from this listing: after `splitOffSecondHalf` it stops where the
    /// other half begins.
    private(set) var remaining: Int

    /// The cached listing if there is one, else the directory read now; throws as listing the
    /// directory does (the walker warns and keeps it empty).
    init(_ path: [UInt8], cached: ScannedDirectory?) throws {
        if let cached {
            storage = .cached(cached)
            remaining = cached.count
        } else {
            let directory = try SourceFS.OpenDirectory(path)
            let names = try directory.names()
            storage = .live(directory, names)
            remaining = names.count
        }
    }

    /// Gives the second half of the entries still to come to a listing of its own, for another
    /// task to walk; this one ends before them.
    mutating func splitOffSecondHalf() -> WalkListing {
        let keep = remaining - remaining / 2
        var rest = self
        switch storage {
        case .live: rest.index = index + keep
        case .cached(let scanned): scanned.skip(keep, cursor: &rest.cursor)
        }
        rest.remaining = remaining - keep
        remaining = keep
        return rest
    }

    func contains(_ name: [UInt8]) -> Bool {
        switch storage {
        case .live(_, let names): names.contains(name)
        case .cached(let scanned): scanned.contains(name)
        }
    }

    mutating func next() -> (name: [UInt8], source: Source)? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        switch storage {
        case .live(let directory, let names):
            guard index < names.count else { return nil }
            index += 1
            return (names[index - 1], .live(directory))
        case .cached(let scanned):
            guard var entry = scanned.entry(at: &cursor) else { return nil }
            let name = entry.name
            entry.name = []
            // A file with several names may be changed through another directory, which that
            // directory's watch does not see: such entries are read again.
            if entry.status.st_nlink > 1 && entry.status.st_mode & S_IFMT != S_IFDIR {
                return (name, .live(nil))
            }
            return (name, .cached(entry))
        }
    }
}
