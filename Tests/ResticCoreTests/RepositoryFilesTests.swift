import Testing
@testable import ResticCore

/// Snapshot, config, key, master key and lock files.
@Suite struct RepositoryFilesTests {
    func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    static let snapshots: [[UInt8]] = [RepoFixtures.snapshot_6a801d22, RepoFixtures.snapshot_88faf1ec,
                                       RepoFixtures.snapshot_d1c6ca81, RepoFixtures.snapshot_da1e38c8, GoVectors.snapshotFull]

    @Test(arguments: snapshots)
    func snapshotRoundTrip(bytes: [UInt8]) throws {
        let sn = try Snapshot.decode(bytes)
        #expect(text(sn.encode()) == text(bytes))
        #expect(try Snapshot.decode(sn.encode()) == sn)
    }

    @Test func snapshotFieldsFromRestic() throws {
        let withParent = try Snapshot.decode(RepoFixtures.snapshot_6a801d22)
        #expect(withParent.parent?.hex == "da1e38c8fe6f47b8988e1ef3d1bbb4f8a47f2d37a07abe2571bbeb2a37c0d80c")
        #expect(withParent.tree.hex == "5014dcd21cf46c0cda5fac886cb93706e927e269bf392cfcb59b0e1aa484a001")
        #expect(withParent.time.utcOffset == 19800 && withParent.time.nanoseconds == 327_247_915)
        #expect(withParent.paths == ["/tmp/fmtfix/src"] && withParent.hostname == "testhost" && withParent.uid == 0)
        #expect(try Snapshot.decode(RepoFixtures.snapshot_d1c6ca81).excludes == ["*.bin"])
        #expect(try Snapshot.decode(RepoFixtures.snapshot_da1e38c8).tags == ["t1", "t2"])
    }

    @Test func snapshotBuiltInSwiftMatchesGo() throws {
        let t1 = GoTime(seconds: 1_700_000_000, nanoseconds: 120_000_000, utcOffset: 19800)
        let a = ObjectID(bytes: (0..<32).map { UInt8($0) }), b = ObjectID(bytes: (0..<32).map { UInt8(255 - $0) })
        var sum = SnapshotSummary(backupStart: t1, backupEnd: GoTime(seconds: 1_700_000_001, nanoseconds: 620_000_000, utcOffset: 19800))
        sum.filesNew = 1; sum.filesChanged = 2; sum.filesUnmodified = 3; sum.dirsNew = 4; sum.dirsChanged = 5
        sum.dirsUnmodified = 6; sum.dataBlobs = 7; sum.treeBlobs = 8; sum.dataAdded = 1 << 40; sum.dataAddedPacked = 12345
        sum.totalFilesProcessed = 10; sum.totalBytesProcessed = UInt64.max
        let sn = Snapshot(time: t1, tree: a, paths: ["/home/<me>", "/srv/a&b"], hostname: "host", username: "user",
                          uid: 1000, gid: 1000, parent: b, excludes: ["*.tmp"], tags: ["a", "b"], original: b,
                          programVersion: "restic 0.17.3", summary: sum)
        #expect(text(sn.encode()) == text(GoVectors.snapshotFull))
        let minimal = Snapshot(time: .goZero, tree: a, paths: [])
        #expect(text(minimal.encode()) == #"{"time":"0001-01-01T00:00:00Z","tree":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f","paths":[]}"#)
    }

    @Test func snapshotWithoutTreeIsRejected() {
        #expect(throws: FormatError.self) { try Snapshot.decode(Array(#"{"time":"2016-09-18T18:22:23Z","paths":["/"]}"#.utf8)) }
        #expect(throws: FormatError.self) { try Snapshot.decode(Array(#"{"tree":null,"paths":["/"]}"#.utf8)) }
    }

