import ResticCore
import ResticCrypto

extension Repository {
    /// Reads and decodes the header of a pack from its tail, checking its bounds against the
    /// file size before allocating anything.
    public func loadPackHeader(_ pack: ObjectID, size knownSize: Int? = nil) async throws -> [PackHeaderEntry] {
        let handle = FileHandle(.pack, pack)
        let size: Int
        if let knownSize { size = knownSize } else { size = try await backend.stat(handle) }
        guard size >= PackHeader.entrySizeUncompressed + 32 + 4 else {
            throw ResticError.corrupt("pack \(pack.hex): file too short (\(size) bytes) to hold a header")
        }
        let trailer = try await backend.load(handle, offset: size - 4, length: 4)
        let headerLength: Int
        do {
            headerLength = try PackHeader.headerLength(trailer: trailer, fileSize: size)
        } catch {
            throw ResticError.corrupt("pack \(pack.hex): \(error)")
        }
        let sealed = try await backend.load(handle, offset: size - 4 - headerLength, length: headerLength)
        return try decodeHeader(sealed, pack: pack, dataEnd: size - 4 - headerLength)
    }

    /// Decodes a sealed header that has been cut out of a pack already in memory.
    public func decodeHeader(_ sealed: [UInt8], pack: ObjectID, dataEnd: Int) throws -> [PackHeaderEntry] {
        let entries: [PackHeaderEntry]
        do {
            entries = try PackHeader.parse(try key.open(sealed))
        } catch {
            throw ResticError.corrupt("pack \(pack.hex): header: \(error)")
        }
        if let last = entries.last, Int(last.offset) + Int(last.length) > dataEnd {
            throw ResticError.corrupt("pack \(pack.hex): header lists blobs beyond the data section")
        }
        for entry in entries where entry.type == .data || entry.type == .tree {
            if entry.uncompressedLength != 0 && version < 2 {
                throw ResticError.corrupt("pack \(pack.hex): compressed blob in a version 1 repository")
            }
        }
        return entries
    }
}
