import ResticCore

extension Repository {
    /// Every index file with its decoded content. Files that fail to load are reported through
    /// `onError` and left out, so maintenance can work around them.
    public func loadIndexFiles(onError: (ObjectID, Error) -> Void = { _, _ in }) async throws -> [(id: ObjectID, file: IndexFile)] {
        var loaded: [(id: ObjectID, file: IndexFile)] = []
        var failures: [(ObjectID, Error)] = []
        let ids = try await list(.index)
        try await withThrowingTaskGroup(of: (ObjectID, Result<IndexFile, Error>).self) { group in
            var pending = ids[...]
            func startNext() {
                guard let id = pending.popFirst() else { return }
                group.addTask {
                    do {
                        let bytes = try await self.loadUnpacked(.index, id)
                        do {
                            return (id, .success(try IndexFile.decode(bytes)))
                        } catch {
                            return (id, .failure(ResticError.corrupt("index \(id.hex): \(error)")))
                        }
                    } catch {
                        return (id, .failure(error))
                    }
                }
            }
            for _ in 0..<max(2, backend.connections) { startNext() }
            while let (id, result) = try await group.next() {
                switch result {
                case .success(let file): loaded.append((id, file))
                case .failure(let error): failures.append((id, error))
                }
                startNext()
            }
        }
        for (id, error) in failures { onError(id, error) }
        return loaded.sorted { $0.id < $1.id }
    }

    /// Writes index entries for `packs`, split into files of at most 50 000 blobs as restic
    /// does; returns the new index file IDs.
    public func saveIndex(_ packs: [IndexPack]) async throws -> [ObjectID] {
        var written: [ObjectID] = []
        var batch: [IndexPack] = []
        var blobs = 0
        for pack in packs {
            batch.append(pack)
            blobs += pack.blobs.count
            if blobs >= 50_000 {
                written.append(try await saveUnpacked(.index, IndexFile(packs: batch).encode()))
                batch = []
                blobs = 0
            }
        }
        if !batch.isEmpty { written.append(try await saveUnpacked(.index, IndexFile(packs: batch).encode())) }
        return written
    }
}

extension IndexPack {
    /// The pack file's size implied by its entries: blobs, sealed header and length field.
    public var expectedPackSize: Int {
        var size = 4 + 32
        for blob in blobs {
            size += Int(blob.length)
            size += blob.uncompressedLength != 0 ? PackHeader.entrySizeCompressed : PackHeader.entrySizeUncompressed
        }
        return size
    }
}
