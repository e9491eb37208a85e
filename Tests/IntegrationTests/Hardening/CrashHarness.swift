import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The files a snapshot must hold (relative path → bytes), kept in memory so every restore is
/// compared with the source byte for byte.
struct SourceState: Equatable {
    var files: [String: [UInt8]] = [:]

    /// `count` random files `folder/name-i.bin` of `size` bytes, decided by `seed`.
    static func random(_ folder: String, count: Int, size: Int, seed: UInt64) -> SourceState {
        var state = SourceState()
        for i in 0..<count {
            state.files["\(folder)/file-\(seed)-\(i).bin"] = TreeGenerator.randomBytes(size, seed: seed &* 1000 &+ UInt64(i))
        }
        return state
    }

    func merging(_ other: SourceState) -> SourceState {
        SourceState(files: files.merging(other.files) { $1 })
    }

    func removing(_ names: some Sequence<String>) -> SourceState {
        var copy = self
        for name in names { copy.files[name] = nil }
        return copy
    }

    var bytes: Int { files.values.reduce(0) { $0 + $1.count } }

    /// Makes `root` hold exactly these files.
    func write(to root: String) throws {
        try? FileManager.default.removeItem(atPath: root)
        try TreeGenerator.makeDirectory(root)
        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            let path = root + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try TreeGenerator.write(path, content)
        }
    }

    /// The regular files below `root`.
    static func read(_ root: String) throws -> SourceState {
        var state = SourceState()
        guard let walker = FileManager.default.enumerator(atPath: root) else { return state }
        while let name = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            state.files[name] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/" + name)))
        }
        return state
    }

    /// restic restores the snapshot (without a lock: a killed run may have left one), and the
    /// files below `source` equal `expected`.
    static func expectRestore(_ repo: String, _ id: String, source: String, equals expected: SourceState,
                              at: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let target = try TempDir.make("cartae-crash-restore")
        defer { try? FileManager.default.removeItem(at: target) }
        let restore = try Harness.restic(["--no-lock", "restore", id, "--target", target.path], repo: repo)
        #expect(restore.status == 0, "\(at): restic restore \(id.prefix(8)) failed: \(restore.stderr)", sourceLocation: sourceLocation)
        let restored = try read(target.path + source)
        #expect(restored == expected, "\(at): snapshot \(id.prefix(8)) restored wrong: \(expected.difference(to: restored))",
                sourceLocation: sourceLocation)
    }

    /// A short account of how `other` differs, for failure messages.
    func difference(to other: SourceState) -> String {
        let missing = Set(files.keys).subtracting(other.files.keys).sorted()
        let extra = Set(other.files.keys).subtracting(files.keys).sorted()
        let changed = files.keys.filter { other.files[$0] != nil && other.files[$0] != files[$0] }.sorted()
        return "missing \(missing.prefix(3)), unexpected \(extra.prefix(3)), different \(changed.prefix(3))"
    }
}

/// Environment of the engine's testing hooks (see Sources/ResticBackends/CrashPointBackend.swift).
enum CrashHook {
    /// Small packs: a few MiB of test data make dozens of packs, so dozens of kill points.
    static func environment(packSize: Int, after operation: Int? = nil, signal: String? = nil,
                            log: String? = nil) -> [String: String] {
        var env = ["CARTAE_TEST_PACK_SIZE": "\(packSize)", "RESTIC_REPOSITORY": "", "RESTIC_PASSWORD": WriteRepo.password]
        if let operation { env["CARTAE_CRASH_AFTER_WRITES"] = "\(operation)" } else if log != nil { env["CARTAE_CRASH_AFTER_WRITES"] = "count" }
        if let signal { env["CARTAE_CRASH_SIGNAL"] = signal }
        if let log { env["CARTAE_CRASH_LOG"] = log }
        return env
    }

    /// `count` points spread evenly over 1...total (all of them when there are fewer).
    static func points(total: Int, count: Int) -> [Int] {
        guard total > count, count > 1 else { return Array(1...max(1, total)) }
        return (0..<count).map { 1 + $0 * (total - 1) / (count - 1) }
    }
}

