import ArgumentParser
import ResticCore
import ResticRepository

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List objects in the repository (blobs|packs|index|snapshots|keys|locks).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "What to list: blobs, packs, index, snapshots, keys or locks.")
    var kind: String

    func run() async throws {
        let repo = try await global.openRepository()
        let type: FileType
        switch kind {
        case "blobs":
            let indexed = try await repo.loadIndex()
            var lines: [String] = []
            indexed.index.forEach { id, type, _ in lines.append("\(type.rawValue) \(id.hex)") }
            lines.forEach(Output.print)
            return
        case "packs": type = .pack
        case "index": type = .index
        case "snapshots": type = .snapshot
        case "keys": type = .key
        case "locks": type = .lock
        default:
            throw ResticError.invalid("no such type \"\(kind)\" (use blobs, packs, index, snapshots, keys or locks)")
        }
        for id in try await repo.list(type).sorted() { Output.print(id.hex) }
    }
}
