import Foundation
import Testing
import ResticCore
import ResticCrypto
import ResticBackends
import ResticRepository

/// A fresh copy of a fixture repository for one check test, with in-process access to its
/// index and snapshots so a test can damage exactly the file it means to.
final class CheckRepo {
    let path: String
    let name: String
    /// Opening costs a scrypt run with the fixture's calibrated key, so it is done once.
    private var opened: Repository?

    private init(path: String, name: String) {
        self.path = path
        self.name = name
    }

    static func fixture(_ name: String) throws -> CheckRepo {
        let path = try Harness.fixtureRepository(name)
        _ = try Harness.run("chmod", ["-R", "u+w", path])
        return CheckRepo(path: path, name: name)
    }

    func remove() { ReadPath.removeTemp(ReadPath.parent(path)) }

    @discardableResult
    func check(_ arguments: [String] = []) throws -> Harness.Result {
        let result = try ReadPath.ours(path, ["check"] + arguments)
        ReadPath.expectNoCrash(result)
        return result
    }

    @discardableResult
    func restic(_ arguments: [String] = []) throws -> Harness.Result {
        try ReadPath.restic(path, ["check"] + arguments)
    }

    func open() async throws -> Repository {
        if let opened { return opened }
        let repository = try await Repository.open(LocalBackend(path: path), password: Fixture.password)
        opened = repository
        return repository
    }

    func indexed() async throws -> IndexedRepository { try await open().loadIndex() }

    /// Pack IDs with their file sizes, as the data folder holds them.
    func packFiles() throws -> [ObjectID: Int] {
        var result: [ObjectID: Int] = [:]
        for name in WriteRepo.files(path, "data") {
            guard let id = ObjectID(hex: name) else { continue }
            let attributes = try FileManager.default.attributesOfItem(atPath: packPath(id))
            result[id] = (attributes[.size] as? Int) ?? -1
        }
        return result
    }

    func packPath(_ id: ObjectID) -> String { ReadPath.packPath(path, id) }

    /// The pack holding snapshot a's README.txt (a data pack).
    func readmeLocation() async throws -> (blob: String, location: BlobLocation) {
        let tree = try Fixture.treeID(name, path: "/tmp/cartae-fixture-src")
        let readme = try #require(try Fixture.contentOf(name, tree: tree, name: "README.txt").first)
        return (readme, try ReadPath.location(of: readme, .data, in: try await indexed()))
    }

    /// Packs holding tree blobs, with the tree IDs each holds.
    func treePacks() async throws -> [ObjectID: Set<ObjectID>] {
        var packs: [ObjectID: Set<ObjectID>] = [:]
        try await indexed().index.forEach { id, type, location in
            if type == .tree { packs[location.pack, default: []].insert(id) }
        }
        return packs
    }

    /// Root tree IDs of every snapshot.
    func snapshotRoots() async throws -> Set<ObjectID> {
        Set(try await open().loadSnapshots().map(\.snapshot.tree))
    }

    /// Deletes a pack holding a snapshot's root tree; returns it and the roots lost with it.
    func deleteRootTreePack() async throws -> (pack: ObjectID, lostRoots: Set<ObjectID>) {
        let roots = try await snapshotRoots()
        let (pack, trees) = try #require(try await treePacks().first { !$0.value.isDisjoint(with: roots) })
        try FileManager.default.removeItem(atPath: packPath(pack))
        return (pack, trees.intersection(roots))
    }

    /// Index file IDs with the packs each lists.
    func indexFiles() async throws -> [(id: ObjectID, packs: [IndexPack])] {
        let repository = try await open()
        var files: [(ObjectID, [IndexPack])] = []
        for id in try await repository.list(.index).sorted() {
            files.append((id, try IndexFile.decode(try await repository.loadUnpacked(.index, id)).packs))
        }
        return files
    }
}

enum CheckOutput {
    /// stdout lines naming unreferenced packs ("pack ID: not referenced in any index").
    static func unreferenced(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("pack "), line.hasSuffix(": not referenced in any index") else { return nil }
            return String(line.dropFirst(5).prefix(64))
        })
    }

    static func expectFailed(_ result: Harness.Result, naming needles: [String],
                             sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "exit \(result.status), stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(ReadPath.fatalLines(result) == ["Fatal: repository contains errors"], "\(result.stderr)",
                sourceLocation: sourceLocation)
        #expect(!result.out.contains("no errors were found"), sourceLocation: sourceLocation)
        for needle in needles {
            #expect(result.stderr.contains(needle), "stderr does not contain \(needle): \(result.stderr)",
                    sourceLocation: sourceLocation)
        }
    }

    static func expectClean(_ result: Harness.Result, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0, "exit \(result.status), stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.isEmpty, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.out.hasSuffix("no errors were found\n"), "\(result.out)", sourceLocation: sourceLocation)
    }
}