    @Test func configRoundTripAndVectors() throws {
        let cfg = try RepositoryConfig.decode(RepoFixtures.config)
        #expect(cfg.version == 2 && cfg.chunkerPolynomial == 0x36606a91386b7d)
        #expect(cfg.encode() == RepoFixtures.config)
        let notes = Array(#"{"version":1,"id":"71ca3a60bc97cdebba08b9305d74c32a54f7936869a0fa95829dbd71111af7d8","chunker_polynomial":"384b4ee69c10f5"}"#.utf8)
        let old = try RepositoryConfig.decode(notes + [0x0A])  // 2015-era files end with a newline
        #expect(old.version == 1 && old.chunkerPolynomial == 0x384b4ee69c10f5)
        #expect(old.encode() == notes)
        #expect(try RepositoryConfig.decode(Array(#"{"version":2,"id":"x","chunker_polynomial":"ABCDEF"}"#.utf8)).chunkerPolynomial == 0xABCDEF)
    }

    @Test(arguments: [
        #"{"version":3,"id":"x","chunker_polynomial":"1"}"#, #"{"version":0,"id":"x","chunker_polynomial":"1"}"#,
        #"{"id":"x","chunker_polynomial":"1"}"#, #"{"version":1,"chunker_polynomial":"1"}"#,
        #"{"version":1,"id":"","chunker_polynomial":"1"}"#, #"{"version":1,"id":"x"}"#,
        #"{"version":1,"id":"x","chunker_polynomial":"0x1"}"#, #"{"version":1,"id":"x","chunker_polynomial":""}"#,
        #"{"version":1,"id":"x","chunker_polynomial":"11111111111111111"}"#, #"{"version":1,"id":"x","chunker_polynomial":17}"#,
        #"{"version":"1","id":"x","chunker_polynomial":"1"}"#, #"{"version":-1,"id":"x","chunker_polynomial":"1"}"#,
    ])
    func configRejects(json: String) {
        #expect(throws: FormatError.self) { try RepositoryConfig.decode(Array(json.utf8)) }
    }

    static let notesKeyFile = Array(#"{"created":"2016-09-18T18:22:23.991085161+02:00","username":"fd0","hostname":"mopped","kdf":"scrypt","N":128,"r":1,"p":1,"salt":"IdRzINnXykIHn3F98mHV6wY04p5ymaji6vlqA75y/edei9btmS4yHvCylyzrjzegzlteunS97pdauzSMezlZHg==","data":"CjMh0oYBlQELjbELL5MDHvnAN3bmAzFjHslg9Ro5Q+fjMRAwytAXH3OnlU9ax0O6JoUlsFVdMi3IX+XsYcz1/kN1nicrHmkQiODISZONN6XS5pWhjk7tzeQfmkt/nOk/bHWTJHseTz3d59HMRYrgk0c5He+ufU1yGEns9tdp5tdweHW3xw6jV6AnsO1BcPQ7Qmbgvhcnvl6a7dNd6LkI/A=="}"#.utf8)

    @Test func keyFilesRoundTrip() throws {
        let k = try KeyFile.decode(Self.notesKeyFile)
        #expect(k.n == 128 && k.r == 1 && k.p == 1 && k.salt.count == 64 && k.username == "fd0" && k.hostname == "mopped")
        #expect(k.data.count == 16 + 128 + 16)  // IV, the 128-byte master key JSON, MAC
        #expect(k.createdTime?.nanoseconds == 991_085_161)
        #expect(k.encode() == Self.notesKeyFile)
        let mine = try KeyFile.decode(RepoFixtures.keyFile)
        #expect(mine.n == 32768 && mine.r == 8 && mine.p == 9)
        #expect(mine.encode() == RepoFixtures.keyFile)
    }

    @Test func keyFileRejects() {
        let argon = Array(#"{"created":"2016-09-18T18:22:23Z","kdf":"argon2","N":1,"r":1,"p":1,"salt":"","data":""}"#.utf8)
        #expect(throws: FormatError.self) { try KeyFile.decode(argon) }
        do {
            _ = try KeyFile.decode(argon)
        } catch {
            #expect("\(error)".contains("argon2") && "\(error)".contains("scrypt"))
        }
        #expect(throws: FormatError.self) { try KeyFile.decode(Array(#"{"created":"yesterday","kdf":"scrypt"}"#.utf8)) }
        #expect(throws: FormatError.self) { try KeyFile.decode(Array(#"{"kdf":"scrypt","salt":"%%%"}"#.utf8)) }
        #expect(throws: FormatError.self) { try KeyFile.decode(Array(#"{"kdf":"scrypt","N":1.5}"#.utf8)) }
    }

    @Test func masterKeyJSON() throws {
        let key = MasterKeyJSON(encrypt: hex("a2d3153d282c1c3913d1f0cf64fd5e2c7ceefe60f0c03164e84904ad3fe951ea"),
                                macK: hex("09818a3ee32f8331fe5c3c6dea9af0f6"), macR: hex("01b2990decbb910fbc798200b469540c"))
        let json = key.encode()
        #expect(text(json) == #"{"mac":{"k":"CYGKPuMvgzH+XDxt6prw9g==","r":"AbKZDey7kQ+8eYIAtGlUDA=="},"encrypt":"otMVPSgsHDkT0fDPZP1eLHzu/mDwwDFk6EkErT/pUeo="}"#)
        #expect(json.count == 128)
        #expect(try MasterKeyJSON.decode(json) == key)
        #expect(throws: FormatError.self) { try MasterKeyJSON.decode(Array(#"{"mac":{"k":"AAAA","r":"AbKZDey7kQ+8eYIAtGlUDA=="},"encrypt":"otMVPSgsHDkT0fDPZP1eLHzu/mDwwDFk6EkErT/pUeo="}"#.utf8)) }
        #expect(throws: FormatError.self) { try MasterKeyJSON.decode(Array(#"{"mac":{"k":"AAAAAAAAAAAAAAAAAAAAAA==","r":"AbKZDey7kQ+8eYIAtGlUDA=="},"encrypt":"otMVPSgsHDkT0fDPZP1eLHzu/mDwwDFk6EkErT/pUeo="}"#.utf8)) }
    }

    @Test func lockFiles() throws {
        let lock = try LockFile.decode(GoVectors.lockWithIDs)
        #expect(lock.exclusive && lock.pid == 4242 && lock.uid == 1000 && lock.gid == 1001)
        #expect(lock.encode() == GoVectors.lockWithIDs)
        let t = try #require(GoTime(rfc3339: "2026-11-26T20:58:07.582743708+05:30"))
        let mine = LockFile(time: t, exclusive: false, hostname: "vm", username: "root", pid: 5533)
        let json = #"{"time":"2026-11-26T20:58:07.582743708+05:30","exclusive":false,"hostname":"vm","username":"root","pid":5533}"#
        #expect(text(mine.encode()) == json)
        #expect(try LockFile.decode(Array(json.utf8)) == mine)
        #expect(throws: FormatError.self) { try LockFile.decode(Array(#"{"exclusive":"yes"}"#.utf8)) }
    }

    private func hex(_ s: String) -> [UInt8] {
        let c = Array(s.utf8)
        return stride(from: 0, to: c.count, by: 2).map { UInt8(GoStrconv.hexValue(c[$0])! << 4 | GoStrconv.hexValue(c[$0 + 1])!) }
    }
}
