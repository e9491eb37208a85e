import Foundation
import Testing

/// A small repository with a history, shared by the prune, repair and unlock tests.
struct MaintenanceFixture {
    let dir: URL
    let repo: String
    let source: String

    /// A v2 repository (made by us or by restic) with `files` random files of `size` bytes.
    static func make(files: Int = 4, size: Int = 1_500_000, resticInit: Bool = false) throws -> MaintenanceFixture {
        let dir = try TempDir.make("cartae-maint")
        let repo = dir.appendingPathComponent("repo").path
        let source = dir.appendingPathComponent("src").path
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        for i in 0..<files { try randomFile("\(source)/file\(i).bin", size: size, seed: UInt64(i + 1)) }
        let fixture = MaintenanceFixture(dir: dir, repo: repo, source: source)
        let made = resticInit ? try Harness.restic(["init"], repo: repo) : try Harness.ours(["init"], repo: repo)
        try #require(made.status == 0, "init failed: \(made.stderr)")
        return fixture
    }

    static func randomFile(_ path: String, size: Int, seed: UInt64) throws {
        var state = seed &* 0x9E3779B97F4A7C15 | 1
        var bytes = [UInt8](repeating: 0, count: size)
        for i in 0..<size {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes[i] = UInt8(truncatingIfNeeded: state)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @discardableResult
    func ours(_ arguments: [String]) throws -> Harness.Result { try Harness.ours(arguments, repo: repo) }

    @discardableResult
    func restic(_ arguments: [String]) throws -> Harness.Result { try Harness.restic(arguments, repo: repo) }

    func backup(tag: String) throws {
        let result = try ours(["backup", "-q", "--tag", tag, source])
        try #require(result.status == 0, "backup failed: \(result.stderr)")
    }

    /// Pack files currently in the repository.
    func packs() -> Set<String> {
        let data = URL(fileURLWithPath: repo).appendingPathComponent("data")
        var found = Set<String>()
        for folder in (try? FileManager.default.contentsOfDirectory(atPath: data.path)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent(folder).path)) ?? [] {
                found.insert(name)
            }
        }
        return found
    }

    func files(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: repo + "/" + folder)) ?? []).sorted()
    }

    /// `restic check --read-data` must be clean.
    func expectResticCheckClean(_ comment: Comment? = nil) throws {
        let check = try restic(["check", "--read-data"])
        #expect(check.status == 0, "restic check failed \(comment?.description ?? ""): \(check.out) \(check.stderr)")
    }

    /// Restores `snapshot` with restic and compares it with `expected` (a manifest of the source
    /// taken when the snapshot was made).
    func expectRestores(_ snapshot: String, equal expected: Any) throws {
        let target = dir.appendingPathComponent("restore-\(UUID().uuidString.prefix(6))").path
        let restore = try restic(["restore", snapshot, "--target", target])
        try #require(restore.status == 0, "restic restore failed: \(restore.stderr)")
        let restored = try Harness.manifest(target + source, extra: ["--ignore", "mtime_dirs"])
        #expect(NSDictionary(dictionary: ["m": restored]) == NSDictionary(dictionary: ["m": expected]))
    }

    func snapshotIDs() throws -> [String] {
        let list = try restic(["snapshots", "--json"])
        let array = try JSONSerialization.jsonObject(with: list.stdout) as? [[String: Any]] ?? []
        return array.compactMap { $0["id"] as? String }
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }
}
