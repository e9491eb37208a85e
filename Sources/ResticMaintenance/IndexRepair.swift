import ResticCore
import ResticRepository

/// `repair index`: rebuilds the index from the pack files themselves. Entries of intact index
/// files are reused for packs whose size still matches; every other pack's header is read.
/// The new index is stored before the old index files are deleted.
public enum IndexRepair {
    public struct Report: Sendable {
        public var packsRead = 0
        public var packsReused = 0
        public var unreadablePacks: [String] = []
        public var unreadableIndexFiles: [String] = []
        public var removedIndexFiles = 0
        public var newIndexFiles = 0
    }

    public static func run(_ repository: Repository, readAllPacks: Bool,
                           progress: ((String) -> Void)? = nil) async throws -> Report {
        var report = Report()
        progress?("loading indexes...")
        let oldIndexFiles = try await repository.list(.index)
        let indexFiles = try await repository.loadIndexFiles { id, error in
            report.unreadableIndexFiles.append("index \(id.hex): \(error)")
        }
        var known: [ObjectID: IndexPack] = [:]
        for (_, file) in indexFiles {
            for pack in file.packs where known[pack.id] == nil { known[pack.id] = pack }
        }
        progress?("getting pack files to read...")
        var rebuilt: [IndexPack] = []
        for info in try await repository.backend.list(.pack).sorted(by: { $0.name < $1.name }) {
            try Task.checkCancellation()
            guard let id = ObjectID(hex: info.name) else { continue }
            if !readAllPacks, let pack = known[id], pack.expectedPackSize == info.size {
                rebuilt.append(pack)
                report.packsReused += 1
                continue
            }
            do {
                let entries = try await repository.loadPackHeader(id, size: info.size)
                rebuilt.append(IndexPack(id: id, blobs: entries.map {
                    IndexBlob(id: $0.id, type: $0.type, offset: $0.offset, length: $0.length,
                              uncompressedLength: $0.uncompressedLength)
                }))
                report.packsRead += 1
            } catch {
                report.unreadablePacks.append("pack \(id.hex): \(error)")
            }
        }
        progress?("saving new index files")
        report.newIndexFiles = try await repository.saveIndex(rebuilt).count
        for id in oldIndexFiles {
            try await repository.backend.remove(FileHandle(.index, id))
            report.removedIndexFiles += 1
        }
        return report
    }
}
