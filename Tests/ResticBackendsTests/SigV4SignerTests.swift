import Testing
@testable import ResticBackends

/// Known answers from AWS: the Signature Version 4 test suite (service "service") and the
/// worked examples of the S3 API reference ("Signature Calculations for the Authorization Header").
@Suite struct SigV4SignerTests {
    let suite = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE",
                                                        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                            region: "us-east-1", service: "service")
    let s3 = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                                     secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                         region: "us-east-1")
    let suiteHeaders = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
    let emptyHash = SigV4Signer.emptyPayloadHash

    func signature(_ authorization: String) -> String {
        String(authorization.split(separator: "=").last ?? "")
    }

    @Test func getVanilla() {
        let authorization = suite.authorization(method: "GET", canonicalURI: "/", query: [], headers: suiteHeaders,
                                                payloadHash: emptyHash, amzDate: "20150830T123600Z")
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func getVanillaCanonicalRequest() {
        let (canonical, signed) = SigV4Signer.canonicalRequest(method: "GET", canonicalURI: "/", query: [],
                                                               headers: suiteHeaders, payloadHash: emptyHash)
        #expect(canonical == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptyHash)
        #expect(signed == "host;x-amz-date")
    }

    @Test func queryOrderKeyCase() {
        let authorization = suite.authorization(method: "GET", canonicalURI: "/", query: [("Param2", "value2"), ("Param1", "value1")],
                                                headers: suiteHeaders, payloadHash: emptyHash, amzDate: "20150830T123600Z")
        #expect(signature(authorization) == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func postVanilla() {
        let authorization = suite.authorization(method: "POST", canonicalURI: "/", query: [], headers: suiteHeaders,
                                                payloadHash: emptyHash, amzDate: "20150830T123600Z")
        #expect(signature(authorization) == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    @Test func s3RangedGetObject() {
        let headers = [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                       ("x-amz-content-sha256", emptyHash), ("x-amz-date", "20130524T000000Z")]
        let (canonical, _) = SigV4Signer.canonicalRequest(method: "GET", canonicalURI: "/test.txt", query: [],
                                                          headers: headers, payloadHash: emptyHash)
        #expect(SigV4Signer.hex(ResticCryptoBridge.sha256(canonical)) == "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
        let authorization = s3.authorization(method: "GET", canonicalURI: "/test.txt", query: [], headers: headers,
                                             payloadHash: emptyHash, amzDate: "20130524T000000Z")
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func s3PutObjectWithEscapedKey() {
        let payloadHash = SigV4Signer.hex(ResticCryptoBridge.sha256("Welcome to Amazon S3."))
        #expect(payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let uri = "/" + URIEncoding.encode("test$file.text", keepSlash: true)
        #expect(uri == "/test%24file.text")
        let headers = [("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                       ("x-amz-content-sha256", payloadHash), ("x-amz-date", "20130524T000000Z"),
                       ("x-amz-storage-class", "REDUCED_REDUNDANCY")]
        let authorization = s3.authorization(method: "PUT", canonicalURI: uri, query: [], headers: headers,
                                             payloadHash: payloadHash, amzDate: "20130524T000000Z")
        #expect(authorization.contains("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"))
        #expect(signature(authorization) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func s3BucketQueries() {
        let headers = [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", emptyHash),
                       ("x-amz-date", "20130524T000000Z")]
        let lifecycle = s3.authorization(method: "GET", canonicalURI: "/", query: [("lifecycle", "")], headers: headers,
                                         payloadHash: emptyHash, amzDate: "20130524T000000Z")
        #expect(signature(lifecycle) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        let list = s3.authorization(method: "GET", canonicalURI: "/", query: [("prefix", "J"), ("max-keys", "2")],
                                    headers: headers, payloadHash: emptyHash, amzDate: "20130524T000000Z")
        #expect(signature(list) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func headerValuesAreTrimmed() {
        #expect(SigV4Signer.trimmed("  a   b \t c  ") == "a b c")
        #expect(SigV4Signer.trimmed("") == "")
    }

    @Test func queryValuesAreEscaped() {
        let (canonical, _) = SigV4Signer.canonicalRequest(method: "GET", canonicalURI: "/b", query: [("prefix", "a b/c"), ("continuation-token", "x+y=")],
                                                          headers: [("Host", "h")], payloadHash: emptyHash)
        #expect(canonical.split(separator: "\n")[2] == "continuation-token=x%2By%3D&prefix=a%20b%2Fc")
    }

    @Test(arguments: [
        (Int64(1_440_938_160), "20150830T123600Z"),
        (Int64(1_369_353_600), "20130524T000000Z"),
        (Int64(0), "19700101T000000Z"),
        (Int64(1_709_164_800), "20240229T000000Z"),
        (Int64(951_868_799), "20000229T235959Z"),
        (Int64(4_102_444_800), "21000101T000000Z"),
    ])
    func amzDate(unixTime: Int64, expected: String) {
        #expect(SigV4Signer.amzDate(unixTime: unixTime) == expected)
    }

    @Test func credentialsNeverPrintTheSecret() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "very-secret", sessionToken: "token-secret")
        #expect(!"\(credentials)".contains("very-secret"))
        #expect(!"\(credentials)".contains("token-secret"))
    }
}
