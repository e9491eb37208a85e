import Testing
import ResticCore
import ResticRepository
import ResticMaintenance

/// Golden cases: a hand-shaped history (New Years 2022/23 and 2023/24 for ISO weeks, several
/// snapshots per hour and day, offsets from -05:00 to +13:00, a Berlin DST change, tags, one
/// snapshot in the future) and 30 policies. The expected kept snapshots, reasons and counters
/// were produced by restic's own `ApplyPolicy` (restic master, internal/data/snapshot_policy.go,
/// built with Go 1.19) on this very history, with `now` = 2024-06-03T00:00:00Z.
@Suite struct ForgetGoldenTests {
    struct Golden: Sendable, CustomTestStringConvertible {
        var policy: ForgetPolicy
        /// Indices into `history`, newest first (the policy's order).
        var keep: [Int]
        var matches: [[String]]
        /// last, hourly, daily, weekly, monthly, yearly after each kept snapshot.
        var counters: [[Int]]

        var testDescription: String { policy.description }
    }

    static let now = GoTime(rfc3339: "2024-06-03T00:00:00Z") ?? .goZero

    static let history: [(String, [String])] = [
        ("2022-12-26T09:00:00Z", []),
        ("2022-12-31T23:30:00+01:00", ["weekly"]),
        ("2023-01-01T00:30:00+01:00", ["weekly"]),
        ("2023-01-02T08:00:00Z", ["daily"]),
        ("2023-01-02T08:45:00Z", ["daily", "db"]),
        ("2023-01-02T09:15:00Z", []),
        ("2023-01-08T18:00:00-05:00", ["manual"]),
        ("2023-02-14T12:00:00Z", ["daily"]),
        ("2023-03-25T12:00:00+01:00", ["daily"]),
        ("2023-03-26T12:00:00+02:00", ["daily", "db"]),
        ("2023-06-30T23:59:59Z", []),
        ("2023-07-01T00:00:00Z", ["weekly"]),
        ("2023-09-10T10:00:00.5Z", ["daily"]),
        ("2023-09-10T10:00:00Z", ["daily"]),
        ("2023-12-31T12:00:00Z", ["weekly"]),
        ("2024-01-01T08:00:00Z", ["weekly", "db"]),
        ("2024-01-07T20:00:00Z", []),
        ("2024-02-29T10:00:00Z", ["daily"]),
        ("2024-03-30T10:00:00+01:00", ["daily"]),
        ("2024-03-31T10:00:00+02:00", ["daily"]),
        ("2024-04-30T10:00:00+02:00", ["manual"]),
        ("2024-05-01T09:00:00+02:00", ["daily"]),
        ("2024-05-01T09:30:00+02:00", ["daily"]),
        ("2024-05-01T10:10:00+02:00", ["daily", "db"]),
        ("2024-05-02T01:00:00+02:00", []),
        ("2024-05-20T12:00:00+13:00", ["daily"]),
        ("2024-05-31T12:00:00Z", ["daily"]),
        ("2024-06-01T11:00:00Z", ["daily"]),
        ("2024-06-01T11:59:00Z", ["daily"]),
        ("2024-06-02T06:00:00Z", ["daily", "db"]),
        ("2025-01-01T00:00:00Z", ["daily"]),
    ]

    static var records: [SnapshotRecord] {
        history.enumerated().map { i, entry in
            let time = GoTime(rfc3339: entry.0) ?? .goZero
            return SnapshotRecord(id: ObjectID(w0: UInt64(i), w1: 0, w2: 0, w3: 0),
                                  snapshot: Snapshot(time: time, tree: .zero, paths: ["/data"], hostname: "h", tags: entry.1))
        }
    }

