import ArgumentParser
import ResticBackends

/// restic's TLS flags for HTTP backends (rest:, s3:). Verification is on unless `--insecure-tls`.
public struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("cacert"), help: "File to load root certificates from (default: use system certificates or $RESTIC_CACERT).")
    public var caCertificates: [String] = []

    @Flag(name: .customLong("insecure-tls"), help: "Skip TLS certificate verification when connecting to the repository (insecure).")
    public var insecureTLS = false

    public init() {}

    /// The HTTP client settings these flags (and RESTIC_CACERT) ask for.
    func httpSettings() -> HTTPSettings {
        var files = caCertificates
        if files.isEmpty, let fromEnvironment = Environment.get("RESTIC_CACERT") {
            files = fromEnvironment.split(separator: ",").map(String.init)
        }
        return HTTPSettings(caCertificateFiles: files, insecureTLS: insecureTLS)
    }
}
