import Foundation
import Testing

/// `forget` against the installed restic on a 112-snapshot history made by `restic backup
/// --time`: for every policy both programs' `--dry-run --json` must name the same groups, keep
/// and remove the same snapshots in the same order, and give the same reasons and counters.
/// (restic 0.14's reasons carry no snapshot ID; ours add `id`/`short_id` as newer restic does.)
@Suite(.serialized) struct ForgetCompatibilityTests {
    /// One group's verdict, comparable across both programs' JSON.
    struct GroupVerdict: Equatable, CustomStringConvertible {
        var keep: [String]
        var remove: [String]
        var matches: [[String]]
        var counters: [[String: Int]]

        var description: String { "keep \(keep.map { $0.prefix(8) }) remove \(remove.map { $0.prefix(8) }) matches \(matches)" }
    }

    /// restic's `forget --json` output, keyed by "host|paths|tags".
    static func verdicts(_ result: Harness.Result) throws -> [String: GroupVerdict] {
        guard !result.stdout.isEmpty else { return [:] }
        guard let groups = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] else {
            throw HarnessError("forget --json did not print an array: \(result.out.prefix(200))")
        }
        var out: [String: GroupVerdict] = [:]
        for group in groups {
            let host = group["host"] as? String ?? "?"
            let paths = (group["paths"] as? [String])?.joined(separator: ",") ?? "null"
            let tags = (group["tags"] as? [String])?.joined(separator: ",") ?? "null"
            func ids(_ key: String) -> [String] {
                ((group[key] as? [[String: Any]]) ?? []).map { $0["id"] as? String ?? "?" }
            }
            let reasons = (group["reasons"] as? [[String: Any]]) ?? []
            out["\(host)|\(paths)|\(tags)"] = GroupVerdict(
                keep: ids("keep"), remove: ids("remove"),
                matches: reasons.map { $0["matches"] as? [String] ?? [] },
                counters: reasons.map { ($0["counters"] as? [String: Any] ?? [:]).mapValues { ($0 as? NSNumber)?.intValue ?? 0 } })
        }
        return out
    }

    static func policies(_ history: ForgetHistory) -> [(arguments: [String], zone: String)] {
        let sub = history.source + "/sub"
        return [
            (["--keep-last", "5"], "UTC"),
            (["--keep-hourly", "10"], "UTC"),
            (["--keep-daily", "7"], "UTC"),
            (["--keep-weekly", "8"], "UTC"),
            (["--keep-monthly", "6"], "UTC"),
            (["--keep-yearly", "1"], "UTC"),
            (["--keep-daily", "7", "--keep-weekly", "5", "--keep-monthly", "12", "--keep-yearly", "1"], "UTC"),
            (["--keep-within", "3m"], "UTC"),
            (["--keep-within", "1y2m3d4h"], "UTC"),
            (["--keep-within-daily", "2m", "--keep-within-weekly", "6m"], "UTC"),
            (["--keep-within-hourly", "10d", "--keep-within-monthly", "1y"], "UTC"),
            (["--keep-tag", "manual", "--keep-last", "2"], "UTC"),
            (["--keep-tag", "daily,db", "--keep-tag", "weekly", "--keep-monthly", "3"], "UTC"),
            (["--group-by", "host,tags", "--keep-last", "3"], "UTC"),
            (["--group-by", "", "--keep-weekly", "10"], "UTC"),
            (["--host", "h1", "--keep-daily", "4"], "UTC"),
            (["--tag", "daily", "--keep-monthly", "4"], "UTC"),
            (["--path", sub, "--keep-last", "2"], "UTC"),
            (["--keep-within", "2m", "--keep-weekly", "3"], "Europe/Berlin"),
        ]
    }

    @Test("dry-run --json verdicts equal restic's for 19 policies on a 112-snapshot history")
    func dryRunVerdictsMatchRestic() async throws {
        let history = try await ForgetHistory.shared()
        let all = try Harness.restic(["snapshots", "--json"], repo: history.repo, password: ForgetHistory.password)
        let snapshots = try #require(try JSONSerialization.jsonObject(with: all.stdout) as? [[String: Any]])
        try #require(snapshots.count == ForgetHistory.backups, "history has \(snapshots.count) snapshots")
        var removedSomewhere = 0
        for (arguments, zone) in Self.policies(history) {
            let command = ["forget", "--no-lock", "--dry-run", "--json"] + arguments
            let theirs = try Harness.restic(command, repo: history.repo, password: ForgetHistory.password,
                                            environment: ["TZ": zone])
            let ours = try Harness.ours(command, repo: history.repo, password: ForgetHistory.password,
                                        environment: ["TZ": zone])
            try #require(theirs.status == 0, "restic \(arguments): \(theirs.stderr)")
            #expect(ours.status == 0, "ours \(arguments): \(ours.stderr)")
            let expected = try Self.verdicts(theirs), got = try Self.verdicts(ours)
            #expect(!expected.isEmpty, "\(arguments)")
            #expect(Set(got.keys) == Set(expected.keys), "groups for \(arguments)")
            for (key, verdict) in expected {
                #expect(got[key] == verdict, "\(arguments) group \(key)")
            }
            let removed = Set(expected.values.flatMap(\.remove))
            #expect(Set(got.values.flatMap(\.remove)) == removed, "removed set for \(arguments)")
            if !removed.isEmpty { removedSomewhere += 1 }
        }
        // A comparison in which nothing is removed proves little; most policies must remove something.
        #expect(removedSomewhere >= 15)
    }

    @Test("a real forget removes exactly what restic's dry run names, restic agrees afterwards")
    func realForgetMatchesResticDryRun() async throws {
        let history = try await ForgetHistory.shared()
        let policy = ["--keep-daily", "7", "--keep-weekly", "5", "--keep-monthly", "12", "--keep-yearly", "1"]
        let plan = try Self.verdicts(try Harness.restic(["forget", "--no-lock", "--dry-run", "--json"] + policy, repo: history.repo,
                                                        password: ForgetHistory.password))
        let kept = Set(plan.values.flatMap(\.keep)), removed = Set(plan.values.flatMap(\.remove))
        try #require(!removed.isEmpty && !kept.isEmpty)

        let repo = try history.copy("real-forget")
        defer { try? FileManager.default.removeItem(atPath: repo) }

        defer { try? FileManager.default.removeItem(atPath: repo) }
        let result = try Harness.ours(["forget"] + policy, repo: repo, password: ForgetHistory.password)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.out.contains("[0:00] 100.00%  \(removed.count) / \(removed.count) files deleted"), "\(result.out.suffix(300))")

        let after = try Harness.restic(["snapshots", "--json"], repo: repo, password: ForgetHistory.password)
        try #require(after.status == 0, "\(after.stderr)")
        let left = try #require(try JSONSerialization.jsonObject(with: after.stdout) as? [[String: Any]])
        #expect(Set(left.compactMap { $0["id"] as? String }) == kept)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: repo + "/locks"))?.isEmpty == true, "our lock is gone")
        let check = try Harness.restic(["check"], repo: repo, password: ForgetHistory.password)
        #expect(check.status == 0, "\(check.out)\(check.stderr)")
    }

    @Test("snapshots named on the command line are removed without a policy")
    func explicitIDsAreRemoved() async throws {
        let history = try await ForgetHistory.shared()
        let repo = try history.copy("explicit")
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let list = try Harness.restic(["snapshots", "--json"], repo: repo, password: ForgetHistory.password)
        let ids = try #require(try JSONSerialization.jsonObject(with: list.stdout) as? [[String: Any]]).compactMap { $0["id"] as? String }
        try #require(ids.count == ForgetHistory.backups)
        let victims = [ids[3], ids[40]]
        // A full ID, and a short prefix of the other one.
        let result = try Harness.ours(["forget", victims[0], String(victims[1].prefix(10))], repo: repo,
                                      password: ForgetHistory.password)
        #expect(result.status == 0, "\(result.stderr)")
        let after = try Harness.restic(["snapshots", "--json"], repo: repo, password: ForgetHistory.password)
        let left = try #require(try JSONSerialization.jsonObject(with: after.stdout) as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(Set(left) == Set(ids).subtracting(victims))
    }
}
