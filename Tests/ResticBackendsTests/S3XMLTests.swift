import Testing
@testable import ResticBackends

@Suite struct S3XMLTests {
    @Test func listPageWithContinuation() throws {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>repo/data/</Prefix>\
        <KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>\
        <Contents><Key>repo/data/ab/ab01</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>\
        <Contents><Key>repo/data/cd/a&amp;b</Key><Size>0</Size></Contents>\
        <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&amp;</NextContinuationToken></ListBucketResult>
        """
        let page = try S3XML.listPage(Array(xml.utf8))
        #expect(page.objects.map(\.key) == ["repo/data/ab/ab01", "repo/data/cd/a&b"])
        #expect(page.objects.map(\.size) == [1234, 0])
        #expect(page.isTruncated)
        #expect(page.nextToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&")
    }

    @Test func emptyLastPage() throws {
        let xml = "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>"
        let page = try S3XML.listPage(Array(xml.utf8))
        #expect(page.objects.isEmpty)
        #expect(!page.isTruncated)
        #expect(page.nextToken == nil)
    }

    @Test func refusesBrokenListings() {
        #expect(throws: S3XML.ParseError.self) { try S3XML.listPage(Array("<html>proxy error</html>".utf8)) }
        #expect(throws: S3XML.ParseError.self) {
            try S3XML.listPage(Array("<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>".utf8))
        }
        #expect(throws: S3XML.ParseError.self) {
            try S3XML.listPage(Array("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>".utf8))
        }
    }

    @Test func errorDocument() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist &lt;x&gt;</Message><BucketName>b</BucketName></Error>"
        #expect(S3XML.errorBody(Array(xml.utf8)) == S3XML.ErrorBody(code: "NoSuchBucket", message: "The specified bucket does not exist <x>"))
        #expect(S3XML.errorBody(Array("Internal Server Error".utf8)) == nil)
        #expect(S3XML.errorBody([]) == nil)
    }

    @Test func entities() {
        #expect(S3XML.decodeEntities("a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;"[...]) == "a&b<>\"'AB")
        #expect(S3XML.decodeEntities("no &entity; here & there"[...]) == "no &entity; here & there")
    }

    @Test func locationConstraint() {
        #expect(S3XML.locationConstraint(Array("<LocationConstraint xmlns=\"x\">eu-west-1</LocationConstraint>".utf8)) == "eu-west-1")
        #expect(S3XML.locationConstraint(Array("<LocationConstraint/>".utf8)) == "")
    }
}
