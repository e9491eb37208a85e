import ArgumentParser
import ResticCore
import ResticCrypto
import ResticRepository

struct CatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Print internal objects to stdout (config|index|snapshot|key|masterkey|blob|pack|tree).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Object type: config, index, snapshot, key, masterkey, blob, pack or tree.")
    var type: String

    @Argument(help: "Object ID (or SNAPSHOT[:path] for tree).")
    var id: String?

    func run() async throws {
        let repo = try await global.openRepository()
        if type == "config" {
            Output.write(JSONIndent.indent(repo.config.encode()) + [10])
            return
        }
        if type == "masterkey" {
            let key = MasterKeyJSON(encrypt: repo.key.encryption, macK: repo.key.macK, macR: repo.key.macR)
            Output.write(JSONIndent.indent(key.encode()) + [10])
            return
        }
        guard let id else { throw ResticError.invalid("cat \(type): an ID is required") }
        switch type {
        case "index":
            Output.write(try await repo.loadUnpacked(.index, repo.resolve(.index, prefix: id)))
        case "snapshot":
            let record = try await repo.findSnapshot(id)
            Output.write(JSONIndent.indent(record.snapshot.encode()) + [10])
        case "key":
            let keyID = try await repo.resolve(.key, prefix: id)
            let file = try KeyFile.decode(try await repo.backend.load(FileHandle(.key, keyID)))
            Output.write(JSONIndent.indent(file.encode()) + [10])
        case "lock":
            Output.write(JSONIndent.indent(try await repo.loadUnpacked(.lock, repo.resolve(.lock, prefix: id))) + [10])
        case "pack":
            let packID = try await repo.resolve(.pack, prefix: id)
            let bytes = try await repo.backend.load(FileHandle(.pack, packID))
            if ObjectID(bytes: SHA256.digest(bytes)) != packID {
                Output.error("Warning: hash of data does not match ID, want\n  \(packID.hex)\ngot:\n  \(ObjectID(bytes: SHA256.digest(bytes)).hex)")
            }
            Output.write(bytes)
        case "blob":
            let indexed = try await repo.loadIndex()
            guard let blobID = ObjectID(hex: id) else { throw ResticError.invalid("cat blob: invalid ID \"\(id)\"") }
            for blobType in [BlobType.tree, .data] where indexed.index.contains(blobID, blobType) {
                Output.write(try await indexed.loadBlob(blobID, blobType))
                return
            }
            throw ResticError.notFound("blob \(blobID.hex) not found")
        case "tree":
            let indexed = try await repo.loadIndex()
            let (reference, path) = SnapshotReference.split(id)
            let record = try await repo.findSnapshot(reference)
            let treeID = try await indexed.subtree(of: record.snapshot.tree, path: path)
            Output.write(JSONIndent.indent(try await indexed.loadBlob(treeID, .tree)) + [10])
        default:
            throw ResticError.invalid("invalid type \"\(type)\" (use config, index, snapshot, key, masterkey, lock, blob, pack or tree)")
        }
    }
}
