import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import ResticCore
import ResticBackends
import ResticRepository

/// A repository with a real history made by restic: 112 `restic backup --time` runs of a tiny
/// folder over 2023–2024 (plus one snapshot in 2099, i.e. in the future), two hosts, several tags,
/// two paths, and h2's times recorded in Europe/Berlin (offsets +01:00 and +02:00) so that bucket
/// values must come from each snapshot's own offset. Built once per test run.
struct ForgetHistory: Sendable {
    let dir: URL
    let repo: String
    let source: String

    static let password = "test-password"
    static let backups = 112

    /// The history, made on first use and shared by every forget test.
    static func shared() async throws -> ForgetHistory {
        try await Maker.shared.history()
    }

    actor Maker {
        static let shared = Maker()
        private var task: Task<ForgetHistory, Error>?

        func history() async throws -> ForgetHistory {
            if let task { return try await task.value }
            let task = Task<ForgetHistory, Error> { try await ForgetHistory.make() }
            self.task = task
            return try await task.value
        }
    }

    /// One planned backup: wall-clock time (in `zone`), host, tags and which folder.
    struct Backup: Sendable {
        var time: String
        var zone: String
        var host: String
        var tags: [String]
        var sub: Bool
    }

    /// Deterministic plan: a step every ~7.3 days, jittered by days and hours, with a second
    /// backup 40 minutes later every 9th step (often the same hour bucket), and every 5th step a
    /// pair at 23:xx and 00:xx the next day, which only the snapshot's own offset puts on two
    /// different days for h2. Fixed h1 backups around both New Years exercise ISO weeks. h1 uses
    /// even minutes and h2 odd ones, so no two snapshots share an instant (restic orders ties by
    /// listing order, which is arbitrary).
    static func plan() -> [Backup] {
        var state: UInt64 = 0x2545F4914F6CDD1D
        func next(_ bound: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(bound))
        }
        let start = TimeFormatting.days(2023, 1, 1)
        let tagCycle: [[String]] = [["daily"], ["daily", "db"], ["weekly"], [], ["manual"], ["daily"], ["weekly", "db"]]
        let newYears = ["2023-12-30 10:00:00", "2023-12-31 12:00:00", "2024-01-01 08:00:00", "2024-01-07 09:00:00",
                        "2024-12-29 10:00:00", "2024-12-30 10:00:00", "2024-12-31 10:00:00"]
        var plan: [Backup] = []
        var seen = Set<String>()
        func add(_ backup: Backup) {
            if plan.count < backups - 1 - newYears.count, seen.insert(backup.host + backup.time).inserted { plan.append(backup) }
        }
        var step = 0
        while plan.count < backups - 1 - newYears.count {
            let day = start + Int64(step * 730 / 100) + Int64(next(3))
            let host = step % 2 == 0 ? "h1" : "h2"
            let odd = host == "h2" ? 1 : 0
            let zone = host == "h2" ? "Europe/Berlin" : "UTC"
            let tags = tagCycle[step % tagCycle.count]
            let sub = step % 7 == 3
            let hour = 6 + next(14), minute = next(15) * 2 + odd
            add(Backup(time: TimeFormatting.text(days: day, minutes: hour * 60 + minute), zone: zone, host: host, tags: tags, sub: sub))
            if step % 9 == 4 {
                add(Backup(time: TimeFormatting.text(days: day, minutes: hour * 60 + minute + 40), zone: zone, host: host, tags: tags, sub: sub))
            }
            if step % 5 == 2 {
                add(Backup(time: TimeFormatting.text(days: day + 1, minutes: 23 * 60 + next(30) * 2 + odd), zone: zone, host: host, tags: tags, sub: sub))
                add(Backup(time: TimeFormatting.text(days: day + 2, minutes: next(30) * 2 + odd), zone: zone, host: host, tags: tags, sub: sub))
            }
            step += 1
        }
        for time in newYears { plan.append(Backup(time: time, zone: "UTC", host: "h1", tags: ["weekly"], sub: false)) }
        plan.append(Backup(time: "2099-06-01 12:00:00", zone: "UTC", host: "h1", tags: ["daily"], sub: false))
        return plan
    }

    static func make() async throws -> ForgetHistory {
        let dir = try TempDir.make("cartae-forget")
        // Shared by many tests, so it is removed when the test process exits.
        ForgetHistory.folderToRemove = dir.path
        atexit {
            if let path = ForgetHistory.folderToRemove { try? FileManager.default.removeItem(atPath: path) }
        }
        let repo = dir.appendingPathComponent("repo").path
        let source = dir.appendingPathComponent("src").path
        try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
        try Data("top\n".utf8).write(to: URL(fileURLWithPath: source + "/a.txt"))
        try Data("sub\n".utf8).write(to: URL(fileURLWithPath: source + "/sub/b.txt"))

        let initResult = try Harness.restic(["init"], repo: repo, password: password)
        guard initResult.status == 0 else { throw HarnessError("restic init failed: \(initResult.stderr)") }
        // restic's calibrated key costs ~0.5 s of scrypt per command; a cheap one keeps 112 backups fast.
        let backend = LocalBackend(path: repo)
        let opened = try await Repository.open(backend, password: password)
        _ = try await KeyRing.add(backend, master: opened.key, password: password,
                                  parameters: KeyRing.ScryptParameters(n: 1 << 10, r: 8, p: 1))
        try await backend.remove(ResticCore.FileHandle(.key, opened.keyID))

        let plan = plan()
        let failures = Failures()
        // restic backups take shared locks, so a few may run at once.
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            for (i, backup) in plan.enumerated() where i % 3 == worker {
                var arguments = ["backup", "-q", "--time", backup.time, "--host", backup.host]
                for tag in backup.tags { arguments += ["--tag", tag] }
                arguments.append(backup.sub ? source + "/sub" : source)
                do {
                    let result = try Harness.restic(arguments, repo: repo, password: password,
                                                    environment: ["TZ": backup.zone])
                    if result.status != 0 { failures.add("backup \(backup.time): \(result.stderr)") }
                } catch {
                    failures.add("backup \(backup.time): \(error)")
                }
            }
        }
        if let first = failures.first { throw HarnessError(first) }
        return ForgetHistory(dir: dir, repo: repo, source: source)
    }

    /// Written once, before the exit handler that reads it is registered.
    nonisolated(unsafe) static var folderToRemove: String?

    /// A private copy of the repository, for tests that change it (they remove it when done).
    func copy(_ name: String) throws -> String {
        let target = dir.appendingPathComponent(name).path
        let result = try Harness.run("cp", ["-a", repo, target])
        guard result.status == 0 else { throw HarnessError("cp failed: \(result.stderr)") }
        return target
    }

    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        func add(_ message: String) { lock.withLock { messages.append(message) } }
        var first: String? { lock.withLock { messages.first } }
    }
}

/// Calendar helpers for planning the history (UTC day numbers, restic's `--time` text).
enum TimeFormatting {
    static func days(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        return era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    /// "YYYY-MM-DD HH:MM:00" for a day number and minutes into that day (may spill into the next).
    static func text(days: Int64, minutes: Int) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(days * 86400 + Int64(minutes) * 60))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:00", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }
}