    static let cases: [Golden] = [
        Golden(policy: ForgetPolicy(last: 3),
               keep: [30, 29, 28],
               matches: [["last snapshot"], ["last snapshot"], ["last snapshot"]],
               counters: [[2, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(last: 50),
               keep: [30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 12, 13, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
               matches: [["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"]],
               counters: [[49, 0, 0, 0, 0, 0], [48, 0, 0, 0, 0, 0], [47, 0, 0, 0, 0, 0], [46, 0, 0, 0, 0, 0], [45, 0, 0, 0, 0, 0], [44, 0, 0, 0, 0, 0], [43, 0, 0, 0, 0, 0], [42, 0, 0, 0, 0, 0], [41, 0, 0, 0, 0, 0], [40, 0, 0, 0, 0, 0], [39, 0, 0, 0, 0, 0], [38, 0, 0, 0, 0, 0], [37, 0, 0, 0, 0, 0], [36, 0, 0, 0, 0, 0], [35, 0, 0, 0, 0, 0], [34, 0, 0, 0, 0, 0], [33, 0, 0, 0, 0, 0], [32, 0, 0, 0, 0, 0], [31, 0, 0, 0, 0, 0], [30, 0, 0, 0, 0, 0], [29, 0, 0, 0, 0, 0], [28, 0, 0, 0, 0, 0], [27, 0, 0, 0, 0, 0], [26, 0, 0, 0, 0, 0], [25, 0, 0, 0, 0, 0], [24, 0, 0, 0, 0, 0], [23, 0, 0, 0, 0, 0], [22, 0, 0, 0, 0, 0], [21, 0, 0, 0, 0, 0], [20, 0, 0, 0, 0, 0], [19, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(hourly: 4),
               keep: [30, 29, 28, 26],
               matches: [["hourly snapshot"], ["hourly snapshot"], ["hourly snapshot"], ["hourly snapshot"]],
               counters: [[0, 3, 0, 0, 0, 0], [0, 2, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(daily: 5),
               keep: [30, 29, 28, 26, 25],
               matches: [["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"]],
               counters: [[0, 0, 4, 0, 0, 0], [0, 0, 3, 0, 0, 0], [0, 0, 2, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(daily: 40),
               keep: [30, 29, 28, 26, 25, 24, 23, 20, 19, 18, 17, 16, 15, 14, 12, 11, 10, 9, 8, 7, 6, 5, 2, 1, 0],
               matches: [["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"]],
               counters: [[0, 0, 39, 0, 0, 0], [0, 0, 38, 0, 0, 0], [0, 0, 37, 0, 0, 0], [0, 0, 36, 0, 0, 0], [0, 0, 35, 0, 0, 0], [0, 0, 34, 0, 0, 0], [0, 0, 33, 0, 0, 0], [0, 0, 32, 0, 0, 0], [0, 0, 31, 0, 0, 0], [0, 0, 30, 0, 0, 0], [0, 0, 29, 0, 0, 0], [0, 0, 28, 0, 0, 0], [0, 0, 27, 0, 0, 0], [0, 0, 26, 0, 0, 0], [0, 0, 25, 0, 0, 0], [0, 0, 24, 0, 0, 0], [0, 0, 23, 0, 0, 0], [0, 0, 22, 0, 0, 0], [0, 0, 21, 0, 0, 0], [0, 0, 20, 0, 0, 0], [0, 0, 19, 0, 0, 0], [0, 0, 18, 0, 0, 0], [0, 0, 17, 0, 0, 0], [0, 0, 16, 0, 0, 0], [0, 0, 15, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(weekly: 3),
               keep: [30, 29, 25],
               matches: [["weekly snapshot"], ["weekly snapshot"], ["weekly snapshot"]],
               counters: [[0, 0, 0, 2, 0, 0], [0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(weekly: 8),
               keep: [30, 29, 25, 24, 19, 17, 16, 14],
               matches: [["weekly snapshot"], ["weekly snapshot"], ["weekly snapshot"], ["weekly snapshot"], ["weekly snapshot"], ["weekly snapshot"], ["weekly snapshot"], ["weekly snapshot"]],
               counters: [[0, 0, 0, 7, 0, 0], [0, 0, 0, 6, 0, 0], [0, 0, 0, 5, 0, 0], [0, 0, 0, 4, 0, 0], [0, 0, 0, 3, 0, 0], [0, 0, 0, 2, 0, 0], [0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(monthly: 4),
               keep: [30, 29, 26, 20],
               matches: [["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"]],
               counters: [[0, 0, 0, 0, 3, 0], [0, 0, 0, 0, 2, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(monthly: 30),
               keep: [30, 29, 26, 20, 19, 17, 16, 14, 12, 11, 10, 9, 7, 6, 1, 0],
               matches: [["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["oldest monthly snapshot"]],
               counters: [[0, 0, 0, 0, 29, 0], [0, 0, 0, 0, 28, 0], [0, 0, 0, 0, 27, 0], [0, 0, 0, 0, 26, 0], [0, 0, 0, 0, 25, 0], [0, 0, 0, 0, 24, 0], [0, 0, 0, 0, 23, 0], [0, 0, 0, 0, 22, 0], [0, 0, 0, 0, 21, 0], [0, 0, 0, 0, 20, 0], [0, 0, 0, 0, 19, 0], [0, 0, 0, 0, 18, 0], [0, 0, 0, 0, 17, 0], [0, 0, 0, 0, 16, 0], [0, 0, 0, 0, 15, 0], [0, 0, 0, 0, 14, 0]]),
        Golden(policy: ForgetPolicy(yearly: 2),
               keep: [30, 29],
               matches: [["yearly snapshot"], ["yearly snapshot"]],
               counters: [[0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(yearly: 5),
               keep: [30, 29, 14, 1, 0],
               matches: [["yearly snapshot"], ["yearly snapshot"], ["yearly snapshot"], ["yearly snapshot"], ["oldest yearly snapshot"]],
               counters: [[0, 0, 0, 0, 0, 4], [0, 0, 0, 0, 0, 3], [0, 0, 0, 0, 0, 2], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(daily: 3, weekly: 2, monthly: 2, yearly: 3),
               keep: [30, 29, 28, 14],
               matches: [["daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"], ["daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"], ["daily snapshot"], ["yearly snapshot"]],
               counters: [[0, 0, 2, 1, 1, 2], [0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(last: -1),
               keep: [30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 12, 13, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
               matches: [["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"], ["last snapshot"]],
               counters: [[-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(daily: -1),
               keep: [30, 29, 28, 26, 25, 24, 23, 20, 19, 18, 17, 16, 15, 14, 12, 11, 10, 9, 8, 7, 6, 5, 2, 1, 0],
               matches: [["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"], ["daily snapshot"]],
               counters: [[0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0], [0, 0, -1, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(weekly: 2, monthly: -1),
               keep: [30, 29, 26, 20, 19, 17, 16, 14, 12, 11, 10, 9, 7, 6, 1, 0],
               matches: [["weekly snapshot", "monthly snapshot"], ["weekly snapshot", "monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["monthly snapshot"], ["oldest monthly snapshot"]],
               counters: [[0, 0, 0, 1, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0], [0, 0, 0, 0, -1, 0]]),
        Golden(policy: ForgetPolicy(within: "3d"),
               keep: [30, 29, 28, 27, 26],
               matches: [["within 3d"], ["within 3d"], ["within 3d"], ["within 3d"], ["within 3d"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(within: "1m"),
               keep: [30, 29, 28, 27, 26, 25],
               matches: [["within 1m"], ["within 1m"], ["within 1m"], ["within 1m"], ["within 1m"], ["within 1m"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(within: "1y2m3d4h"),
               keep: [30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 12, 13, 11, 10],
               matches: [["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"], ["within 1y2m3d4h"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(within: "2d12h"),
               keep: [30, 29, 28, 27, 26],
               matches: [["within 2d12h"], ["within 2d12h"], ["within 2d12h"], ["within 2d12h"], ["within 2d12h"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(withinBuckets: [.hourly: "2d"]),
               keep: [30, 29, 28, 26],
               matches: [["hourly within 2d"], ["hourly within 2d"], ["hourly within 2d"], ["hourly within 2d"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(withinBuckets: [.daily: "1m"]),
               keep: [30, 29, 28, 26, 25],
               matches: [["daily within 1m"], ["daily within 1m"], ["daily within 1m"], ["daily within 1m"], ["daily within 1m"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(withinBuckets: [.weekly: "6m"]),
               keep: [30, 29, 25, 24, 19, 17, 16, 14],
               matches: [["weekly within 6m"], ["weekly within 6m"], ["weekly within 6m"], ["weekly within 6m"], ["weekly within 6m"], ["weekly within 6m"], ["weekly within 6m"], ["weekly within 6m"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(withinBuckets: [.monthly: "1y"]),
               keep: [30, 29, 26, 20, 19, 17, 16, 14, 12, 11, 10],
               matches: [["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"], ["monthly within 1y"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(withinBuckets: [.yearly: "10y"]),
               keep: [30, 29, 14, 1, 0],
               matches: [["yearly within 10y"], ["yearly within 10y"], ["yearly within 10y"], ["yearly within 10y"], ["oldest yearly within 10y"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(tags: [["daily", "db"]]),
               keep: [29, 23, 9, 4],
               matches: [["has tags [daily, db]"], ["has tags [daily, db]"], ["has tags [daily, db]"], ["has tags [daily, db]"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(tags: [["manual"], ["weekly"]]),
               keep: [20, 15, 14, 11, 6, 2, 1],
               matches: [["has tags [manual]"], ["has tags [weekly]"], ["has tags [weekly]"], ["has tags [weekly]"], ["has tags [manual]"], ["has tags [weekly]"], ["has tags [weekly]"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(tags: [[""]]),
               keep: [24, 16, 10, 5, 0],
               matches: [["has tags []"], ["has tags []"], ["has tags []"], ["has tags []"], ["has tags []"]],
               counters: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(tags: [["db", ""]]),
               keep: [],
               matches: [],
               counters: []),
        Golden(policy: ForgetPolicy(last: 2, within: "1d", tags: [["manual"]]),
               keep: [30, 29, 28, 27, 20, 6],
               matches: [["within 1d", "last snapshot"], ["within 1d", "last snapshot"], ["within 1d"], ["within 1d"], ["has tags [manual]"], ["has tags [manual]"]],
               counters: [[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        Golden(policy: ForgetPolicy(monthly: 3, within: "2d", withinBuckets: [.daily: "1m"]),
               keep: [30, 29, 28, 27, 26, 25],
               matches: [["within 2d", "monthly snapshot", "daily within 1m"], ["within 2d", "monthly snapshot", "daily within 1m"], ["within 2d", "daily within 1m"], ["within 2d"], ["within 2d", "monthly snapshot", "daily within 1m"], ["daily within 1m"]],
               counters: [[0, 0, 0, 0, 2, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
    ]

    @Test func historyParses() {
        #expect(Self.records.allSatisfy { !$0.snapshot.time.isGoZero })
        #expect(Self.records.count == 31)
    }

    @Test(arguments: cases)
    func matchesRestic(_ golden: Golden) throws {
        try golden.policy.validate()
        let kept = golden.policy.apply(to: Self.records, now: Self.now).filter(\.kept)
        #expect(kept.map { Int($0.record.id.w0) } == golden.keep)
        #expect(kept.map { $0.reasons.map(\.description) } == golden.matches)
        #expect(kept.map { c in [c.counters.last, c.counters.hourly, c.counters.daily, c.counters.weekly,
                                  c.counters.monthly, c.counters.yearly] } == golden.counters)
    }
}

/// Lets the golden table write durations as "1y2m"; a malformed one fails `validate()`.
extension KeepDuration: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self = (try? KeepDuration(parsing: value)) ?? KeepDuration(years: -1)
    }
}
