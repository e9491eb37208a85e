// Builds a repository with many small blobs, to measure maintenance (check, forget, prune) at
// scale against restic on the same data:
//   make-large-repo REPO [BLOBS]   (password from RESTIC_PASSWORD)
// Two snapshots: "all" references every blob, "half" the first half, so forgetting "all" leaves
// half of the data for prune to delete.
import Foundation
import ResticCore
import ResticBackends
import ResticRepository

let arguments = CommandLine.arguments
guard arguments.count >= 2, let password = ProcessInfo.processInfo.environment["RESTIC_PASSWORD"] else {
    FileHandle.standardError.write(Data("usage: RESTIC_PASSWORD=… make-large-repo REPO [BLOBS]\n".utf8))
    exit(2)
}
let count = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
let perTree = 1000

try await LargeRepository.build(path: arguments[1], password: password, count: count, perTree: perTree)

enum LargeRepository {
    static func build(path: String, password: String, count: Int, perTree: Int) async throws {
        let repository = try await Repository.initialize(LocalBackend(path: path), password: password,
                                                         scrypt: KeyRing.ScryptParameters(n: 1 << 15, r: 8, p: 1))
        let indexed = try await repository.loadIndex()
        let writer = RepositoryWriter(repository: indexed)
        let sealer = try BlobSealer(repository: repository, compression: .off, verify: false)
        let time = GoTime(seconds: 1_780_000_000, nanoseconds: 0, utcOffset: 0)

        var directories: [Node] = []
        var files: [Node] = []
        for i in 0..<count {
            let content = Array("large-repo blob \(i) ".utf8) + [UInt8](repeating: UInt8(i % 251), count: 48)
            let (id, _) = try await writer.save(content, .data, sealer: sealer)
            var file = Node(name: Array(String(format: "f%07d", i).utf8), type: "file")
            file.mode = 0o644
            file.mtime = time; file.atime = time; file.ctime = time
            file.size = UInt64(content.count)
            file.content = [id]
            files.append(file)
            if files.count == perTree || i == count - 1 {
                let (tree, _) = try await writer.save(Tree(nodes: files).encode(), .tree, sealer: sealer)
                var dir = Node(name: Array(String(format: "d%05d", directories.count).utf8), type: "dir")
                dir.mode = GoFileMode.dir | 0o755
                dir.mtime = time; dir.atime = time; dir.ctime = time
                dir.subtree = tree
                directories.append(dir)
                files = []
            }
        }
        func snapshot(_ dirs: [Node], tag: String, offset: Int64) async throws {
            let (root, _) = try await writer.save(Tree(nodes: dirs).encode(), .tree, sealer: sealer)
            let snap = Snapshot(time: GoTime(seconds: time.seconds + offset, nanoseconds: 0, utcOffset: 0), tree: root,
                                paths: ["/large"], hostname: "bench", username: "bench", tags: [tag])
            try await writer.flush()
            try await repository.saveUnpacked(.snapshot, snap.encode())
        }
        try await snapshot(Array(directories.prefix(directories.count / 2)), tag: "half", offset: 0)
        try await snapshot(directories, tag: "all", offset: -3600)
        print("\(count) data blobs, \(directories.count + 2) trees, 2 snapshots in \(path)")
    }
}