/// A command killed at many points of its run, each time on a fresh copy of one repository.
/// After each kill: restic check --read-data and our check accept the repository, every
/// snapshot there is complete, the same command runs again to the end, and the repository it
/// leaves passes restic check --read-data with nothing left unindexed (when `cleansUp`).
struct CrashScenario {
    var name: String
    let dir: URL
    /// The repository every point starts from (never modified).
    let template: String
    /// The absolute source path the snapshots name.
    let source: String
    /// Our command line, without the repository.
    let arguments: [String]
    /// Takes an exclusive lock: the killed run's lock must go (`unlock`) before the rerun.
    let exclusive: Bool
    let packSize: Int
    /// The snapshots before the command, with their content.
    var snapshots: [String: SourceState]
    /// Snapshots the command removes, oldest first: gone or (if still there) complete.
    var mayVanish: [String] = []
    /// What a snapshot the command writes must hold (backup); nil: the command writes none.
    var newSnapshot: SourceState?
    /// The rerun must leave no unindexed pack behind.
    var cleansUp = true
    /// How our commands reach a copy at a local path (the default: that path); checks and
    /// restores read the local path with restic.
    var location: @Sendable (String) -> [String: String] = { ["RESTIC_REPOSITORY": $0] }

    /// The command's mutating operations, from one normal run on a copy: one line each.
    struct Reference {
        var operations: [String]
        var duration: Duration
        var packBytes: Int
        var output: String
    }

    func reference() throws -> Reference {
        let work = try copy("reference")
        defer {
            try? FileManager.default.removeItem(atPath: work)
            try? FileManager.default.removeItem(atPath: work + "-cache")
        }
        let log = dir.appendingPathComponent("reference.log").path
        let started = ContinuousClock.now
        let result = try run(work, CrashHook.environment(packSize: packSize, log: log))
        let duration = ContinuousClock.now - started
        guard result.status == 0 else { throw HarnessError("\(name): the reference run failed: \(result.stderr)") }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return Reference(operations: text.split(separator: "\n").map(String.init), duration: duration,
                         packBytes: WriteRepo.packBytes(work), output: result.out + result.stderr)
    }

    enum KillPoint: CustomStringConvertible {
        case operation(Int, String)
        case delay(Duration)

        var description: String {
            switch self {
            case .operation(let n, let what): return "kill -9 after operation \(n) (\(what))"
            case .delay(let d): return "kill -9 after \(d)"
            }
        }
    }

    /// Kills the command at `point` on a fresh copy, then checks everything; returns the
    /// repository's pack bytes after the rerun. `done`: the writes the run completed (for a
    /// kill after a known write), which decide how many snapshots it stored or removed.
    @discardableResult
    func survive(_ point: KillPoint, done: [String]? = nil) throws -> Int {
        let work = try copy("point")
        defer {
            try? FileManager.default.removeItem(atPath: work)
            try? FileManager.default.removeItem(atPath: work + "-cache")
        }
        let at = "\(name), \(point)"
        switch point {
        case .operation(let n, _):
            let killed = try Spawned(Harness.binary, arguments, environment: env(work, CrashHook.environment(packSize: packSize, after: n)))
            _ = killed.wait()
            try #require(killed.process.terminationReason == .uncaughtSignal && killed.process.terminationStatus == SIGKILL,
                         "\(at): the run was not killed there (exit \(killed.process.terminationStatus)): \(killed.stderr)")
        case .delay(let delay):
            let killed = try Spawned(Harness.binary, arguments, environment: env(work, CrashHook.environment(packSize: packSize)))
            let deadline = ContinuousClock.now + delay
            // Blocking on purpose (see waitUntil): the kill must come at its time.
            _ = try waitUntil(timeout: delay) { ContinuousClock.now >= deadline || !killed.isRunning }
            killed.killHard()
            let finished = killed.process.terminationReason == .exit
            #expect(!finished || killed.process.terminationStatus == 0, "\(at): \(killed.stderr)")
        }

