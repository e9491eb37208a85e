import Foundation
import Testing
@testable import CartaeStages

@Suite struct DotEnvTests {
    @Test func readsTheUsualForms() {
        let text = """
            # comment
            export RESTIC_REPOSITORY=/srv/repo
            PLAIN = value with spaces   # trailing comment
            SINGLE='literal $HOME \\n'
            DOUBLE="line1\\nline2 \\"quoted\\""
            EMPTY=
            HASH=a#b
            MULTI="first
            second"
            """
        let (values, problems) = DotEnv.parse(text)
        #expect(problems.isEmpty)
        #expect(values["RESTIC_REPOSITORY"] == "/srv/repo")
        #expect(values["PLAIN"] == "value with spaces")
        #expect(values["SINGLE"] == "literal $HOME \\n")
        #expect(values["DOUBLE"] == "line1\nline2 \"quoted\"")
        #expect(values["EMPTY"] == "")
        #expect(values["HASH"] == "a#b")
        #expect(values["MULTI"] == "first\nsecond")
    }

    @Test func reportsEveryBadLineWithItsNumber() {
        let (values, problems) = DotEnv.parse("GOOD=1\nno equals here\n1BAD=x\nOPEN=\"never closed\nLATER=2")
        #expect(values["GOOD"] == "1")
        #expect(problems.map(\.line) == [2, 3, 4])
        #expect(problems[0].message == "expected KEY=VALUE")
        #expect(problems[1].message == "invalid variable name \"1BAD\"")
        #expect(problems[2].message.contains("unterminated"))
    }

    @Test func laterLinesWinAndCRLFIsAccepted() {
        let (values, problems) = DotEnv.parse("A=1\r\nA=2\r\n")
        #expect(problems.isEmpty)
        #expect(values["A"] == "2")
    }
}

@Suite struct DRConfigTests {
    static let minimal = ["RESTIC_REPOSITORY": "/srv/repo", "RESTIC_PASSWORD": "pw"]

