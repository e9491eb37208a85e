#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ResticArchiver
import ResticCore
import ResticRepository
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Backs up the Redis dataset as `redis/dump.rdb` plus `redis/dump.meta.json`, one snapshot
/// tagged `redis`. The RDB comes over the replication stream (`redis-cli --rdb -`), or, when
/// that is refused, from a BGSAVE whose file is copied out of the data folder. Either way the
/// bytes are validated (header, structure, CRC-64) and the keys counted as they stream; an
/// invalid RDB writes no snapshot.
public struct RedisStage: Sendable {
    let context: DRContext
    let settings: DRConfig.RedisSettings
    let client: RedisClient

    public init(context: DRContext, settings: DRConfig.RedisSettings) {
        self.context = context
        self.settings = settings
        client = RedisClient(settings: settings)
    }

    public struct RDBInfo: Codable, Sendable {
        public var format = 1
        public var server: String
        public var method: String
        public var redisVersion: String?
        public var rdbVersion: Int
        public var keys: Int
        public var keysWithExpiry: Int
        public var databases: [String: Int]
        public var rdbBytes: UInt64
        public var checksumVerified: Bool
        public var takenAt: String
    }

    static let dumpPath = "redis/dump.rdb"
    static let metaPath = "redis/dump.meta.json"
    static let tags = [StageKind.redis.tag]

    // MARK: backup

