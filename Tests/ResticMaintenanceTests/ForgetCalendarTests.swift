import Foundation
import Testing
import ResticCore
import ResticRepository
import ResticMaintenance

@Suite struct ForgetCalendarTests {
    static func time(_ text: String) -> GoTime { GoTime(rfc3339: text) ?? .goZero }

    @Test(arguments: [
        ("2020-12-31T12:00:00Z", 2020, 53),   // Thursday
        ("2021-01-03T12:00:00Z", 2020, 53),   // Sunday of the same week
        ("2021-01-04T00:00:00Z", 2021, 1),    // Monday
        ("2019-12-30T00:00:00Z", 2020, 1),    // Monday before New Year belongs to the next year
        ("2024-12-30T00:00:00Z", 2025, 1),
        ("2027-01-01T00:00:00Z", 2026, 53),   // Friday after a Thursday-started year
        ("2023-01-01T23:59:59Z", 2022, 52),   // Sunday
        ("2024-06-15T10:00:00Z", 2024, 24),
        ("1969-12-31T12:00:00Z", 1970, 1),    // before the epoch (Wednesday)
        ("2023-01-02T00:30:00+01:00", 2023, 1),  // Monday by its own clock, Sunday in UTC
    ])
    func isoWeeks(_ text: String, _ year: Int, _ week: Int) {
        let (y, w) = ForgetCalendar.isoWeek(Self.time(text))
        #expect(y == Int64(year) && w == week)
    }

    @Test func fieldsAreTheSnapshotsWallClock() {
        let f = ForgetCalendar.fields(Self.time("2024-03-01T00:30:00+02:00"))
        #expect(f.year == 2024 && f.month == 3 && f.day == 1 && f.hour == 0)
        let g = ForgetCalendar.fields(Self.time("2023-12-31T23:59:59-11:00"))
        #expect(g.year == 2023 && g.month == 12 && g.day == 31 && g.hour == 23)
        #expect(ForgetPolicy.bucketValue(.hourly, Self.time("2023-12-31T23:59:59-11:00"), position: 0) == 2023_12_31_23)
        #expect(ForgetPolicy.bucketValue(.weekly, Self.time("2021-01-03T12:00:00Z"), position: 0) == 2020_53)
        #expect(ForgetPolicy.bucketValue(.last, Self.time("2021-01-03T12:00:00Z"), position: 7) == 7)
    }

    @Test(arguments: [
        ("2024-03-31T10:00:00Z", KeepDuration(months: 1), "2024-03-02T10:00:00Z"),
        ("2024-02-29T00:00:00Z", KeepDuration(years: 1), "2023-03-01T00:00:00Z"),
        ("2024-01-15T10:00:00Z", KeepDuration(months: 13), "2022-12-15T10:00:00Z"),
        ("2024-03-01T05:00:00+05:30", KeepDuration(days: 1, hours: 6), "2024-02-28T23:00:00+05:30"),
        ("2024-01-01T00:00:00Z", KeepDuration(years: 1, months: 2, days: 3, hours: 4), "2022-10-28T20:00:00Z"),
    ])
    func subtractIsGoAddDate(_ from: String, _ duration: KeepDuration, _ expected: String) throws {
        let result = try #require(ForgetCalendar.subtract(duration, from: Self.time(from), localZone: nil))
        #expect(result == Self.time(expected), "\(result.rfc3339)")
    }

    @Test func subtractOfAHugeDurationIsBeforeEverything() {
        #expect(ForgetCalendar.subtract(KeepDuration(years: Int.max), from: Self.time("2024-01-01T00:00:00Z"), localZone: nil) == nil)
        // A policy with it keeps everything instead of trapping.
        let records = [SnapshotRecord(id: .zero, snapshot: Snapshot(time: Self.time("2024-01-01T00:00:00Z"), tree: .zero, paths: []))]
        let decisions = ForgetPolicy(within: KeepDuration(days: 1 << 62)).apply(to: records, now: GoTime.now())
        #expect(decisions.count == 1 && decisions.allSatisfy { $0.kept })
    }

    @Test func durationsParseLikeRestic() throws {
        #expect(try KeepDuration(parsing: "1d2d") == KeepDuration(days: 2), "a repeated unit replaces the earlier one")
        #expect(try KeepDuration(parsing: "1y2m3d4h").description == "1y2m3d4h")
        #expect(throws: ResticError.self) { try KeepDuration(parsing: "2w") }
        #expect(throws: ResticError.self) { try ForgetPolicy(within: KeepDuration(days: -1)).validate() }
    }

    // MARK: plans over groups

    static func record(_ n: UInt64, _ time: String, host: String, paths: [String] = ["/d"], tags: [String] = []) -> SnapshotRecord {
        SnapshotRecord(id: ObjectID(w0: n, w1: 0, w2: 0, w3: 0),
                       snapshot: Snapshot(time: Self.time(time), tree: .zero, paths: paths, hostname: host, tags: tags))
    }

    static let records = [
        record(5, "2024-01-01T00:00:00Z", host: "a"), record(3, "2024-01-02T00:00:00Z", host: "b"),
        record(9, "2024-01-03T00:00:00Z", host: "a"), record(1, "2024-01-04T00:00:00Z", host: "b", tags: ["keep"]),
        record(7, "2024-01-05T00:00:00Z", host: "a", paths: ["/e"]),
    ]

    @Test func planAppliesThePolicyPerGroup() throws {
        let grouping = try SnapshotGrouping("host,paths")
        let plan = try ForgetPlan(policy: ForgetPolicy(last: 1), records: Self.records, grouping: grouping, now: GoTime.now())
        #expect(plan.groups.count == 3)
        #expect(plan.groups.map { $0.keep.map(\.record.id.w0) } == [[9], [1], [7]])
        #expect(plan.removals.map(\.w0) == [3, 5], "sorted by ID")
        let flat = try ForgetPlan(policy: ForgetPolicy(last: 1), records: Self.records, grouping: try SnapshotGrouping(""), now: GoTime.now())
        #expect(flat.groups.count == 1)
        #expect(flat.removals.map(\.w0) == [1, 3, 5, 9])
    }

    @Test func planRefusesToEmptyAGroupAndAnEmptyPolicy() throws {
        let grouping = try SnapshotGrouping("host")
        let error = #expect(throws: ResticError.self) {
            try ForgetPlan(policy: ForgetPolicy(tags: [["keep"]]), records: Self.records, grouping: grouping, now: GoTime.now())
        }
        #expect(error?.message == "refusing to delete last snapshot of snapshot group \"host a\"")
        #expect(throws: ResticError.self) {
            try ForgetPlan(policy: ForgetPolicy(), records: Self.records, grouping: grouping, now: GoTime.now())
        }
        let key = grouping.key(Self.records[0].snapshot)
        #expect(ForgetPlan.describe(key) == "host a")
        let full = try SnapshotGrouping("host,paths,tags")
        #expect(ForgetPlan.describe(full.key(Self.records[3].snapshot)) == "host b, path [/d], tags [keep]")
    }

    @Test func explicitPlanRemovesEachSnapshotOnce() {
        let plan = ForgetPlan(explicit: [Self.records[2], Self.records[0], Self.records[2]])
        #expect(plan.groups.isEmpty)
        #expect(plan.removals.map(\.w0) == [5, 9])
    }
}
