/// Names one file of the repository: its type (which decides the folder) and its name
/// (64 hex digits, or "config").
public struct FileHandle: Hashable, Sendable, CustomStringConvertible {
    public var type: FileType
    public var name: String

    public init(_ type: FileType, _ name: String) {
        self.type = type
        self.name = name
    }

    public init(_ type: FileType, _ id: ObjectID) {
        self.init(type, id.hex)
    }

    public static let config = FileHandle(.config, "config")

    /// Relative path in restic's default layout: packs under `data/XX/`, everything else flat.
    public var relativePath: String {
        switch type {
        case .config: return "config"
        case .pack: return "data/\(name.prefix(2))/\(name)"
        default: return "\(type.folderName)/\(name)"
        }
    }

    public var description: String { relativePath }
}

public struct FileInfo: Hashable, Sendable {
    public var name: String
    public var size: Int

    public init(name: String, size: Int) {
        self.name = name
        self.size = size
    }
}

/// Where repository bytes live. Byte-oriented and ignorant of encryption: the repository
/// encrypts and compresses, the backend only stores whole files and serves ranges.
/// Decorators (retry, connection limits) wrap any backend.
public protocol Backend: Sendable {
    /// Human-readable location without credentials, for messages.
    var location: String { get }
    /// How many requests may usefully run at once.
    var connections: Int { get }

    /// Stores a whole file atomically: readers see all of it or nothing.
    func save(_ handle: FileHandle, data: [UInt8]) async throws
    /// Reads `length` bytes at `offset`, or to the end when `length` is nil.
    func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8]
    /// Size in bytes; throws `.notFound` when absent.
    func stat(_ handle: FileHandle) async throws -> Int
    func list(_ type: FileType) async throws -> [FileInfo]
    /// The names `list` would give, where a backend can list them more cheaply than with their
    /// sizes (a local one stats every file for its size).
    func listNames(_ type: FileType) async throws -> [String]
    func remove(_ handle: FileHandle) async throws
    /// True when a config file is present.
    func repositoryExists() async throws -> Bool
    /// Prepares an empty location for a new repository (folders, bucket).
    func create() async throws
    /// A hint that the file (or the bytes in `range` of it) will soon be read: a local backend
    /// starts the disk reads in the background, so they overlap the work before. Never fails.
    func willLoad(_ handle: FileHandle, range: Range<Int>?)
    /// Where the file lies on this machine's file system, for readers that work on it outside
    /// Swift concurrency; nil for remote backends.
    func localPath(_ handle: FileHandle) -> String?
    /// A new file of `type` written into this backend's own storage piece by piece, under a
    /// temporary name, or nil where files can only be saved whole (remote backends).
    func makeSpool(_ type: FileType) throws -> (any BackendSpool)?
    /// Stores what `spool` holds under `handle`, as atomically as `save(_:data:)`.
    func save(_ handle: FileHandle, spool: any BackendSpool) async throws
    /// Removes the temporary files of saves that never finished (a process killed while it
    /// wrote), older than `age`; returns how many and their bytes. Only safe under an
    /// exclusive lock. Backends whose saves leave nothing behind return (0, 0).
    func removeLeftovers(olderThan age: Duration) async throws -> (files: Int, bytes: Int)
}

/// A file being written before its name is known (a pack is named by the hash of all its
/// bytes), so a writer need not keep the whole file in memory. Dropped without being saved,
/// it removes what it wrote.
public protocol BackendSpool: AnyObject, Sendable {
    /// Bytes appended so far.
    var count: Int { get }
    /// Appends `bytes`. A failure is a repository error naming where the file was to go.
    func append(_ bytes: UnsafeRawBufferPointer) throws
    /// Everything appended, for a backend that can only store whole buffers.
    func contents() throws -> [UInt8]
}

extension Backend {
    public func listNames(_ type: FileType) async throws -> [String] {
        try await list(type).map(\.name)
    }

    public func willLoad(_ handle: FileHandle, range: Range<Int>?) {}
    public func willLoad(_ handle: FileHandle) { willLoad(handle, range: nil) }
    public func localPath(_ handle: FileHandle) -> String? { nil }
    public func makeSpool(_ type: FileType) throws -> (any BackendSpool)? { nil }
    public func removeLeftovers(olderThan age: Duration) async throws -> (files: Int, bytes: Int) { (0, 0) }

    public func save(_ handle: FileHandle, spool: any BackendSpool) async throws {
        try await save(handle, data: spool.contents())
    }

    public func load(_ handle: FileHandle) async throws -> [UInt8] {
        try await load(handle, offset: 0, length: nil)
    }
}
