import Foundation
import Testing
import ResticCore
import ResticRepository
import ResticMaintenance

/// Hand-made histories for each rule of the forget policy, with the expected verdict worked out
/// from restic's rules.
@Suite struct ForgetPolicyTests {
    /// Snapshots from RFC 3339 times (index = position in `times`), with optional tags.
    static func history(_ times: [String], tags: [[String]] = []) -> [SnapshotRecord] {
        times.enumerated().map { i, text in
            SnapshotRecord(id: ObjectID(w0: UInt64(i), w1: 0, w2: 0, w3: 0),
                           snapshot: Snapshot(time: GoTime(rfc3339: text) ?? .goZero, tree: .zero, paths: ["/d"],
                                              hostname: "h", tags: i < tags.count ? tags[i] : []))
        }
    }

    static let now = GoTime(rfc3339: "2030-01-01T00:00:00Z") ?? .goZero

    /// Indices of kept snapshots, newest first, and their reasons.
    static func kept(_ policy: ForgetPolicy, _ records: [SnapshotRecord], now: GoTime = now,
                     zone: TimeZone? = nil) -> [Int] {
        policy.apply(to: records, now: now, localZone: zone).filter(\.kept).map { Int($0.record.id.w0) }
    }

    static func reasons(_ policy: ForgetPolicy, _ records: [SnapshotRecord], now: GoTime = now) -> [[String]] {
        policy.apply(to: records, now: now).filter(\.kept).map { $0.reasons.map(\.description) }
    }

    @Test func keepLastKeepsTheNewestAndCountsDown() {
        let h = Self.history(["2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-01T12:00:00Z",
                              "2024-01-01T13:00:00Z", "2024-01-01T14:00:00Z"])
        let decisions = ForgetPolicy(last: 3).apply(to: h, now: Self.now)
        #expect(decisions.map { Int($0.record.id.w0) } == [4, 3, 2, 1, 0], "newest first")
        #expect(decisions.map(\.kept) == [true, true, true, false, false])
        #expect(decisions.prefix(3).map(\.counters.last) == [2, 1, 0])
        #expect(decisions[0].reasons == [.bucket(.last, oldest: false)])
    }

    @Test func hourlyDailyMonthlyYearlyKeepTheNewestOfEachPeriod() {
        let h = Self.history(["2023-11-30T09:00:00Z", "2023-12-01T10:05:00Z", "2023-12-01T10:40:00Z",
                              "2023-12-01T11:10:00Z", "2024-01-05T11:50:00Z", "2024-01-05T12:30:00Z"])
        #expect(Self.kept(ForgetPolicy(hourly: 3), h) == [5, 4, 3])
        #expect(Self.kept(ForgetPolicy(daily: 2), h) == [5, 3])
        #expect(Self.kept(ForgetPolicy(daily: 3), h) == [5, 3, 0])
        #expect(Self.kept(ForgetPolicy(monthly: 2), h) == [5, 3])
        #expect(Self.kept(ForgetPolicy(yearly: 2), h) == [5, 3])
        #expect(Self.reasons(ForgetPolicy(yearly: 2), h) == [["yearly snapshot"], ["yearly snapshot"]])
    }

    @Test func bucketsUseTheSnapshotsOwnOffset() {
        // Both are 2024-02-29 in UTC, but 29 February and 1 March on their own clocks.
        let h = Self.history(["2024-02-29T23:00:00+01:00", "2024-03-01T00:30:00+02:00"])
        #expect(Self.kept(ForgetPolicy(daily: 1), h) == [1])
        #expect(Self.kept(ForgetPolicy(daily: 2), h) == [1, 0])
        #expect(Self.kept(ForgetPolicy(monthly: 2), h) == [1, 0])
        // Same day by their own clocks although 13 hours apart in UTC.
        let same = Self.history(["2024-05-01T01:00:00+13:00", "2024-05-01T23:00:00-05:00"])
        #expect(Self.kept(ForgetPolicy(daily: 2), same) == [1, 0])
        #expect(Self.reasons(ForgetPolicy(daily: 2), same) == [["daily snapshot"], ["oldest daily snapshot"]])
    }

    @Test func weeklyUsesISOWeeksAcrossNewYear() {
        // Sun 2023-12-31 is 2023-W52; Mon 1 … Sun 7 January 2024 is 2024-W01; Mon 8 is W02.
        let h = Self.history(["2023-12-31T12:00:00Z", "2024-01-01T08:00:00Z", "2024-01-06T09:00:00Z",
                              "2024-01-07T20:00:00Z", "2024-01-08T07:00:00Z"])
        #expect(Self.kept(ForgetPolicy(weekly: 3), h) == [4, 3, 0])
        #expect(Self.kept(ForgetPolicy(weekly: 2), h) == [4, 3])
    }

