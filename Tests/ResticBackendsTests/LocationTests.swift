import Testing
import ResticCore
@testable import ResticBackends

/// Location strings as restic spells them, options, and credential hygiene.
@Suite struct LocationTests {
    @Test(arguments: [
        ("s3://eu-central-1/bucketname", "eu-central-1", false, "bucketname", ""),
        ("s3://hostname.foo/bucketname", "hostname.foo", false, "bucketname", ""),
        ("s3://hostname.foo/bucketname/prefix/directory", "hostname.foo", false, "bucketname", "prefix/directory"),
        ("s3:eu-central-1/repo", "eu-central-1", false, "repo", ""),
        ("s3:s3.amazonaws.com/bucket/restic", "s3.amazonaws.com", false, "bucket", "restic"),
        ("s3:https://hostname:9999/foobar", "hostname:9999", false, "foobar", ""),
        ("s3:http://hostname:9999/foobar/prefix/directory", "hostname:9999", true, "foobar", "prefix/directory"),
        ("s3:https://hostname/foobar/prefix/directory/", "hostname", false, "foobar", "prefix/directory"),
        ("s3:http://127.0.0.1:9000/bucket//a/./b", "127.0.0.1:9000", true, "bucket", "a/b"),
    ])
    func s3Locations(_ text: String, endpoint: String, useHTTP: Bool, bucket: String, prefix: String) throws {
        let configuration = try S3Configuration.parse(text)
        #expect(configuration.endpoint == endpoint)
        #expect(configuration.useHTTP == useHTTP)
        #expect(configuration.bucket == bucket)
        #expect(configuration.prefix == prefix)
    }

    @Test(arguments: ["s3:", "s3:https://hostname:9999", "s3:https://hostname:9999/", "s3:host", "s3:/bucket",
                      "s3:http://h/b/../x", "s3:http://key:secret@h/b"])
    func badS3Locations(_ text: String) {
        #expect(throws: ResticError.self) { try S3Configuration.parse(text) }
    }

    @Test func s3Options() throws {
        var configuration = try S3Configuration.parse("s3:s3.amazonaws.com/bucket")
        try configuration.apply(option: "region", value: "eu-west-3")
        try configuration.apply(option: "bucket-lookup", value: "path")
        try configuration.apply(option: "connections", value: "9")
        #expect(configuration.region == "eu-west-3")
        #expect(configuration.bucketLookup == .path)
        #expect(configuration.connections == 9)
        #expect(throws: ResticError.self) { try configuration.apply(option: "bucket-lookup", value: "sideways") }
        #expect(throws: ResticError.self) { try configuration.apply(option: "nonsense", value: "1") }
        #expect(throws: ResticError.self) { try configuration.apply(option: "connections", value: "0") }
    }

    @Test func regions() throws {
        #expect(S3Configuration.regionFromEndpoint("s3.eu-west-1.amazonaws.com") == "eu-west-1")
        #expect(S3Configuration.regionFromEndpoint("s3-us-west-2.amazonaws.com") == "us-west-2")
        #expect(S3Configuration.regionFromEndpoint("s3.dualstack.ap-south-1.amazonaws.com") == "ap-south-1")
        #expect(S3Configuration.regionFromEndpoint("s3.amazonaws.com") == nil)
        #expect(S3Configuration.regionFromEndpoint("127.0.0.1:9000") == nil)
        let plain = try S3Configuration.parse("s3:http://127.0.0.1:9000/b")
        #expect(plain.initialRegion(environment: [:]) == "us-east-1")
        #expect(plain.initialRegion(environment: ["AWS_DEFAULT_REGION": "eu-north-1"]) == "eu-north-1")
        var explicit = plain
        explicit.region = "sa-east-1"
        #expect(explicit.initialRegion(environment: ["AWS_DEFAULT_REGION": "eu-north-1"]) == "sa-east-1")
        #expect(try S3Configuration.parse("s3:s3.eu-west-1.amazonaws.com/b").initialRegion(environment: [:]) == "eu-west-1")
    }

    @Test func bucketLookup() throws {
        #expect(try S3Configuration.parse("s3:s3.amazonaws.com/bucket").usesVirtualHost)
        #expect(try !S3Configuration.parse("s3:s3.amazonaws.com/my.dotted.bucket").usesVirtualHost)
        #expect(try !S3Configuration.parse("s3:http://127.0.0.1:9000/bucket").usesVirtualHost)
        var forced = try S3Configuration.parse("s3:http://minio.local:9000/bucket")
        forced.bucketLookup = .dns
        #expect(forced.usesVirtualHost)
    }