    static func envFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "/cartae-env-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func problems(_ body: () throws -> DRConfig) -> [String] {
        do {
            _ = try body()
            return []
        } catch let error as DRConfigError {
            return error.problems
        } catch {
            return ["unexpected \(error)"]
        }
    }

    @Test func environmentWinsOverTheFile() throws {
        let file = try Self.envFile("""
            RESTIC_REPOSITORY=/from/file
            RESTIC_PASSWORD=file-pw
            POSTGRES_DB=filedb
            POSTGRES_PORT=6000
            KEEP_DAILY=3
            """)
        defer { unlink(file) }
        let config = try DRConfig.load(environment: ["RESTIC_REPOSITORY": "/from/env", "POSTGRES_PORT": "7000"],
                                       envFile: file, explicit: true, stages: nil, named: false)
        #expect(config.repository == "/from/env")
        #expect(config.password == "file-pw")
        #expect(config.postgres?.port == 7000)
        #expect(config.postgres?.databases == ["filedb"])
        #expect(config.keepDaily == 3)
        #expect(config.keepWeekly == 4 && config.keepMonthly == 12)
    }

    @Test func defaultsAndAliases() throws {
        let config = try DRConfig.load(environment: ["RESTIC_BACKUP_PATH": "/b", "RESTIC_PASSWORD": "x",
                                                     "POSTGRES_DB": " a , b ,", "BACKUP_VOLUMES": "/v1,/v2", "RESTIC_HOST": "h1"],
                                       envFile: nil, explicit: false, stages: StageKind.allCases, named: false)
        #expect(config.repository == "/b")
        #expect(config.host == "h1")
        #expect(config.postgres == DRConfig.PostgresSettings(host: "localhost", port: 5432, user: "postgres", password: nil, databases: ["a", "b"]))
        #expect(config.redis == nil)
        #expect(config.volumes == ["/v1", "/v2"])
        #expect(config.configuredStages == [.postgres, .volumes])
        #expect(config.checkSubset == "10%")
        #expect(config.logDir == "./logs")
        #expect(config.backupSchedule.text == "0 2 * * *")
        #expect(config.checkSchedule.text == "0 3 * * 0")
        #expect(config.pruneSchedule.text == "0 4 1 * *")
    }

    @Test func everyProblemIsListedAtOnce() throws {
        let file = try Self.envFile("BROKEN LINE\nREDIS_HOST=r\n")
        defer { unlink(file) }
        let problems = Self.problems {
            try DRConfig.load(environment: ["POSTGRES_DB": "app", "POSTGRES_PORT": "99999", "REDIS_PORT": "abc",
                                            "KEEP_DAILY": "-1", "KEEP_WEEKLY": "many", "CHECK_SUBSET": "200%",
                                            "PUSHGATEWAY_URL": "localhost:9091", "BACKUP_SCHEDULE": "0 25 * * *",
                                            "BACKUP_VOLUMES": "relative/path", "REDIS_DATA_DIR": "data"],
                              envFile: file, explicit: true, stages: StageKind.allCases, named: false)
        }
        #expect(problems.count == 12)
        let expected = ["line 1: expected KEY=VALUE", "RESTIC_REPOSITORY (or RESTIC_BACKUP_PATH): missing",
                        "RESTIC_PASSWORD or RESTIC_PASSWORD_FILE: missing", "POSTGRES_PORT: \"99999\"",
                        "REDIS_PORT: \"abc\"", "REDIS_DATA_DIR: \"data\"", "BACKUP_VOLUMES: \"relative/path\"",
                        "KEEP_DAILY: \"-1\"", "KEEP_WEEKLY: \"many\"", "CHECK_SUBSET: \"200%\"",
                        "PUSHGATEWAY_URL: \"localhost:9091\"", "BACKUP_SCHEDULE: \"0 25 * * *\": hour"]
        for fragment in expected {
            #expect(problems.contains { $0.contains(fragment) }, "missing: \(fragment) in \(problems)")
        }
        let message = DRConfigError(problems: problems).description
        #expect(message.hasPrefix("invalid configuration (12 problems):\n  - "))
    }

    @Test func aNamedStageNeedsItsVariables() {
        let postgres = Self.problems {
            try DRConfig.load(environment: Self.minimal, envFile: nil, explicit: false, stages: [.postgres], named: true)
        }
        #expect(postgres == ["POSTGRES_DB: missing (required for the postgres stage)"])
        let all = Self.problems {
            try DRConfig.load(environment: Self.minimal, envFile: nil, explicit: false, stages: StageKind.allCases, named: false)
        }
        #expect(all == ["no stage is configured: set POSTGRES_DB, REDIS_HOST and/or BACKUP_VOLUMES"])
        // Commands that only need the repository do not ask for stages.
        #expect(Self.problems { try DRConfig.load(environment: Self.minimal, envFile: nil, explicit: false, stages: nil, named: false) }.isEmpty)
    }

    @Test func passwordFileAndMissingEnvFile() throws {
        let file = try Self.envFile("  s3cret \n")
        defer { unlink(file) }
        let config = try DRConfig.load(environment: ["RESTIC_REPOSITORY": "/r", "RESTIC_PASSWORD_FILE": file],
                                       envFile: "/nonexistent/.env", explicit: false, stages: nil, named: false)
        #expect(config.password == "s3cret")
        let problems = Self.problems {
            try DRConfig.load(environment: Self.minimal, envFile: "/nonexistent/.env", explicit: true, stages: nil, named: false)
        }
        #expect(problems == ["--env-file: cannot read /nonexistent/.env"])
        let unreadable = Self.problems {
            try DRConfig.load(environment: ["RESTIC_REPOSITORY": "/r", "RESTIC_PASSWORD_FILE": "/nonexistent/pw"],
                              envFile: nil, explicit: false, stages: nil, named: false)
        }
        #expect(unreadable == ["RESTIC_PASSWORD_FILE: cannot read /nonexistent/pw"])
    }

    @Test func secretsNeverAppearInProblems() {
        let problems = Self.problems {
            try DRConfig.load(environment: ["RESTIC_PASSWORD": "hunter2", "POSTGRES_PASSWORD": "pgsecret",
                                            "REDIS_PASSWORD": "redissecret", "POSTGRES_DB": "a", "POSTGRES_PORT": "x"],
                              envFile: nil, explicit: false, stages: nil, named: false)
        }
        #expect(!problems.isEmpty)
        #expect(!problems.joined().contains("hunter2") && !problems.joined().contains("secret"))
    }
}
