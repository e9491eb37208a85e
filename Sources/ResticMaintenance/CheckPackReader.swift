import ResticCore
import ResticCrypto
import ResticRepository

/// One blob of a pack as the index lists it; also what a header entry must match.
struct PackEntry: Sendable, Hashable {
    var type: BlobType
    var id: ObjectID
    var offset: UInt32
    var length: UInt32
    var uncompressedLength: UInt32

    var end: Int { Int(offset) + Int(length) }
    var headerEntrySize: Int {
        uncompressedLength != 0 ? PackHeader.entrySizeCompressed : PackHeader.entrySizeUncompressed
    }
}

extension Checker {
    /// Most index entries gathered at once for `--read-data`; packs are read in batches so the
    /// per-pack entry lists never cost more than this, whatever the repository size.
    static let readBatchBlobs = 200_000
    /// Bytes read from a pack per request while it is streamed.
    static let readChunkSize = 4 * 1024 * 1024

    /// Reads the given indexed packs whole and reports every damage found (see `verifyPack`).
    /// Returns how many packs were read.
    @discardableResult
    public func readPacks(_ packs: [ObjectID], index: CheckedIndex, report: (CheckFinding) -> Void) async throws -> Int {
        var read = 0
        var start = 0
        while start < packs.count {
            var end = start
            var blobs = 0
            while end < packs.count && (end == start || blobs + (index.packs[packs[end]]?.blobCount ?? 0) <= Self.readBatchBlobs) {
                blobs += index.packs[packs[end]]?.blobCount ?? 0
                end += 1
            }
            let batch = Array(packs[start..<end])
            let entries = Self.entries(of: Set(batch), in: index.index)
            try await verifyBatch(batch, entries: entries, report: report)
            read += batch.count
            start = end
        }
        return read
    }

    private func verifyBatch(_ batch: [ObjectID], entries: [ObjectID: Set<PackEntry>],
                             report: (CheckFinding) -> Void) async throws {
        let repository = self.repository
        let digests = packDigests
        let width = max(1, repository.backend.connections)
        try await withThrowingTaskGroup(of: (ObjectID, [String]).self) { group in
            var pending = batch[...]
            func startNext(_ group: inout ThrowingTaskGroup<(ObjectID, [String]), Error>) {
                guard let pack = pending.popFirst() else { return }
                // The pack after this one is read from disk meanwhile: the threads then
                // decrypt and hash instead of waiting for it.
                if let following = pending.first { repository.backend.willLoad(FileHandle(.pack, following)) }
                let listed = entries[pack] ?? []
                group.addTask {
                    (pack, await Self.verifyPack(pack, entries: listed, repository: repository, knownDigest: digests?.take(pack)))
                }
            }
            if let first = pending.first { repository.backend.willLoad(FileHandle(.pack, first)) }
            for _ in 0..<width { startNext(&group) }
            while let (pack, errors) = try await group.next() {
                try Task.checkCancellation()
                startNext(&group)
                if !errors.isEmpty { report(CheckFinding(.packData, pack, errors)) }
            }
        }
    }

    /// The index entries of the given packs, each blob once even if two index files list it.
    static func entries(of packs: Set<ObjectID>, in index: MasterIndex) -> [ObjectID: Set<PackEntry>] {
        var result: [ObjectID: Set<PackEntry>] = [:]
        index.forEach { id, type, location in
            guard packs.contains(location.pack) else { return }
            result[location.pack, default: []].insert(
                PackEntry(type: type, id: id, offset: location.offset, length: location.length,
                          uncompressedLength: location.uncompressedLength))
        }
        return result
    }

    /// restic's `checkPack`: the index entries must tile the data section from offset 0; the
    /// file is streamed once, its SHA-256 must equal its name and every indexed blob must
    /// decrypt, decompress and hash to its ID; the header must decode, have the size the index
    /// implies, and each of its entries must match an index entry exactly. Returns the problems.
    /// `knownDigest`: the file's SHA-256 when it was hashed ahead, which spares hashing it here.
    static func verifyPack(_ id: ObjectID, entries listed: Set<PackEntry>, repository: Repository,
                           knownDigest: ObjectID? = nil) async -> [String] {
        guard !listed.isEmpty else { return ["pack is empty or not indexed"] }
        let entries = listed.sorted { ($0.offset, $0.length) < ($1.offset, $1.length) }
        var errors: [String] = []
        var lastEnd = 0
        var contiguous = true
        for entry in entries {
            if Int(entry.offset) != lastEnd { contiguous = false }
            lastEnd = max(lastEnd, entry.end)
        }
        if !contiguous { errors.append("index for pack contains gaps / overlapping blobs") }

        let handle = FileHandle(.pack, id)
        let size: Int
        do {
            size = try await repository.backend.stat(handle)
        } catch {
            return errors + ["download error: \(error)"]
        }
        var stream = PackStream(handle: handle, size: size, backend: repository.backend, chunkSize: readChunkSize,
                                hashing: knownDigest == nil)
        do {
            let opener = try BlobOpener(key: repository.key)
            for entry in entries {
                guard entry.end <= size else {
                    errors.append("blob \(entry.id.hex): lies beyond the end of the file (\(size) bytes)")
                    continue
                }
                let sealed = try await stream.bytes(Int(entry.offset)..<entry.end)
                let location = BlobLocation(pack: id, offset: entry.offset, length: entry.length,
                                            uncompressedLength: entry.uncompressedLength)
                do {
                    _ = try opener.open(sealed, id: entry.id, type: entry.type, location: location)
                } catch {
                    errors.append("blob \(entry.id.hex): " + message(error, droppingPrefix: "\(entry.type) blob \(entry.id.hex) in pack \(id.hex): "))
                }
            }
            // The header can only lie after the last blob and within the last 16 MiB.
            let headerRoom = size - lastEnd
            let tail = try await stream.readToEnd(keepingFrom: max(min(lastEnd, size), size - PackHeader.maxHeaderSize))
            let digest = knownDigest ?? ObjectID(bytes: stream.digest())
            if digest != id { errors.append("unexpected pack id \(digest.hex)") }
            if headerRoom < PackHeader.cryptoOverhead + 4 {
                errors.append("no room for a pack header: the file has \(size) bytes, the indexed blobs end at \(lastEnd)")
            } else {
                errors += headerProblems(id, tail: tail, fileSize: size, entries: listed, repository: repository)
            }
        } catch {
            errors.append("partial download error: \(error)")
        }
        return errors
    }

