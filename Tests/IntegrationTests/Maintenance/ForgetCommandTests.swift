import Foundation
import Testing

/// forget's command-line behaviour: text and JSON shaped like restic's, refusals, flag errors,
/// and `--prune`. Dry runs use `--no-lock` so they can share the history with other suites.
@Suite(.serialized) struct ForgetCommandTests {
    static func ours(_ arguments: [String], _ repo: String) throws -> Harness.Result {
        try Harness.ours(arguments, repo: repo, password: ForgetHistory.password)
    }

    static func restic(_ arguments: [String], _ repo: String) throws -> Harness.Result {
        try Harness.restic(arguments, repo: repo, password: ForgetHistory.password)
    }

    static func snapshotCount(_ repo: String) throws -> Int {
        let result = try restic(["snapshots", "--json"], repo)
        return try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [Any]).count
    }

    @Test("text output equals restic's byte for byte (tables with reasons, compact, group header)")
    func textOutputMatchesRestic() async throws {
        let history = try await ForgetHistory.shared()
        // One group, so restic's random group order does not matter.
        let one = ["--host", "h1", "--path", history.source]
        for extra in [["--keep-weekly", "3", "--keep-within-daily", "20d", "--keep-tag", "manual"],
                      ["-c", "--keep-monthly", "2", "--keep-last", "2"],
                      ["-v", "--keep-yearly", "1", "--keep-daily", "3"]] {
            let arguments = ["forget", "--no-lock", "--dry-run"] + one + extra
            let theirs = try Self.restic(arguments, history.repo)
            let ours = try Self.ours(arguments, history.repo)
            try #require(theirs.status == 0, "\(theirs.stderr)")
            #expect(ours.status == 0, "\(ours.stderr)")
            #expect(ours.out == theirs.out, "\(extra)\n--- ours\n\(ours.out)\n--- restic\n\(theirs.out)")
        }
    }

    @Test("--json equals restic's bytes, apart from the snapshot ID newer restic adds to each reason")
    func jsonMatchesRestic() async throws {
        let history = try await ForgetHistory.shared()
        let arguments = ["forget", "--no-lock", "--dry-run", "--json", "--host", "h2", "--path", history.source,
                         "--keep-daily", "5", "--keep-weekly", "3", "--keep-tag", "db"]
        let theirs = try Self.restic(arguments, history.repo)
        let ours = try Self.ours(arguments, history.repo)
        try #require(theirs.status == 0, "\(theirs.stderr)")
        let stripped = ours.out.replacingOccurrences(
            of: #","id":"[0-9a-f]{64}","short_id":"[0-9a-f]{8}"\},"matches""#, with: #"},"matches""#,
            options: .regularExpression)
        #expect(ours.out.contains(#""short_id""#) && ours.out.contains(#""counters":{"daily":"#))
        #expect(stripped == theirs.out)
    }

    @Test("'unlimited' and -1 keep everything; the counter stays -1")
    func unlimitedKeepsAll() async throws {
        let history = try await ForgetHistory.shared()
        for value in ["unlimited", "-1"] {
            let result = try Self.ours(["forget", "--no-lock", "-n", "--json", "--keep-last", value], history.repo)
            #expect(result.status == 0, "\(result.stderr)")
            let groups = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])
            #expect(groups.count == 4)
            for group in groups {
                #expect(group["remove"] is NSNull)
                let reasons = try #require(group["reasons"] as? [[String: Any]])
                #expect(reasons.allSatisfy { ($0["counters"] as? [String: Int])?["last"] == -1 })
            }
        }
    }

    @Test("an empty policy removes nothing and says so, as restic 0.14 does")
    func emptyPolicyRemovesNothing() async throws {
        let history = try await ForgetHistory.shared()
        let repo = try history.copy("empty-policy")
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let result = try Self.ours(["forget"], repo)
        #expect(result.status == 0)
        #expect(result.out == "no policy was specified, no snapshots will be removed\n")
        #expect(try Self.snapshotCount(repo) == ForgetHistory.backups)
    }

    @Test("a policy that would empty a group is refused before anything is removed")
    func refusesToEmptyAGroup() async throws {
        let history = try await ForgetHistory.shared()
        let repo = try history.copy("refuse")
        defer { try? FileManager.default.removeItem(atPath: repo) }
        // Only h1's and h2's main folders have "manual" snapshots; the sub folders have none.
        let result = try Self.ours(["forget", "--keep-tag", "manual"], repo)
        #expect(result.status == 1)
        #expect(result.stderr.contains("refusing to delete last snapshot of snapshot group \"host h"), "\(result.stderr)")
        #expect(try Self.snapshotCount(repo) == ForgetHistory.backups)
    }

    @Test("bad values are refused with restic's messages", arguments: [
        (["--keep-last", "-2"], "negative values other than -1 are not allowed for --keep-*"),
        (["--keep-daily", "seven"], "keep-daily"),
        (["--keep-within", "2w"], "keep-within"),
        (["--keep-within-weekly", "1y2"], "keep-within-weekly"),
        (["--group-by", "host,color", "--keep-last", "1"], "color"),
        (["--no-lock", "--keep-last", "1"], "--no-lock is only applicable in combination with --dry-run for forget command"),
        (["--prune", "--max-unused", "150%", "--keep-last", "1"], "max-unused"),
    ])
    func refusesBadValues(_ arguments: [String], _ message: String) async throws {
        let history = try await ForgetHistory.shared()
        let result = try Self.ours(["forget"] + arguments, history.repo)
        #expect(result.status == 1)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("--prune runs prune after forgetting; restic check passes and one snapshot per group is left")
    func forgetWithPrune() async throws {
        let history = try await ForgetHistory.shared()
        let repo = try history.copy("prune")
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let result = try Self.ours(["forget", "--keep-last", "1", "--prune"], repo)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.out.contains("\(ForgetHistory.backups - 4) snapshots have been removed, running prune"), "\(result.out.suffix(400))")
        #expect(try Self.snapshotCount(repo) == 4)
        let check = try Self.restic(["check"], repo)
        #expect(check.status == 0, "\(check.out)\(check.stderr)")
    }
}
