import AsyncHTTPClient
import ResticBackends
import Foundation
import Prometheus

/// Sends each run's results to a Prometheus Pushgateway, one group per stage (job
/// `cartae_dr`, labels `instance` = the configured host and `stage`), replacing the group's
/// previous values. The text comes from swift-prometheus's registry. A gateway that cannot be
/// reached is a warning: metrics never change a backup's outcome.
public struct MetricsPusher: Sendable {
    public let url: String?
    public let job: String
    public let instance: String
    let console: DRConsole
    /// AsyncHTTPClient retries a refused connection until the deadline, so this bounds the delay
    /// an unreachable gateway adds to each stage.
    public static let timeout: Int64 = 5

    public init(url: String?, instance: String, job: String = "cartae_dr", console: DRConsole) {
        self.url = url
        self.instance = instance
        self.job = job
        self.console = console
    }

    // MARK: exposition

    /// The backup metrics of one stage: success, size, time and duration per unit (one per
    /// database for postgres), and the repository's total size.
    public static func backupExposition(stage: StageKind, reports: [StageReport], repositoryBytes: UInt64?) -> String {
        let registry = PrometheusCollectorRegistry()
        for report in reports {
            var labels = [("stage", stage.rawValue)]
            if let item = report.item { labels.append(("database", item)) }
            gauge(registry, "backup_success", "1 if the last backup of the stage succeeded, else 0", labels)
                .set(Double(report.succeeded ? 1 : 0))
            gauge(registry, "backup_size_bytes", "Bytes read into the last backup of the stage", labels)
                .set(Double(report.bytes))
            gauge(registry, "backup_timestamp", "Unix time at which the last backup of the stage ended", labels)
                .set(report.finishedAt)
            gauge(registry, "backup_duration_seconds", "Duration of the last backup of the stage", labels)
                .set(report.durationSeconds)
        }
        if let repositoryBytes {
            gauge(registry, "backup_total_size_bytes", "Bytes stored in the repository after the stage", [("stage", stage.rawValue)])
                .set(Double(repositoryBytes))
        }
        return registry.emitToString()
    }

    /// The results of a `dr check` or `dr prune` run, under its own names (`check_*`, `prune_*`).
    public static func maintenanceExposition(_ operation: String, succeeded: Bool, durationSeconds: Double,
                                             finishedAt: Double, values: [(String, String, Double)],
                                             repositoryBytes: UInt64?) -> String {
        let registry = PrometheusCollectorRegistry()
        let labels = [("stage", operation)]
        gauge(registry, "\(operation)_success", "1 if the last \(operation) succeeded, else 0", labels).set(Double(succeeded ? 1 : 0))
        gauge(registry, "\(operation)_timestamp", "Unix time at which the last \(operation) ended", labels).set(finishedAt)
        gauge(registry, "\(operation)_duration_seconds", "Duration of the last \(operation)", labels).set(durationSeconds)
        for (name, help, value) in values {
            gauge(registry, "\(operation)_\(name)", help, labels).set(value)
        }
        if let repositoryBytes {
            gauge(registry, "backup_total_size_bytes", "Bytes stored in the repository after the stage", labels)
                .set(Double(repositoryBytes))
        }
        return registry.emitToString()
    }

    private static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String,
                              _ labels: [(String, String)]) -> Gauge {
        // The unit is already part of each name; an empty unit adds no suffix.
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    // MARK: pushing

    /// The gateway URL for messages: a `user:password@` in it is never printed.
    public var displayURL: String { url.map(BackendFactory.redacted) ?? "" }

    /// The group's URL: `<gateway>/metrics/job/<job>/instance/<host>/stage/<stage>`, values
    /// outside the URL-safe set in Pushgateway's base64 form.
    public func groupURL(stage: String) -> String? {
        guard let url else { return nil }
        func part(_ label: String, _ value: String) -> String {
            let safe = !value.isEmpty && value.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
            }
            if safe { return "\(label)/\(value)" }
            let encoded = Data(value.utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            return "\(label)@base64/\(encoded.isEmpty ? "=" : encoded)"
        }
        return "\(url)/metrics/\(part("job", job))/\(part("instance", instance))/\(part("stage", stage))"
    }

    /// PUTs the text to the stage's group; returns whether the gateway accepted it.
    @discardableResult
    public func push(stage: String, text: String) async -> Bool {
        guard let target = groupURL(stage: stage) else { return false }
        var request = HTTPClientRequest(url: target)
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        request.body = .bytes(Array(text.utf8))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Self.timeout))
            let body = try await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(Int(response.status.code)) else {
                let reason = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
                console.warning("Warning: Pushgateway \(displayURL) refused the \(stage) metrics: HTTP \(response.status.code) \(reason)")
                return false
            }
            return true
        } catch {
            console.warning("Warning: could not push the \(stage) metrics to \(displayURL): \(error)")
            return false
        }
    }

    /// Whether the gateway answers its health endpoint (for `dr test`).
    public func isReachable() async -> Result<Void, StageError> {
        guard let url else { return .failure(StageError("PUSHGATEWAY_URL is not set")) }
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url + "/-/healthy"), timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 64 * 1024)
            guard response.status.code == 200 else { return .failure(StageError("\(displayURL)/-/healthy answered HTTP \(response.status.code)")) }
            return .success(())
        } catch {
            return .failure(StageError("\(displayURL): \(error)"))
        }
    }
}