    public func backup(repository: Repository) async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64) {
        guard ChildProcess.which("redis-cli") != nil else {
            throw StageError("redis-cli not found in PATH (install it: \(ChildProcess.installHint("redis-cli")))")
        }
        StreamTee.ignoreBrokenPipes()
        return try await context.withBackupLock(repository) { indexed in
            let summary: BackupSummary
            do {
                summary = try await viaReplication(indexed)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                context.console.warning("redis: replication transfer failed (\(error)); falling back to BGSAVE and copy")
                do {
                    summary = try await viaBackgroundSave(indexed)
                } catch let fallback {
                    throw StageError("replication transfer: \(error); BGSAVE fallback: \(fallback)")
                }
            }
            let id = summary.snapshotID
            return ("snapshot \(id?.shortHex ?? "-") saved: \(Self.dumpPath) \(summary.totalBytesProcessed) bytes", id,
                    summary.totalBytesProcessed)
        }
    }

    /// `redis-cli --rdb -` streams the RDB the server makes for a replica.
    func viaReplication(_ indexed: IndexedRepository) async throws -> BackupSummary {
        let pipe = try ChildProcess.pipe()
        let tap = RDBTap(source: pipe.read)
        let done = Promise<Result<ProcessOutcome, Error>>()
        let arguments = client.address + ["--rdb", "-"]
        let environment = client.environment
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                done.fulfill(await capture {
                    try await ChildProcess.run("redis-cli", arguments, environment: environment, stdin: nil, stdout: pipe.write)
                })
            }
            let summary = try await archive(indexed, method: "replication") { files in
                let bytes = try await files.addStream(Self.dumpPath) { try tap.read(into: $0) }
                tap.closeSource()
                let cli = try await done.value.get()
                guard cli.succeeded, RedisClient.problem(in: cli.stderr) == nil else {
                    throw StageError("redis-cli --rdb: \(cli.failureDescription)")
                }
                let rdb = try tap.result()
                guard bytes == rdb.bytes else { throw StageError("stored \(bytes) bytes of a \(rdb.bytes)-byte RDB") }
                return rdb
            }
            try await group.waitForAll()
            return summary
        }
    }

    /// BGSAVE, wait for it, then stream the file it wrote (REDIS_DATA_DIR, else CONFIG GET dir).
    func viaBackgroundSave(_ indexed: IndexedRepository) async throws -> BackupSummary {
        var directory = settings.dataDir
        if directory == nil { directory = await client.config("dir") }
        guard let directory else {
            throw StageError("cannot find the RDB file: set REDIS_DATA_DIR (CONFIG GET dir is refused)")
        }
        let fileName = await client.config("dbfilename") ?? "dump.rdb"
        try await client.backgroundSave()
        let path = directory + "/" + fileName
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StageError("cannot open \(path): \(String(cString: strerror(errno)))") }
        let tap = RDBTap(source: FileDescriptor(rawValue: fd))
        return try await archive(indexed, method: "bgsave") { files in
            let bytes = try await files.addStream(Self.dumpPath) { try tap.read(into: $0) }
            let rdb = try tap.result()
            guard bytes == rdb.bytes else { throw StageError("stored \(bytes) bytes of a \(rdb.bytes)-byte RDB") }
            return rdb
        }
    }

    /// Writes the snapshot once `stream` has stored a validated RDB; adds its description.
    private func archive(_ indexed: IndexedRepository, method: String,
                         _ stream: (StreamSnapshotWriter) async throws -> RDBValidator.Summary) async throws -> BackupSummary {
        let archiver = Archiver(repository: indexed, options: context.backupOptions(tags: Self.tags))
        let taken = DRContext.rfc3339()
        return try await archiver.backupStreams { files in
            let rdb = try await stream(files)
            let info = RDBInfo(server: "\(settings.host):\(settings.port)", method: method, redisVersion: rdb.redisVersion,
                               rdbVersion: rdb.version, keys: rdb.keys, keysWithExpiry: rdb.keysWithExpiry,
                               databases: Dictionary(uniqueKeysWithValues: rdb.databases.map { (String($0.key), $0.value) }),
                               rdbBytes: rdb.bytes, checksumVerified: rdb.checksumVerified, takenAt: taken)
            context.console.info("redis: RDB v\(rdb.version) valid (\(rdb.keys) keys, \(rdb.bytes) bytes, via \(method))")
            try await files.addFile(Self.metaPath, bytes: Array(try DRContext.jsonEncoder().encode(info)) + [10])
        }
    }

    // MARK: restore

    /// Writes the snapshot's RDB as `dump.rdb` into `directory` (REDIS_DATA_DIR unless a
    /// scratch folder is given): through a temporary file in the same folder, validated,
    /// synced, owned like the folder, then renamed into place. Refuses the live data folder
    /// while Redis is running there, since Redis would overwrite the file when it stops.
    public func restore(record: SnapshotRecord, repository: Repository, directory: String?,
                        verify: Bool) async throws -> (message: String, snapshot: ObjectID?, bytes: UInt64) {
        guard let target = directory ?? settings.dataDir else {
            throw StageError("REDIS_DATA_DIR is not set: give --redis-dir or --target")
        }
        let live = directory == nil || RedisFiles.samePath(target, settings.dataDir)
        let restart = "systemctl restart redis-server (or start redis-server with --dir \(target))"
        if live, await client.isRunning() {
            throw StageError("""
                Redis is running at \(settings.host):\(settings.port), so dump.rdb in \(target) was not replaced \
                (Redis would overwrite it when it stops). Stop it without saving (redis-cli -h \(settings.host) -p \(settings.port) \
                shutdown nosave, or systemctl stop redis-server), run `cartae-restic dr restore redis` again, then start it: \(restart)
                """)
        }
        let indexed = try await repository.loadIndex()
        let info = try DRContext.jsonDecoder().decode(
            RDBInfo.self, from: Data(try await DRContext.readSmallFile(indexed, snapshot: record, path: Self.metaPath)))
        guard let node = try await indexed.node(at: Self.dumpPath, below: record.snapshot.tree), node.type == "file" else {
            throw StageError("snapshot \(record.id.shortHex) has no \(Self.dumpPath)")
        }
        let rdb = try await RedisFiles.writeAtomically(indexed, node: node, directory: target, name: "dump.rdb")
        guard rdb.keys == info.keys else {
            throw StageError("restored RDB holds \(rdb.keys) keys, the backup recorded \(info.keys)")
        }
        if RedisFiles.hasAppendOnlyFile(target) {
            context.console.warning("redis: \(target) holds an append-only file; with appendonly yes Redis loads that instead of dump.rdb")
        }
        var message = "wrote dump.rdb (\(rdb.keys) keys, \(rdb.bytes) bytes) from snapshot \(record.id.shortHex) into \(target)"
        if live { message += "; start Redis to load it: \(restart)" }
        if verify {
            let loaded = try await RedisVerifier.loadedKeys(directory: target, fileName: "dump.rdb")
            let lowest = info.keys - info.keysWithExpiry
            guard loaded >= lowest && loaded <= info.keys else {
                throw StageError("a throwaway redis-server loaded \(loaded) keys from the restored dump.rdb, expected \(info.keys)")
            }
            message += "; verified: a throwaway redis-server loaded \(loaded) keys"
        }
        return (message, record.id, rdb.bytes)
    }
}
