import Foundation
import ResticCore
import ResticBackends
import ResticRepository

/// Turns `-r`/`RESTIC_REPOSITORY` into a backend, spelled as restic spells locations: a path,
/// `local:PATH`, `rest:http(s)://…`, `s3:…`; `-o` options and the TLS flags tune it.
enum RepositoryLocation {
    static func text(_ options: GlobalOptions) throws -> String {
        if let repo = options.repo ?? Environment.get("RESTIC_REPOSITORY") { return repo }
        if let file = options.repositoryFile ?? Environment.get("RESTIC_REPOSITORY_FILE") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ResticError.invalid("--repository-file: cannot read \(file)")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        throw ResticError.invalid("Please specify repository location (-r or --repository-file)")
    }

    static func backend(_ options: GlobalOptions) throws -> any Backend {
        try open(options).backend
    }

    /// The backend stack and its request counters. Remote repositories get a local cache
    /// (`--cache-dir`, default `$XDG_CACHE_HOME/cartae-restic`) unless `--no-cache`.
    static func open(_ options: GlobalOptions) throws -> OpenedBackend {
        let quiet = options.quiet
        let environment = ProcessInfo.processInfo.environment
        let cache = options.noCache ? nil : (options.cacheDir ?? CachingBackend.defaultDirectory(environment: environment))
        let opened = try BackendFactory.open(
            location: try text(options), options: options.extendedOptions,
            environment: environment, http: options.tls.httpSettings(), cacheDirectory: cache,
            report: { message in
                // restic prints retries too: a slow run should say why it is slow.
                if !quiet { Output.error(message) }
            })
        BackendUsage.record(opened, options: options)
        return opened
    }
}

extension IndexedRepository {
    /// Tells the cache of a remote repository (if any) to keep tree packs whole, as restic does:
    /// directory listings, `ls` and the parent trees of a backup are then read from disk.
    func cachingTreePacks() -> IndexedRepository {
        guard let cache = backend as? CachingBackend else { return self }
        var packs = Set<ObjectID>()
        index.forEach { _, type, location in
            if type == .tree { packs.insert(location.pack) }
        }
        cache.cachePacks(packs.map(\.hex))
        return self
    }
}