    /// Decodes the header from the pack's last bytes and compares it with the index entries.
    static func headerProblems(_ id: ObjectID, tail: ArraySlice<UInt8>, fileSize: Int, entries: Set<PackEntry>,
                               repository: Repository) -> [String] {
        let headerLength: Int
        do {
            headerLength = try PackHeader.headerLength(trailer: Array(tail.suffix(4)), fileSize: fileSize)
        } catch {
            return ["\(error)"]
        }
        guard headerLength + 4 <= tail.count else {
            return ["pack header (\(headerLength) bytes) overlaps the indexed blobs"]
        }
        let sealed = Array(tail[(tail.endIndex - 4 - headerLength)..<(tail.endIndex - 4)])
        let header: [PackHeaderEntry]
        do {
            header = try repository.decodeHeader(sealed, pack: id, dataEnd: fileSize - 4 - headerLength)
        } catch {
            return [message(error, droppingPrefix: "pack \(id.hex): ")]
        }
        var errors: [String] = []
        let expectedSize = entries.reduce(PackHeader.cryptoOverhead + 4) { $0 + $1.headerEntrySize }
        if expectedSize != headerLength + 4 {
            errors.append("pack header size does not match, want \(expectedSize), got \(headerLength + 4)")
        }
        for entry in header {
            let asListed = PackEntry(type: entry.type, id: entry.id, offset: entry.offset, length: entry.length,
                                     uncompressedLength: entry.uncompressedLength)
            if !entries.contains(asListed) {
                errors.append("blob \(entry.id.hex) is not contained in index or position is incorrect")
            }
        }
        return errors
    }

    /// An error's message without the context the engine adds, which the finding already gives.
    static func message(_ error: Error, droppingPrefix prefix: String) -> String {
        let text = "\(error)"
        return text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
    }
}

/// Streams one pack front to back in fixed-size reads, hashing every byte once and keeping
/// only the window the current blob needs (plus, at the end, the possible header region).
struct PackStream {
    let handle: FileHandle
    let size: Int
    let backend: any Backend
    let chunkSize: Int
    private let hasher: SHA256Stream?
    /// Bytes `windowStart ..< readPosition` of the file.
    private var window: [UInt8] = []
    private var windowStart = 0
    private var readPosition = 0

    init(handle: FileHandle, size: Int, backend: any Backend, chunkSize: Int, hashing: Bool = true) {
        hasher = hashing ? SHA256Stream() : nil
        self.handle = handle
        self.size = size
        self.backend = backend
        self.chunkSize = chunkSize
    }

    /// The bytes of `range`. A range that starts before the window (overlapping index entries)
    /// is loaded on its own; it was hashed already.
    mutating func bytes(_ range: Range<Int>) async throws -> ArraySlice<UInt8> {
        if range.lowerBound < windowStart {
            return try await backend.load(handle, offset: range.lowerBound, length: range.count)[...]
        }
        // Dropping only before a read keeps it to one move per chunk, not one per blob.
        while readPosition < range.upperBound {
            drop(before: range.lowerBound)
            try await readChunk()
        }
        return window[(range.lowerBound - windowStart)..<(range.upperBound - windowStart)]
    }

    /// Reads (and hashes) the rest of the file; returns the bytes from `keep` on.
    mutating func readToEnd(keepingFrom keep: Int) async throws -> ArraySlice<UInt8> {
        let keep = max(keep, windowStart)
        while readPosition < size {
            drop(before: keep)
            try await readChunk()
        }
        drop(before: keep)
        return window[(keep - windowStart)...]
    }

    /// The file's SHA-256; empty when the stream was made without hashing.
    func digest() -> [UInt8] { hasher?.finalize() ?? [] }

    private mutating func readChunk() async throws {
        let count = min(chunkSize, size - readPosition)
        let bytes = try await backend.load(handle, offset: readPosition, length: count)
        hasher?.update(bytes)
        window.append(contentsOf: bytes)
        readPosition += count
    }

    /// Forgets the bytes before `position` (at most up to what has been read).
    private mutating func drop(before position: Int) {
        let count = min(position, readPosition) - windowStart
        guard count > 0 else { return }
        window.removeFirst(count)
        windowStart += count
    }
}