    @Test func restURL() throws {
        let url = try HTTPURL.parse("https://us%40er:p%3Ass:w@host.example:8000/some/repo/", what: "rest")
        #expect(url.user == "us@er")
        #expect(url.password == "p:ss:w")
        #expect(url.hostPort == "host.example:8000")
        #expect(url.path == "/some/repo")
        #expect(url.redacted == "https://host.example:8000/some/repo")
        #expect(try HTTPURL.parse("http://[::1]:8000", what: "rest").hostPort == "[::1]:8000")
        #expect(throws: ResticError.self) { try HTTPURL.parse("ftp://host/x", what: "rest") }
        #expect(throws: ResticError.self) { try HTTPURL.parse("http:///x", what: "rest") }
        #expect(throws: ResticError.self) { try HTTPURL.parse("http://host/x?y=1", what: "rest") }
        #expect(HTTPURL.redact("http://user:secret@host:1/p@q") == "http://***@host:1/p@q")
    }

    @Test func locationsNeverShowCredentials() throws {
        let rest = try BackendFactory.open(location: "rest:http://alice:hunter2@127.0.0.1:8000/repo")
        #expect(rest.backend.location == "rest:http://127.0.0.1:8000/repo")
        let s3 = try BackendFactory.open(location: "s3:http://127.0.0.1:9000/bucket/prefix",
                                         environment: ["AWS_ACCESS_KEY_ID": "AKIDSECRETID", "AWS_SECRET_ACCESS_KEY": "hunter2"])
        #expect(s3.backend.location == "s3:http://127.0.0.1:9000/bucket/prefix")
        do {
            _ = try BackendFactory.open(location: "rest:ftp://alice:hunter2@host/x")
            Issue.record("an ftp URL was accepted")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
        do {
            _ = try BackendFactory.open(location: "sftp:alice:hunter2@host:/x")
            Issue.record("sftp was accepted")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
            #expect("\(error)".contains("not supported"))
        }
    }

    @Test func restCredentialsFromEnvironment() throws {
        let backend = try RESTBackend(address: "http://127.0.0.1:1/r", username: "bob", password: "pw")
        #expect(backend.url.user == "bob")
        #expect(backend.url.password == "pw")
        #expect(!backend.location.contains("bob"))
    }

    @Test func localLocations() throws {
        let plain = try BackendFactory.open(location: "/tmp/some/repo/")
        #expect(plain.backend.location == "/tmp/some/repo")
        let prefixed = try BackendFactory.open(location: "local:/tmp/other")
        #expect(prefixed.backend.location == "/tmp/other")
        // Options of backends not in use are ignored, as restic does.
        let ignoring = try BackendFactory.open(location: "/tmp/x", options: ["s3.region=eu-west-1", "rest.connections=3"])
        #expect(ignoring.backend.connections == 2)
        let limited = try BackendFactory.open(location: "/tmp/x", options: ["local.connections=7"])
        #expect(limited.backend.connections == 7)
    }

    @Test func connectionOptions() throws {
        #expect(try BackendFactory.open(location: "rest:http://h:1/r").backend.connections == 5)
        #expect(try BackendFactory.open(location: "rest:http://h:1/r", options: ["rest.connections=3"]).backend.connections == 3)
        #expect(try BackendFactory.open(location: "rest:http://h:1/r", options: ["connections=11"]).backend.connections == 11)
        #expect(try BackendFactory.open(location: "s3:http://h:1/b", options: ["s3.connections=2"]).backend.connections == 2)
        for bad in ["connections=0", "connections=x", "rest.unknown=1", "retry.nonsense=1", "http.timeout=soon", "novalue"] {
            #expect(throws: ResticError.self, "\(bad)") {
                try BackendFactory.open(location: "rest:http://h:1/r", options: [bad])
            }
        }
    }

    @Test func durations() throws {
        #expect(try BackendOptions.duration("30s", key: "k") == .seconds(30))
        #expect(try BackendOptions.duration("2m", key: "k") == .seconds(120))
        #expect(try BackendOptions.duration("250ms", key: "k") == .milliseconds(250))
        #expect(try BackendOptions.duration("1.5", key: "k") == .milliseconds(1500))
        #expect(throws: ResticError.self) { try BackendOptions.duration("-1s", key: "k") }
    }

    @Test func awsCredentials() throws {
        let fromEnvironment = try AWSCredentialSource.resolve(environment: [
            "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"])
        #expect(fromEnvironment?.accessKeyID == "id")
        #expect(fromEnvironment?.sessionToken == "token")
        #expect(throws: ResticError.self) { try AWSCredentialSource.resolve(environment: ["AWS_ACCESS_KEY_ID": "id"]) }
        #expect(try AWSCredentialSource.resolve(environment: ["HOME": "/nonexistent-home"]) == nil)
        let file = """
        [default]
        aws_access_key_id = DEFAULTID
        aws_secret_access_key = defaultsecret

        [work]
        # comment
        aws_access_key_id=WORKID
        aws_secret_access_key=worksecret
        aws_session_token = worktoken
        """
        #expect(AWSCredentialSource.parse(file, profile: "default")?.accessKeyID == "DEFAULTID")
        let work = AWSCredentialSource.parse(file, profile: "work")
        #expect(work?.accessKeyID == "WORKID")
        #expect(work?.secretAccessKey == "worksecret")
        #expect(work?.sessionToken == "worktoken")
        #expect(AWSCredentialSource.parse(file, profile: "missing") == nil)
    }
}
