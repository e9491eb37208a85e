import ResticCore
import Synchronization
@testable import ResticBackends

/// An in-memory backend for decorator tests, with hooks that fail chosen calls and a gauge of
/// how many calls run at once.
final class MemoryBackend: Backend, Sendable {
    let location = "memory:"
    let connections = 4
    private let files = Mutex<[FileHandle: [UInt8]]>([:])
    private let calls = Mutex<[String]>([])
    private let inFlight = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)
    /// Decides, per call ("save data/ab…", "load …"), whether it fails and how.
    let fault: @Sendable (String, Int) -> ResticError?
    /// Pause inside each call, to make concurrency visible.
    let pause: Duration
    /// When set, a failing save first stores this many bytes (a torn upload).
    let tornSaveBytes: Int?
    /// When set, every call waits here until the test opens it.
    let gate: Gate?

    init(pause: Duration = .zero, tornSaveBytes: Int? = nil, gate: Gate? = nil,
         fault: @escaping @Sendable (String, Int) -> ResticError? = { _, _ in nil }) {
        self.pause = pause
        self.tornSaveBytes = tornSaveBytes
        self.gate = gate
        self.fault = fault
    }

    var running: Int { inFlight.load(ordering: .relaxed) }

    var callLog: [String] { calls.withLock { $0 } }
    var peakConcurrency: Int { peak.load(ordering: .relaxed) }
    func contents(_ handle: FileHandle) -> [UInt8]? { files.withLock { $0[handle] } }

    private func enter(_ call: String) async throws {
        let count = calls.withLock { log -> Int in
            log.append(call)
            return log.filter { $0 == call }.count
        }
        let now = inFlight.add(1, ordering: .relaxed).newValue
        peak.max(now, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        if let gate { await gate.pass() }
        if pause > .zero { try await Task.sleep(for: pause) }
        if let error = fault(call, count) { throw error }
    }

    func save(_ handle: FileHandle, data: [UInt8]) async throws {
        do {
            try await enter("save \(handle)")
        } catch {
            if let torn = tornSaveBytes { files.withLock { $0[handle] = Array(data.prefix(torn)) } }
            throw error
        }
        files.withLock { $0[handle] = data }
    }

    func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        try await enter("load \(handle)")
        guard let data = contents(handle) else { throw ResticError.notFound("\(handle)") }
        let end = length.map { offset + $0 } ?? data.count
        guard offset <= end, end <= data.count else { throw ResticError.corrupt("\(handle): short read") }
        return Array(data[offset..<end])
    }

    func stat(_ handle: FileHandle) async throws -> Int {
        try await enter("stat \(handle)")
        guard let data = contents(handle) else { throw ResticError.notFound("\(handle)") }
        return data.count
    }

    /// Logged as "willLoad <path> <range>" (hints cannot fail, so no fault applies).
    func willLoad(_ handle: FileHandle, range: Range<Int>?) {
        calls.withLock { $0.append("willLoad \(handle) \(range.map { "\($0)" } ?? "whole")") }
    }

    func list(_ type: FileType) async throws -> [FileInfo] {
        try await enter("list \(type.folderName)")
        return files.withLock { $0.filter { $0.key.type == type }.map { FileInfo(name: $0.key.name, size: $0.value.count) } }
    }

    func listNames(_ type: FileType) async throws -> [String] {
        try await enter("listNames \(type.folderName)")
        return files.withLock { $0.keys.filter { $0.type == type }.map(\.name) }
    }

    func remove(_ handle: FileHandle) async throws {
        try await enter("remove \(handle)")
        _ = files.withLock { $0.removeValue(forKey: handle) }
    }

    func repositoryExists() async throws -> Bool { contents(.config) != nil }
    func create() async throws {}
}

/// Holds callers until `open()`; then lets everyone through.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func pass() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}

/// Polls `condition` until it holds or `seconds` pass; true when it held.
func eventually(within seconds: Double = 60, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}
