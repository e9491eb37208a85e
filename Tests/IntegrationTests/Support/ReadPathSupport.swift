import Foundation
import Synchronization
import Testing
import ResticCore
import ResticCrypto
import ResticBackends
import ResticRepository

/// Facts about the committed fixtures (Fixtures/manifest.json, Fixtures/golden) and small tools
/// the read-path tests share: running our binary on a fixture, comparing restored trees with
/// manifest.py, listing what a restore produced.
enum Fixture {
    static let repos = ["repo-v1", "repo-v2"]
    static let password = Harness.fixturePassword
    static let sourceRoot = "/tmp/cartae-fixture-src"
    static var manifestPath: String { Harness.fixtures.appendingPathComponent("manifest.json").path }

    static func manifest() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HarnessError("manifest.json is not an object")
        }
        return object
    }

    /// The manifest.json record of snapshot `label` ("a" … "e").
    static func snapshot(_ label: String) throws -> [String: Any] {
        guard let snapshots = try manifest()["snapshots"] as? [String: Any],
              let record = snapshots[label] as? [String: Any] else {
            throw HarnessError("manifest.json has no snapshot \(label)")
        }
        return record
    }

    static func snapshotID(_ label: String, _ repo: String) throws -> String {
        guard let ids = try snapshot(label)["ids"] as? [String: String], let id = ids[repo] else {
            throw HarnessError("manifest.json has no ID of snapshot \(label) in \(repo)")
        }
        return id
    }

    /// The source-tree manifest entries of label "a", "b" or "c", keyed by path.
    static func entries(_ label: String) throws -> [String: NSDictionary] {
        guard let manifests = try manifest()["manifests"] as? [String: Any],
              let tree = manifests[label] as? [String: Any],
              let list = tree["entries"] as? [[String: Any]] else {
            throw HarnessError("manifest.json has no manifest \(label)")
        }
        var byPath: [String: NSDictionary] = [:]
        for entry in list {
            if let path = entry["path"] as? String { byPath[path] = entry as NSDictionary }
        }
        return byPath
    }

    static func config(_ repo: String) throws -> [String: Any] {
        guard let repos = try manifest()["repositories"] as? [String: Any],
              let config = repos[repo] as? [String: Any] else {
            throw HarnessError("manifest.json has no config of \(repo)")
        }
        return config
    }

    /// restic 0.14's verbatim output for this repository.
    static func golden(_ repo: String, _ name: String) -> URL {
        let base = Harness.fixtures.appendingPathComponent("golden")
        return (repo == "repo-v1" ? base.appendingPathComponent("v1") : base).appendingPathComponent(name)
    }

    static func goldenData(_ repo: String, _ name: String) throws -> Data {
        try Data(contentsOf: golden(repo, name))
    }

    /// Tree ID of `path` in snapshot a, from golden/trees-a/index.txt ("ID PATH" lines).
    static func treeID(_ repo: String, path: String) throws -> String {
        let text = String(decoding: try goldenData(repo, "trees-a/index.txt"), as: UTF8.self)
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 && parts[1] == path { return String(parts[0]) }
        }
        throw HarnessError("no tree for \(path) in \(repo)'s golden trees-a/index.txt")
    }

    /// The stored bytes of a tree blob of snapshot a.
    static func treeBytes(_ repo: String, _ id: String) throws -> Data {
        try goldenData(repo, "trees-a/\(id).json")
    }

    /// The content blob IDs of node `name` in the stored tree `treeID` of snapshot a.
    static func contentOf(_ repo: String, tree treeID: String, name: String) throws -> [String] {
        let tree = try JSONSerialization.jsonObject(with: treeBytes(repo, treeID)) as? [String: Any]
        let nodes = tree?["nodes"] as? [[String: Any]] ?? []
        guard let node = nodes.first(where: { $0["name"] as? String == name }),
              let content = node["content"] as? [String] else {
            throw HarnessError("no node \(name) with content in tree \(treeID)")
        }
        return content
    }
}

extension Fixture {
    /// A fresh copy of a fixture repository with one more key file, made by our engine with cheap
    /// scrypt parameters (N=1024) and named in `<copy>.keyhint`, which `ReadPath.ours`/`restic`
    /// pass as RESTIC_KEY_HINT. restic's own key costs ~0.3 s of scrypt per command; with ~200
    /// commands in these suites that alone would blow the time budget. Tests about keys and
    /// passwords use `Harness.fixtureRepository` (restic's key only) instead.
    static func fast(_ repo: String) async throws -> String {
        let template = try await FastTemplates.shared.template(repo)
        let dir = try TempDir.make().path
        let copy = try Harness.run("cp", ["-a", template.path, "\(dir)/\(repo)"])
        guard copy.status == 0 else { throw HarnessError("cp failed: \(copy.stderr)") }
        try Data(template.hint.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(repo).keyhint"))
        return "\(dir)/\(repo)"
    }
}

/// One prepared copy of each fixture per test process (the per-test copies are made from it).
actor FastTemplates {
    static let shared = FastTemplates()
    private var tasks: [String: Task<(path: String, hint: String), Error>] = [:]

    func template(_ repo: String) async throws -> (path: String, hint: String) {
        if let task = tasks[repo] { return try await task.value }
        let task = Task { () async throws -> (path: String, hint: String) in
            let path = try Harness.fixtureRepository(repo)
            FastTemplates.registerForRemoval(ReadPath.parent(path))
            let repository = try await Repository.open(LocalBackend(path: path), password: Fixture.password)
            let id = try await KeyRing.add(repository.backend, master: repository.key, password: Fixture.password,
                                           parameters: .init(n: 1024, r: 8, p: 1), username: "test", hostname: "test")
            return (path, id.hex)
        }
        tasks[repo] = task
        return try await task.value
    }

    private static let made = Mutex<[String]>([])

    /// The templates live as long as the test process; remove them when it exits.
    private static func registerForRemoval(_ dir: String) {
        let first = made.withLock { list in
            list.append(dir)
            return list.count == 1
        }
        if first {
            atexit {
                for dir in FastTemplates.made.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: dir) }
            }
        }
    }
}

