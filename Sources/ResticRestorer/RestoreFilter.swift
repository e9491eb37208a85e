import ResticCore

/// `--include` / `--exclude` for restore, with restic's semantics: an excluded path and all
/// below it are skipped; with includes, only matching paths (and what is below them) are
/// restored, and directories are entered when an include may match inside.
public struct RestoreFilter: Sendable {
    public var includes: [PathPattern]
    public var excludes: [PathPattern]

    public init(includes: [PathPattern] = [], excludes: [PathPattern] = []) {
        self.includes = includes
        self.excludes = excludes
    }

    /// Nothing filtered: every directory is entered.
    var isEmpty: Bool { includes.isEmpty && excludes.isEmpty }

    enum Decision { case select, descendOnly, skip }

    func decide(_ path: String, isDirectory: Bool) -> Decision {
        if excludes.contains(where: { $0.matches(path) }) { return .skip }
        if includes.isEmpty || includes.contains(where: { $0.matches(path) }) { return .select }
        if isDirectory && includes.contains(where: { $0.mayMatchBelow(path) }) { return .descendOnly }
        return .skip
    }
}