    @Test func oldestSnapshotIsKeptWhileCountsAreLeft() {
        let h = Self.history(["2024-01-01T09:00:00Z", "2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z"])
        #expect(Self.kept(ForgetPolicy(daily: 5), h) == [2, 1, 0])
        #expect(Self.reasons(ForgetPolicy(daily: 5), h) == [["daily snapshot"], ["daily snapshot"], ["oldest daily snapshot"]])
        // Counts used up: the oldest is not kept.
        #expect(Self.kept(ForgetPolicy(daily: 2), h) == [2, 1])
        // A single snapshot is its own newest and oldest: one plain reason.
        #expect(Self.reasons(ForgetPolicy(daily: 5), Self.history(["2024-01-01T09:00:00Z"])) == [["daily snapshot"]])
    }

    @Test func minusOneIsUnlimited() {
        let days = (1...20).map { String(format: "2024-01-%02dT10:00:00Z", $0) }
        let h = Self.history(days + ["2024-01-20T11:00:00Z"])
        let decisions = ForgetPolicy(daily: -1).apply(to: h, now: Self.now)
        #expect(decisions.filter(\.kept).count == 20, "one per day")
        #expect(decisions.filter(\.kept).allSatisfy { $0.counters.daily == -1 })
        #expect(Self.kept(ForgetPolicy(last: -1), h).count == 21)
        #expect(ForgetPolicy(last: -1).description == "keep all latest snapshots")
        #expect(throws: ResticError.self) { try ForgetPolicy(daily: -2).validate() }
    }

    @Test func keepWithinIsStrictAtTheBoundary() {
        let h = Self.history(["2024-05-08T12:00:00Z", "2024-05-08T12:00:00.000000001Z", "2024-05-10T12:00:00Z"])
        #expect(Self.kept(ForgetPolicy(within: KeepDuration(days: 2)), h) == [2, 1])
        #expect(Self.reasons(ForgetPolicy(within: KeepDuration(days: 2)), h).first == ["within 2d"])
        #expect(Self.kept(ForgetPolicy(within: KeepDuration(days: 1, hours: 24)), h) == [2, 1])
        #expect(Self.kept(ForgetPolicy(within: KeepDuration(hours: 47)), h) == [2])
    }

    @Test func keepWithinUsesCalendarArithmetic() {
        // 31 March minus one month is "31 February", which Go normalises to 2 March.
        let h = Self.history(["2024-03-01T11:00:00Z", "2024-03-02T10:00:00Z", "2024-03-02T10:00:01Z", "2024-03-31T10:00:00Z"])
        #expect(Self.kept(ForgetPolicy(within: KeepDuration(months: 1)), h) == [3, 2])
        // 29 February minus a year is 1 March 2023.
        let leap = Self.history(["2023-02-28T23:00:00Z", "2023-03-01T00:00:00Z", "2023-03-01T00:00:01Z", "2024-02-29T00:00:00Z"])
        #expect(Self.kept(ForgetPolicy(within: KeepDuration(years: 1)), leap) == [3, 2])
    }

    @Test func keepWithinFollowsTheLocalZoneAcrossDST() throws {
        // Latest is in Berlin summer time (+02:00) and so "Local" for restic running in Berlin:
        // one month back is 10 March 10:00 CET = 09:00Z, not 08:00Z as a fixed +02:00 would give.
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let h = Self.history(["2024-03-10T08:30:00Z", "2024-03-10T09:30:00Z", "2024-04-10T10:00:00+02:00"])
        let policy = ForgetPolicy(within: KeepDuration(months: 1))
        #expect(Self.kept(policy, h, zone: berlin) == [2, 1])
        #expect(Self.kept(policy, h, zone: nil) == [2, 1, 0])
        // In another zone the +02:00 offset is a fixed zone again.
        #expect(Self.kept(policy, h, zone: TimeZone(identifier: "America/New_York")) == [2, 1, 0])
    }

    @Test func keepWithinBucketsKeepOnePerPeriodInsideTheWindow() {
        let h = Self.history(["2024-04-01T10:00:00Z", "2024-04-29T08:00:00Z", "2024-04-29T09:00:00Z",
                              "2024-04-30T10:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"])
        let policy = ForgetPolicy(withinBuckets: [.daily: KeepDuration(days: 3)])
        #expect(Self.kept(policy, h) == [5, 3, 2])
        #expect(Self.reasons(policy, h) == [["daily within 3d"], ["daily within 3d"], ["daily within 3d"]])
        // The window reaches the oldest snapshot: it is kept as "oldest" even in a counted day.
        let all = ForgetPolicy(withinBuckets: [.monthly: KeepDuration(years: 1)])
        #expect(Self.reasons(all, h) == [["monthly within 1y"], ["monthly within 1y"], ["oldest monthly within 1y"]])
    }

