/// An error found while decoding one of restic's on-disk formats.
///
/// The message names the document and the place (byte offset, node index, field) so a corrupt
/// file in a large repository can be found and reported.
public enum FormatError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The bytes are not valid JSON (syntax error, truncation, trailing data).
    case malformedJSON(String)
    /// Valid JSON, but a field is missing, has the wrong type or an impossible value.
    case invalidField(String)
    /// Valid, but uses a feature this implementation does not support (e.g. a KDF other than scrypt).
    case unsupported(String)

    public var description: String {
        switch self {
        case .malformedJSON(let m): return "malformed JSON: \(m)"
        case .invalidField(let m): return "invalid field: \(m)"
        case .unsupported(let m): return "unsupported: \(m)"
        }
    }
}

/// The two kinds of blob a pack can hold.
public enum BlobType: String, Sendable, Hashable, CaseIterable {
    case data, tree
}

/// The kinds of file in a repository; the raw value is restic's name for the type.
public enum FileType: String, Sendable, Hashable, CaseIterable {
    case key, snapshot, index, lock, pack = "data", config

    /// The repository folder holding files of this type (`""` for `config`, which sits at the root).
    public var folderName: String {
        switch self {
        case .key: return "keys"
        case .snapshot: return "snapshots"
        case .index: return "index"
        case .lock: return "locks"
        case .pack: return "data"
        case .config: return ""
        }
    }
}
