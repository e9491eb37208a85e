#if canImport(Glibc)
import Glibc
#endif
import ResticCore

/// The parts of restore around the data: directories and some files made before it; links,
/// devices and the remaining metadata after it. Each phase runs on the file threads, grouped
/// by directory.
struct EntryPhases: Sendable {
    let workers: FileWorkers
    let ownership: Bool

    struct Result: Sendable {
        var files = 0
        var directories = 0
        var other = 0
        var errors: [String] = []
        /// Files that could not be made: nothing is written to them.
        var unmade: [Int] = []
        var fatal: ResticError?

        mutating func add(_ other: Result) {
            files += other.files
            directories += other.directories
            self.other += other.other
            errors += other.errors
            unmade += other.unmade
            if fatal == nil { fatal = other.fatal }
        }
    }

    /// Directories, parents before children: one depth at a time, each depth in parallel.
    func makeDirectories(_ plan: RestorePlan) async -> Result {
        var total = Result()
        for level in directoryLevels(plan) where total.fatal == nil {
            total.add(await run(level, plan) { entry, result in
                try FS.makeDirectory(entry.path)
                result.directories += 1
            })
        }
        return total
    }

    /// Files without content, complete with their metadata, and files written from several
    /// packs, at full size so any pack can write its part at once.
    func makeFilesBeforeData(_ plan: RestorePlan) async -> Result {
        let indices = plan.entries.indices.filter { index in
            guard case .file(let number) = plan.entries[index].kind else { return false }
            return plan.files[number].layout != .onePack
        }
        return await run(indices, plan) { entry, result in
            guard case .file(let number) = entry.kind else { return }
            let file = plan.files[number]
            let fd: Int32
            do {
                fd = try FS.createFile(file.path, mode: EntryMetadata.creationMode(entry.meta, ownership: ownership))
            } catch {
                result.unmade.append(number)
                throw error
            }
            defer { close(fd) }
            result.files += 1
            if file.layout == .empty {
                try EntryMetadata.apply(entry.meta, fd: fd, path: file.path, ownership: ownership)
            } else {
                try FS.truncate(fd, size: file.size, path: file.path)
            }
        }
    }

    /// What needs complete files: metadata of files written from several packs, hardlinks,
    /// symlinks and devices.
    func finishEntries(_ plan: RestorePlan) async -> Result {
        let indices = plan.entries.indices.filter { index in
            switch plan.entries[index].kind {
            case .directory: return false
            case .file(let number): return plan.files[number].layout == .spanning && !plan.files[number].failed
            case .hardlink, .symlink, .special: return true
            }
        }
        return await run(indices, plan) { entry, result in
            switch entry.kind {
            case .directory:
                return
            case .file:
                try EntryMetadata.apply(entry.meta, path: entry.path, ownership: ownership)
            case .hardlink(let number):
                try FS.hardlink(from: plan.files[number].path, to: entry.path)
                result.files += 1
            case .symlink:
                try FS.symlink(target: entry.meta.linkTarget, at: entry.path)
                try EntryMetadata.apply(entry.meta, path: entry.path, ownership: ownership)
                result.other += 1
            case .special:
                try FS.makeNode(entry.path, mode: Self.specialMode(entry.meta), device: entry.meta.device)
                try EntryMetadata.apply(entry.meta, path: entry.path, ownership: ownership)
                result.other += 1
            }
        }
    }

    /// Directory metadata, deepest first, once nothing more is created inside: a directory made
    /// read-only must not stop the ones below it.
    func finishDirectories(_ plan: RestorePlan) async -> Result {
        var total = Result()
        for level in directoryLevels(plan).reversed() {
            total.add(await run(level, plan) { entry, _ in
                try EntryMetadata.apply(entry.meta, path: entry.path, ownership: ownership)
            })
        }
        return total
    }

    /// Directory entries by depth, shallowest first.
    private func directoryLevels(_ plan: RestorePlan) -> [[Int]] {
        var levels: [[Int]] = []
        for (index, entry) in plan.entries.enumerated() {
            guard case .directory = entry.kind else { continue }
            while levels.count <= entry.depth { levels.append([]) }
            levels[entry.depth].append(index)
        }
        return levels
    }

    /// Runs `body` for the entries at `indices` on the file threads; an error concerns its entry
    /// only, except a full disk, which stops the phase.
    private func run(_ indices: [Int], _ plan: RestorePlan,
                     _ body: @escaping @Sendable (RestorePlan.Entry, inout Result) throws -> Void) async -> Result {
        let groups = FileWriter.grouped(indices, limit: FileWriter.filesPerTask) { plan.entries[$0].parent }
        let results = await workers.map(groups) { group in
            var result = Result()
            for index in group where result.fatal == nil {
                do {
                    try body(plan.entries[index], &result)
                } catch let full as OutOfSpace {
                    result.fatal = full.error
                } catch {
                    result.errors.append("\(error)")
                }
            }
            return result
        }
        var total = Result()
        for result in results { total.add(result) }
        return total
    }

    static func specialMode(_ meta: EntryMeta) -> mode_t {
        let permissions = EntryMetadata.permissions(meta)
        switch meta.special {
        case .fifo: return S_IFIFO | permissions
        case .charDevice: return S_IFCHR | permissions
        default: return S_IFBLK | permissions
        }
    }
}
