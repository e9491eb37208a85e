import Foundation
import ResticCore

/// A stage failed; the message says which step and why, and never holds a secret.
public struct StageError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Where stages write what they do: progress on `info`, problems that do not fail the stage
/// (an unreachable Pushgateway) on `warning`.
public struct DRConsole: Sendable {
    public var info: @Sendable (String) -> Void
    public var warning: @Sendable (String) -> Void

    public init(info: @escaping @Sendable (String) -> Void, warning: @escaping @Sendable (String) -> Void) {
        self.info = info
        self.warning = warning
    }

    /// Discards everything (tests).
    public static let silent = DRConsole(info: { _ in }, warning: { _ in })
}

/// The outcome of one unit of a stage: one database, the Redis dataset, or the volumes.
public struct StageReport: Sendable {
    public var stage: StageKind
    /// The database name for postgres, nil otherwise.
    public var item: String?
    public var succeeded: Bool
    /// What was done, or why it failed.
    public var message: String
    public var snapshotID: ObjectID?
    /// Bytes backed up (the dump, RDB or files) or restored.
    public var bytes: UInt64
    public var durationSeconds: Double
    /// Unix time at which the unit ended.
    public var finishedAt: Double

    public init(stage: StageKind, item: String? = nil, succeeded: Bool, message: String,
                snapshotID: ObjectID? = nil, bytes: UInt64 = 0, durationSeconds: Double, finishedAt: Double = Date().timeIntervalSince1970) {
        self.stage = stage
        self.item = item
        self.succeeded = succeeded
        self.message = message
        self.snapshotID = snapshotID
        self.bytes = bytes
        self.durationSeconds = durationSeconds
        self.finishedAt = finishedAt
    }

    /// "postgres (app)" or "redis".
    public var label: String { item.map { "\(stage.rawValue) (\($0))" } ?? stage.rawValue }
}

/// The result of `dr backup` or `dr restore` over one or more stages.
public struct DRRunResult: Sendable {
    public var reports: [StageReport]

    public init(reports: [StageReport]) {
        self.reports = reports
    }

    /// 0 when everything succeeded, 1 when everything failed, 3 when some part failed.
    public var exitCode: Int32 {
        let failed = reports.filter { !$0.succeeded }.count
        if failed == 0 { return 0 }
        return failed == reports.count ? 1 : 3
    }
}

/// Measures a unit of work and turns its result or error into a report.
enum StageTimer {
    static func measure(_ stage: StageKind, item: String? = nil,
                        _ body: () async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64)) async -> StageReport {
        let start = ContinuousClock.now
        func seconds() -> Double {
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        do {
            let (message, snapshot, bytes) = try await body()
            return StageReport(stage: stage, item: item, succeeded: true, message: message, snapshotID: snapshot,
                               bytes: bytes, durationSeconds: seconds())
        } catch is CancellationError {
            return StageReport(stage: stage, item: item, succeeded: false, message: "interrupted", durationSeconds: seconds())
        } catch let error as ResticError {
            return StageReport(stage: stage, item: item, succeeded: false, message: error.message, durationSeconds: seconds())
        } catch {
            return StageReport(stage: stage, item: item, succeeded: false, message: "\(error)", durationSeconds: seconds())
        }
    }
}
