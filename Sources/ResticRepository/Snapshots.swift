import ResticCore

/// A snapshot with its ID.
public struct SnapshotRecord: Sendable {
    public var id: ObjectID
    public var snapshot: Snapshot

    public init(id: ObjectID, snapshot: Snapshot) {
        self.id = id
        self.snapshot = snapshot
    }
}

/// restic's `--host`, `--tag` and `--path` snapshot filters.
public struct SnapshotFilter: Sendable {
    public var hosts: [String] = []
    /// Each element is a comma-separated list; a snapshot matches when it has all tags of any list.
    public var tags: [String] = []
    public var paths: [String] = []

    public init(hosts: [String] = [], tags: [String] = [], paths: [String] = []) {
        self.hosts = hosts
        self.tags = tags
        self.paths = paths
    }

    public var isEmpty: Bool { hosts.isEmpty && tags.isEmpty && paths.isEmpty }

    public func matches(_ snapshot: Snapshot) -> Bool {
        if !hosts.isEmpty && !hosts.contains(snapshot.hostname) { return false }
        if !tags.isEmpty {
            let anyList = tags.contains { list in
                let wanted = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if wanted == [""] { return snapshot.tags.isEmpty }
                return wanted.allSatisfy { snapshot.tags.contains($0) }
            }
            if !anyList { return false }
        }
        if !paths.isEmpty {
            let cleaned = Set(paths.map(PathClean.clean))
            if !cleaned.isSubset(of: Set(snapshot.paths.map(PathClean.clean))) { return false }
        }
        return true
    }
}

extension Repository {
    /// Every snapshot, oldest first (by time, then ID). Unreadable snapshot files are reported
    /// through `onError` and skipped, as restic does when listing.
    public func loadSnapshots(onError: (ObjectID, Error) -> Void = { _, _ in }) async throws -> [SnapshotRecord] {
        let ids = try await list(.snapshot)
        var records: [SnapshotRecord] = []
        var failures: [(ObjectID, Error)] = []
        try await withThrowingTaskGroup(of: (ObjectID, Result<Snapshot, Error>).self) { group in
            var pending = ids[...]
            func startNext() {
                guard let id = pending.popFirst() else { return }
                group.addTask {
                    do {
                        let bytes = try await self.loadUnpacked(.snapshot, id)
                        do {
                            return (id, .success(try Snapshot.decode(bytes)))
                        } catch {
                            return (id, .failure(ResticError.corrupt("snapshot \(id.hex): \(error)")))
                        }
                    } catch {
                        return (id, .failure(error))
                    }
                }
            }
            for _ in 0..<max(2, backend.connections * 2) { startNext() }
            while let (id, result) = try await group.next() {
                switch result {
                case .success(let snapshot): records.append(SnapshotRecord(id: id, snapshot: snapshot))
                case .failure(let error): failures.append((id, error))
                }
                startNext()
            }
        }
        for (id, error) in failures { onError(id, error) }
        return records.sorted { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
    }

    public func loadSnapshot(_ id: ObjectID) async throws -> Snapshot {
        let bytes = try await loadUnpacked(.snapshot, id)
        do {
            return try Snapshot.decode(bytes)
        } catch {
            throw ResticError.corrupt("snapshot \(id.hex): \(error)")
        }
    }

    /// Finds one snapshot from `latest` (newest matching the filter) or an ID prefix.
    public func findSnapshot(_ reference: String, filter: SnapshotFilter = SnapshotFilter()) async throws -> SnapshotRecord {
        if reference == "latest" {
            let all = try await loadSnapshots().filter { filter.matches($0.snapshot) }
            guard let newest = all.last else {
                throw ResticError.notFound("no snapshot found" + (filter.isEmpty ? "" : " matching the filter"))
            }
            return newest
        }
        let id: ObjectID
        do {
            id = try await resolve(.snapshot, prefix: reference)
        } catch let error as ResticError where error.kind == .notFound {
            throw ResticError.notFound("no matching ID found for prefix \"\(reference)\"")
        }
        return SnapshotRecord(id: id, snapshot: try await loadSnapshot(id))
    }
}