    @Test func keepTagListsAndTheEmptyTag() {
        let h = Self.history(["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z",
                              "2024-01-04T00:00:00Z", "2024-01-05T00:00:00Z"],
                             tags: [["a"], ["a", "b"], [], ["c"], ["b"]])
        #expect(Self.kept(ForgetPolicy(tags: [["a", "b"]]), h) == [1])
        #expect(Self.kept(ForgetPolicy(tags: [["a"], ["c"]]), h) == [3, 1, 0])
        #expect(Self.kept(ForgetPolicy(tags: [[""]]), h) == [2])
        // restic's quirk: "" matches an untagged snapshot only when met before a missing tag.
        #expect(Self.kept(ForgetPolicy(tags: [["", "a"]]), h) == [2])
        #expect(Self.kept(ForgetPolicy(tags: [["a", ""]]), h) == [])
        #expect(Self.reasons(ForgetPolicy(tags: [["b"], ["a", "b"]]), h)[1] == ["has tags [b]", "has tags [a, b]"])
        // Tagged snapshots are not counted against --keep-last.
        let both = ForgetPolicy(last: 1, tags: [["c"]]).apply(to: h, now: Self.now).filter(\.kept)
        #expect(both.map { Int($0.record.id.w0) } == [4, 3])
        #expect(both.map(\.counters.last) == [0, 0])
        #expect(ForgetPolicy.tagList(" a , b") == ["a", "b"])
        #expect(ForgetPolicy.tagList("") == [""])
    }

    @Test func snapshotsInTheFuture() {
        let now = GoTime(rfc3339: "2024-06-01T00:00:00Z") ?? .goZero
        let h = Self.history(["2024-05-10T00:00:00Z", "2024-05-20T00:00:00Z", "2024-07-01T00:00:00Z"])
        // The reference for --keep-within is the newest snapshot that is not in the future.
        #expect(Self.kept(ForgetPolicy(within: KeepDuration(days: 5)), h, now: now) == [2, 1])
        #expect(Self.kept(ForgetPolicy(within: KeepDuration(days: 15)), h, now: now) == [2, 1, 0])
        #expect(Self.kept(ForgetPolicy(last: 1), h, now: now) == [2])
        // When every snapshot is in the future, the reference is Go's zero time: all are within.
        let early = GoTime(rfc3339: "2024-01-01T00:00:00Z") ?? .goZero
        #expect(Self.kept(ForgetPolicy(within: KeepDuration(days: 1)), h, now: early) == [2, 1, 0])
    }

    @Test func rulesCombineAndReasonsFollowResticsOrder() {
        let h = Self.history(["2023-12-15T10:00:00Z", "2024-01-10T10:00:00Z", "2024-01-11T10:00:00Z",
                              "2024-01-11T12:00:00Z"], tags: [[], ["x"], [], []])
        let policy = ForgetPolicy(daily: 2, monthly: 2, within: KeepDuration(days: 1), tags: [["x"]])
        #expect(Self.reasons(policy, h) == [["within 1d", "daily snapshot", "monthly snapshot"],
                                            ["within 1d"],
                                            ["has tags [x]", "daily snapshot"],
                                            ["monthly snapshot"]])
        let counters = policy.apply(to: h, now: Self.now).filter(\.kept).map(\.counters)
        #expect(counters.map(\.daily) == [1, 1, 0, 0])
        #expect(counters.map(\.monthly) == [1, 1, 1, 0])
    }

    @Test func descriptionsMatchRestic() {
        var policy = ForgetPolicy(last: 2, hourly: 3, tags: [["a", "b"], ["c"]])
        policy.withinBuckets = [.daily: KeepDuration(years: 1, months: 2), .weekly: KeepDuration(days: 2)]
        #expect(policy.description == "keep 2 latest, 3 hourly snapshots, daily snapshots within 1y2m, weekly snapshots within 2d and all snapshots with tags [[a, b] [c]]")
        #expect(ForgetPolicy(daily: 2, within: KeepDuration(days: 1), tags: [["b"]]).description
                == "keep 2 daily snapshots and all snapshots with tags [[b]] and all snapshots within 1d of the newest")
        #expect(ForgetPolicy(tags: [[""]]).description == "keep all snapshots with tags [[]]")
        #expect(ForgetPolicy().isEmpty && ForgetPolicy().description == "remove")
        #expect(!ForgetPolicy(tags: [[""]]).isEmpty)
    }
}
