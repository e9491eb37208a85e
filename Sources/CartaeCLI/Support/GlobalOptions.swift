import ArgumentParser
import ResticCore
import ResticRepository

public typealias BlobSealerCompression = BlobSealer.Compression

/// restic's global flags, accepted before or after the command name.
public struct GlobalOptions: ParsableArguments {
    @Option(name: [.customShort("r"), .customLong("repo")], help: "Repository to back up to or restore from (default: $RESTIC_REPOSITORY).")
    public var repo: String?

    @Option(name: .customLong("repository-file"), help: "File to read the repository location from (default: $RESTIC_REPOSITORY_FILE).")
    public var repositoryFile: String?

    @Option(name: [.customShort("p"), .customLong("password-file")], help: "File to read the repository password from (default: $RESTIC_PASSWORD_FILE).")
    public var passwordFile: String?

    @Option(name: .customLong("password-command"), help: "Shell command to obtain the repository password from (default: $RESTIC_PASSWORD_COMMAND).")
    public var passwordCommand: String?

    @Option(name: .customLong("key-hint"), help: "Key ID of key to try decrypting first (default: $RESTIC_KEY_HINT).")
    public var keyHint: String?

    @Flag(name: .customLong("json"), help: "Set output mode to JSON for commands that support it.")
    public var json = false

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Do not output comprehensive progress report.")
    public var quiet = false

    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Be verbose (specify multiple times for more).")
    public var verbosity: Int

    @Flag(name: .customLong("no-lock"), help: "Do not lock the repository; this allows some operations on read-only repositories.")
    public var noLock = false

    @Option(name: .customLong("pack-size"), help: "Set target pack size in MiB (default: $RESTIC_PACK_SIZE).")
    public var packSize: Int?

    @Option(name: .customLong("compression"), help: "Compression mode (only available for repository format version 2), one of (auto|off|fastest|better|max) (default: $RESTIC_COMPRESSION).")
    public var compression: String?

    @Option(name: [.customShort("o"), .customLong("option")], help: "Set extended option (key=value, can be specified multiple times).")
    public var extendedOptions: [String] = []

    @Option(name: .customLong("cache-dir"), help: "Set the cache directory.")
    public var cacheDir: String?

    @Flag(name: .customLong("no-cache"), help: "Do not use a local cache.")
    public var noCache = false

    @Flag(name: .customLong("no-extra-verify"), help: "Skip additional verification of data before upload (see documentation).")
    public var noExtraVerify = false

    @Option(name: .customLong("retry-lock"), help: "Retry to lock the repository if it is already locked, takes a value like 5m or 2h.")
    public var retryLock: String?

    @OptionGroup public var tls: TLSOptions

    public init() {}

    /// Flags that take a value, for moving global flags written before the command name.
    static let valueFlags: Set<String> = [
        "-r", "--repo", "--repository-file", "-p", "--password-file", "--password-command", "--key-hint",
        "--pack-size", "--compression", "-o", "--option", "--cache-dir", "--retry-lock", "--cacert",
    ]
    static let booleanFlags: Set<String> = [
        "--json", "-q", "--quiet", "-v", "--verbose", "--no-lock", "--no-cache", "--no-extra-verify", "--insecure-tls",
    ]
}

extension GlobalOptions {
    /// `--compression` / `RESTIC_COMPRESSION` as a sealer setting; levels follow restic's zstd
    /// encoder (fastest 1, auto 2, better 7, max 11).
    func compressionMode(version: Int) throws -> BlobSealerCompression {
        let mode = compression ?? Environment.get("RESTIC_COMPRESSION") ?? "auto"
        switch mode {
        case "auto": return .automatic
        case "off": return .off
        case "fastest": return .level(1)
        case "better": return .level(7)
        case "max": return .level(11)
        default: throw ResticError.invalid("--compression: invalid compression mode \"\(mode)\" (use auto, off, fastest, better or max)")
        }
    }

    /// A bad `--retry-lock` is refused at parse time, as restic does, even by commands that
    /// take no lock.
    public func validate() throws {
        _ = try retryLockDuration()
    }

    /// `--retry-lock` as a duration ("5m", "2h", "30s").
    func retryLockDuration() throws -> Duration? {
        guard let text = retryLock else { return nil }
        guard let unit = text.last, let value = Double(text.dropLast()), value >= 0 else {
            throw ResticError.invalid("--retry-lock: invalid duration \"\(text)\"")
        }
        switch unit {
        case "s": return .milliseconds(Int(value * 1000))
        case "m": return .milliseconds(Int(value * 60_000))
        case "h": return .milliseconds(Int(value * 3_600_000))
        default: throw ResticError.invalid("--retry-lock: invalid duration \"\(text)\" (use s, m or h)")
        }
    }
}
