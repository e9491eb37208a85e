/// The engine's error: a class that decides the exit code and whether a retry may help, and a
/// one-line message that names the file, ID or flag concerned. Never carries a secret.
public struct ResticError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case noRepository      // exit 10
        case locked            // exit 11
        case wrongPassword     // exit 12
        case interrupted       // exit 130
        case notFound          // a file, snapshot or blob that should exist
        case corrupt           // data that fails its hash, MAC or format
        case invalidArgument
        case io                // local I/O failure
        case temporary         // a failure a retry may fix (network, 5xx)
        case other
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public static func corrupt(_ message: String) -> ResticError { ResticError(.corrupt, message) }
    public static func notFound(_ message: String) -> ResticError { ResticError(.notFound, message) }
    public static func invalid(_ message: String) -> ResticError { ResticError(.invalidArgument, message) }
}
