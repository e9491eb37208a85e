#if canImport(Glibc)
import Glibc
#endif

/// Testing hooks, off unless `CARTAE_TEST_SCAN_CACHE` is set to some of these, comma-separated:
/// `off` (no cache: the prefetch only warms the kernel's caches), `wait` (the walk starts once
/// the prefetch has finished), `stop` (as `wait`, then the process stops itself with SIGSTOP
/// until continued, so a test can change files between the prefetch and the walk), `report`
/// (the cache's statistics on standard error when the walk ends).
public struct ScanCacheHooks: Sendable {
    public var off = false, wait = false, stop = false, report = false

    public static let current: ScanCacheHooks = {
        var hooks = ScanCacheHooks()
        guard let value = getenv("CARTAE_TEST_SCAN_CACHE") else { return hooks }
        for word in String(cString: value).split(separator: ",") {
            switch word {
            case "off": hooks.off = true
            case "wait": hooks.wait = true
            case "stop": hooks.wait = true; hooks.stop = true
            case "report": hooks.report = true
            default: break
            }
        }
        return hooks
    }()

    /// The cache a backup's prefetch fills: none with `off`; with `wait` or `stop` listings do
    /// not age, since the test decides how long the walk waits.
    public func cache() -> ScanCache? {
        off ? nil : ScanCache(limits: wait ? ScanCache.Limits(maxAge: .max) : ScanCache.Limits())
    }

    func beforeWalk(_ cache: ScanCache) async throws {
        guard wait else { return }
        while cache.isPrefetching { try await Task.sleep(for: .milliseconds(2)) }
        if stop { raise(SIGSTOP) }
    }

    func afterWalk(_ cache: ScanCache) {
        guard report else { return }
        let s = cache.statistics
        let line = "scan cache: \(s.hits) hits, \(s.misses) misses, \(s.dropped) dropped, \(s.invalidated) invalidated, "
            + "\(s.stored) stored (\(s.storedEntries) entries, \(s.storedBytes) bytes), \(s.skipped) skipped, "
            + "peak \(s.peakEntries) entries \(s.peakBytes) bytes\n"
        var bytes = Array(line.utf8)
        _ = write(2, &bytes, bytes.count)
    }
}
