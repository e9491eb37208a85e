import ArgumentParser
import Foundation
import ResticCore
import ResticRepository
import ResticRestorer

struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print a backed-up file to stdout; a directory is written as a tar archive.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filter: SnapshotFilterOptions

    @Argument(help: "Snapshot ID or \"latest\".")
    var snapshot: String

    @Argument(help: "Path of the file or directory inside the snapshot.")
    var file: String

    @Option(name: [.customShort("a"), .customLong("archive")], help: "Set archive format as \"tar\".")
    var archive: String = "tar"

    func run() async throws {
        guard archive == "tar" else { throw ResticError.invalid("--archive: unknown archive format \"\(archive)\" (only tar is supported)") }
        let repo = try await global.openIndexed()
        let record = try await repo.repository.findSnapshot(snapshot, filter: filter.filter)
        let streamer = ContentStreamer(repository: repo)
        let stdout = FileHandle.standardOutput
        let node = try await repo.node(at: file, below: record.snapshot.tree)
        if let node, node.type == "file" {
            try await streamer.stream(node) { stdout.write(Data($0)) }
            return
        }
        if let node, node.type != "dir" {
            throw ResticError.invalid("cannot dump file of type \"\(node.type)\": \(file)")
        }
        let root = try await repo.subtree(of: record.snapshot.tree, path: file)
        let tar = TarWriter { stdout.write(Data($0)) }
        var firstNames: [String: String] = [:]
        try await repo.walk(root, prefix: file == "/" ? "" : "/" + file.split(separator: "/").joined(separator: "/")) { path, node in
            let name = String(path.drop(while: { $0 == "/" }))
            switch node.type {
            case "dir":
                try tar.header(name: name + "/", type: .directory, node: node, size: 0)
            case "file":
                let key = "\(node.deviceID):\(node.inode)"
                if node.links > 1, let first = firstNames[key] {
                    try tar.header(name: name, type: .hardlink, node: node, size: 0, linkName: first)
                    break
                }
                if node.links > 1 { firstNames[key] = name }
                let size = (node.content ?? []).compactMap { repo.index.location(of: $0, .data)?.plaintextLength }.reduce(0, +)
                try tar.header(name: name, type: .file, node: node, size: size)
                try await streamer.stream(node) { stdout.write(Data($0)) }
                try tar.finishContent(size: size)
            case "symlink":
                try tar.header(name: name, type: .symlink, node: node, size: 0,
                               linkName: String(decoding: node.linkTarget ?? [], as: UTF8.self))
            case "fifo":
                try tar.header(name: name, type: .fifo, node: node, size: 0)
            case "chardev":
                try tar.header(name: name, type: .charDevice, node: node, size: 0)
            case "dev":
                try tar.header(name: name, type: .blockDevice, node: node, size: 0)
            default:
                break
            }
            return true
        }
        try tar.finish()
    }
}