/// Running commands against a fixture copy and inspecting what came out.
enum ReadPath {
    /// Our binary on `repo` with the fixture password in RESTIC_PASSWORD.
    @discardableResult
    static func ours(_ repo: String, _ arguments: [String], environment: [String: String] = [:],
                     input: Data? = nil) throws -> Harness.Result {
        try Harness.ours(arguments, repo: repo, password: Fixture.password,
                         environment: keyHint(repo).merging(environment) { $1 }, input: input)
    }

    /// The installed restic on `repo` with the fixture password.
    @discardableResult
    static func restic(_ repo: String, _ arguments: [String]) throws -> Harness.Result {
        try Harness.restic(arguments, repo: repo, password: Fixture.password, environment: keyHint(repo))
    }

    /// RESTIC_KEY_HINT for a copy made by `Fixture.fast`, nothing otherwise.
    static func keyHint(_ repo: String) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: repo + ".keyhint") else { return [:] }
        return ["RESTIC_KEY_HINT": String(decoding: data, as: UTF8.self)]
    }

    /// `manifest.py DIR --compare manifest.json --label LABEL` plus `extra`; exit 0 = equal.
    static func compare(_ dir: String, label: String, extra: [String] = []) throws -> Harness.Result {
        try Harness.run("python3", [Harness.fixtures.appendingPathComponent("manifest.py").path, dir,
                                    "--compare", Fixture.manifestPath, "--label", label] + extra)
    }

    /// manifest.py's entries of `dir`, keyed by path.
    static func entries(_ dir: String, extra: [String] = []) throws -> [String: NSDictionary] {
        guard let object = try Harness.manifest(dir, extra: extra) as? [String: Any],
              let list = object["entries"] as? [[String: Any]] else {
            throw HarnessError("manifest.py gave no entries for \(dir)")
        }
        var byPath: [String: NSDictionary] = [:]
        for entry in list {
            if let path = entry["path"] as? String { byPath[path] = entry as NSDictionary }
        }
        return byPath
    }

    /// Every path below `dir` (relative, without following symlinks), as `find -printf %P` gives them.
    static func paths(under dir: String) throws -> Set<String> {
        let result = try Harness.run("find", [dir, "-mindepth", "1", "-printf", "%P\\0"])
        guard result.status == 0 else { throw HarnessError("find failed: \(result.stderr)") }
        return Set(result.stdout.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
    }

    static func sha256(_ data: Data) -> String {
        ObjectID(bytes: SHA256.digest([UInt8](data))).hex
    }

    static func sha256(file path: String) throws -> String {
        sha256(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Lines of standard error that start with "Fatal:".
    static func fatalLines(_ result: Harness.Result) -> [String] {
        result.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("Fatal:") }
    }

    /// A Swift trap or a signal shows up as a small status (4, 5, 6, 11…) or as 128+signal from a
    /// shell, plus a runtime message on stderr; a clean error never does.
    static func expectNoCrash(_ result: Harness.Result, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(![4, 5, 6, 7, 8, 11, 132, 133, 134, 135, 136, 139].contains(result.status),
                "exit status \(result.status) looks like a crash: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("Fatal error:") && !result.stderr.contains("Stack dump"),
                "runtime crash output: \(result.stderr)", sourceLocation: sourceLocation)
    }

    /// The fixture's index, read in-process with our engine (to find where blobs are stored).
    static func index(_ repo: String) async throws -> IndexedRepository {
        let repository = try await Repository.open(LocalBackend(path: repo), password: Fixture.password,
                                                   keyHint: keyHint(repo)["RESTIC_KEY_HINT"])
        return try await repository.loadIndex()
    }

    /// The pack, offset and length of a blob.
    static func location(of blob: String, _ type: BlobType, in indexed: IndexedRepository) throws -> BlobLocation {
        guard let id = ObjectID(hex: blob), let location = indexed.index.location(of: id, type) else {
            throw HarnessError("\(type) blob \(blob) not in the index")
        }
        return location
    }

    static func packPath(_ repo: String, _ pack: ObjectID) -> String {
        "\(repo)/data/\(pack.hex.prefix(2))/\(pack.hex)"
    }

    /// XORs one byte of a file in place (fixture files are 0400; we run as root or chmod first).
    static func flipByte(_ path: String, at offset: Int) throws {
        chmodWritable(path)
        let handle = try Foundation.FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        guard let byte = try handle.read(upToCount: 1)?.first else { throw HarnessError("\(path) is shorter than \(offset + 1) bytes") }
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data([byte ^ 0x5a]))
    }

    static func overwrite(_ path: String, with data: Data) throws {
        chmodWritable(path)
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func chmodWritable(_ path: String) {
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// Parses JSON text for order-insensitive comparison of objects.
    static func json(_ data: Data) throws -> NSObject {
        guard let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? NSObject else {
            throw HarnessError("not JSON: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        return object
    }

    /// Each non-empty line parsed as JSON.
    static func jsonLines(_ data: Data) throws -> [NSObject] {
        try data.split(separator: 10).filter { !$0.isEmpty }.map { try json(Data($0)) }
    }

    static func removeTemp(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The temp folder that holds an unpacked fixture repository.
    static func parent(_ repo: String) -> String {
        URL(fileURLWithPath: repo).deletingLastPathComponent().path
    }
}
