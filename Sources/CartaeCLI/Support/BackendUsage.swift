import ResticBackends
import ResticCore
import CartaeSync

/// The traffic of every backend stack a command opened: requests, payload bytes each way,
/// retries and cache hits. `--json` summaries carry it and `-v` prints it when the command ends,
/// so a slow or expensive run against S3 or a REST server can be explained from its own output.
enum BackendUsage {
    struct Totals: Equatable {
        var requests = 0, bytesSent = 0, bytesReceived = 0, retries = 0
        var cacheHits = 0, cacheMisses = 0
        var cached = false
    }

    private struct State: ~Copyable {
        var opened: [OpenedBackend] = []
        var verbosity = 0
        var json = false
    }

    private static let state = Locked(State())

    static func record(_ opened: OpenedBackend, options: GlobalOptions) {
        state.withLock {
            $0.opened.append(opened)
            $0.verbosity = max($0.verbosity, options.verbosity)
            $0.json = $0.json || options.json
        }
    }

    static var totals: Totals {
        state.withLock { state in
            var totals = Totals()
            // Stacks of one location share their counters (a command may open its repository
            // twice, e.g. init --copy-chunker-params), so each counter object counts once.
            var seen = Set<ObjectIdentifier>()
            for opened in state.opened where seen.insert(ObjectIdentifier(opened.statistics)).inserted {
                totals.requests += opened.statistics.requests
                totals.bytesSent += opened.statistics.bytesSent
                totals.bytesReceived += opened.statistics.bytesReceived
                totals.retries += opened.statistics.retries
            }
            for case let cache as CachingBackend in state.opened.map(\.backend) {
                totals.cached = true
                totals.cacheHits += cache.cacheStatistics.hits
                totals.cacheMisses += cache.cacheStatistics.misses
            }
            return totals
        }
    }

    /// Appends the counters to a JSON summary object (after restic's own keys, which consumers
    /// read by name).
    static func appendJSON(to w: inout GoJSONWriter) {
        let totals = totals
        w.key("backend_requests"); w.number(totals.requests)
        w.key("backend_bytes_sent"); w.number(totals.bytesSent)
        w.key("backend_bytes_received"); w.number(totals.bytesReceived)
        w.key("backend_retries"); w.number(totals.retries)
        if totals.cached {
            w.key("cache_hits"); w.number(totals.cacheHits)
            w.key("cache_misses"); w.number(totals.cacheMisses)
        }
    }

    /// One line on standard error for `-v` (standard output may carry `cat` or `dump` data).
    static func reportIfVerbose() {
        let (verbose, opened) = state.withLock { ($0.verbosity > 0 && !$0.json, !$0.opened.isEmpty) }
        guard verbose, opened else { return }
        Output.error(line(totals))
    }

    static func line(_ totals: Totals) -> String {
        var text = "backend: \(totals.requests) requests, \(SizeFormat.bytes(UInt64(totals.bytesSent))) sent, "
            + "\(SizeFormat.bytes(UInt64(totals.bytesReceived))) received, \(totals.retries) retries"
        if totals.cached { text += "; cache: \(totals.cacheHits) hits, \(totals.cacheMisses) misses" }
        return text
    }
}