        let check = try Harness.restic(["--no-lock", "check", "--read-data"], repo: work)
        #expect(check.status == 0, "\(at): restic check failed:\n\(check.out)\n\(check.stderr)")
        let ours = try run(work, CrashHook.environment(packSize: packSize), ["--no-lock", "check"])
        #expect(ours.status == 0, "\(at): our check failed:\n\(ours.out)\n\(ours.stderr)")
        let present = Set(WriteRepo.files(work, "snapshots"))
        for (id, _) in snapshots where !mayVanish.contains(id) {
            #expect(present.contains(id), "\(at): snapshot \(id.prefix(8)) is gone")
        }
        if let done {
            let stored = present.subtracting(snapshots.keys).count
            let removed = Set(snapshots.keys).subtracting(present).count
            let saves = done.filter { $0.hasPrefix("save snapshots/") }.count
            let removals = done.filter { $0.hasPrefix("remove snapshots/") }.count
            #expect(stored == saves, "\(at): \(stored) new snapshots after \(saves) snapshot writes")
            // Removals run two at a time: one more may have happened than was counted.
            #expect((removals...removals + 1).contains(removed), "\(at): \(removed) snapshots gone after \(removals) removals")
        }
        // restic check --read-data above proved every snapshot there complete (trees, index,
        // pack contents); restores also compare bytes: each snapshot that must stay, each new
        // one, and the oldest of those the command may remove.
        let doomed = mayVanish.first { present.contains($0) }
        for id in present where !mayVanish.contains(id) || id == doomed { try expectComplete(work, id, at: at) }

        if exclusive {
            let unlock = try run(work, CrashHook.environment(packSize: packSize), ["unlock"])
            #expect(unlock.status == 0, "\(at): unlock failed: \(unlock.stderr)")
        }
        // A killed backup's shared lock must not stop the next one, which removes only its own.
        let staleLocks = WriteRepo.files(work, "locks")
        let rerun = try run(work, CrashHook.environment(packSize: packSize))
        #expect(rerun.status == 0, "\(at): the next run failed (\(rerun.status)):\n\(rerun.stderr)")
        #expect(WriteRepo.files(work, "locks") == staleLocks, "\(at): the rerun left its lock: \(WriteRepo.files(work, "locks"))")
        let final = try Harness.restic(["--no-lock", "check", "--read-data"], repo: work)
        #expect(final.status == 0, "\(at): restic check after the rerun failed:\n\(final.out)\n\(final.stderr)")
        if cleansUp {
            #expect(!final.out.contains("not referenced in any index"), "\(at): packs left unindexed after the rerun:\n\(final.out)")
        }
        for id in WriteRepo.files(work, "snapshots") where !present.contains(id) {
            try expectComplete(work, id, at: at + ", after the rerun")
        }
        return WriteRepo.packBytes(work)
    }

    func expectComplete(_ repo: String, _ id: String, at: String) throws {
        guard let expected = snapshots[id] ?? newSnapshot else {
            Issue.record("\(at): unexpected snapshot \(id.prefix(8))")
            return
        }
        try SourceState.expectRestore(repo, id, source: source, equals: expected, at: at)
    }

    /// A remote repository's cache lives next to its copy: a killed run leaves it to the next.
    func env(_ repo: String, _ hook: [String: String]) -> [String: String] {
        hook.merging(location(repo)) { $1 }.merging(["XDG_CACHE_HOME": repo + "-cache"]) { $1 }
    }

    func run(_ repo: String, _ hook: [String: String], _ command: [String]? = nil) throws -> Harness.Result {
        try Harness.run(Harness.binary, command ?? arguments, environment: env(repo, hook))
    }

    func copy(_ label: String) throws -> String {
        let path = dir.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.copyItem(atPath: template, toPath: path)
        return path
    }

    /// The whole exercise: the reference run, `count` points spread over its operations, and
    /// kills after the given fractions of its duration. Returns the reference and the number of
    /// points survived.
    @discardableResult
    func surviveAll(count: Int = 20, delays: [Double] = [0.3, 0.6, 0.9],
                    check: (Reference) throws -> Void = { _ in },
                    afterPoint: (KillPoint, Int, Reference) throws -> Void = { _, _, _ in }) throws -> (Reference, Int) {
        let reference = try reference()
        try check(reference)
        let total = reference.operations.count
        #expect(total >= count, "\(name): only \(total) operations, fewer than \(count) points: \(reference.operations)")
        var points = CrashHook.points(total: total, count: count).map { KillPoint.operation($0, reference.operations[$0 - 1]) }
        points += delays.map { KillPoint.delay(reference.duration * $0) }
        var survived = 0
        for point in points {
            var done: [String]?
            if case .operation(let n, _) = point { done = Array(reference.operations.prefix(n)) }
            let packBytes = try survive(point, done: done)
            try afterPoint(point, packBytes, reference)
            survived += 1
        }
        return (reference, survived)
    }
}
