import Foundation
import Testing
@testable import ResticCore

@Suite struct GoTimeTests {
    @Test(arguments: [
        ("2016-09-18T18:22:23.991085161+02:00", Int64(1_474_215_743), Int32(991_085_161), Int32(7200)),
        ("2016-09-18T18:22:23Z", 1_474_222_943, 0, 0),
        ("2026-11-26T11:57:59.434910754-03:30", 1_795_706_879, 434_910_754, -12600),
        ("2016-09-18T15:52:23.99108516-02:30", 1_474_222_943, 991_085_160, -9000),
        ("0001-01-01T00:00:00Z", -62_135_596_800, 0, 0),
        ("1901-12-13T20:45:52Z", -2_147_483_648, 0, 0),
        ("9999-12-31T23:59:59.999999999Z", 253_402_300_799, 999_999_999, 0),
        ("2023-11-15T03:43:20.12+05:30", 1_700_000_000, 120_000_000, 19800),
        ("1970-01-01T00:00:00.000000001Z", 0, 1, 0),
    ])
    func parseAndFormat(text: String, seconds: Int64, nanos: Int32, offset: Int32) throws {
        let t = try #require(GoTime(rfc3339: text))
        #expect(t.seconds == seconds)
        #expect(t.nanoseconds == nanos)
        #expect(t.utcOffset == offset)
        #expect(t.rfc3339 == text)
        #expect(GoTime(seconds: seconds, nanoseconds: nanos, utcOffset: offset).rfc3339 == text)
    }

    @Test func canonicalisesLikeGo() throws {
        // Go drops trailing zeros, writes Z for a zero offset and truncates beyond nine digits.
        #expect(GoTime(rfc3339: "2016-09-18T18:22:23.500000000+00:00")?.rfc3339 == "2016-09-18T18:22:23.5Z")
        #expect(GoTime(rfc3339: "2016-09-18T18:22:23.000Z")?.rfc3339 == "2016-09-18T18:22:23Z")
        #expect(GoTime(rfc3339: "2016-09-18T18:22:23.1234567891+01:00")?.nanoseconds == 123_456_789)
        #expect(GoTime(rfc3339: "2016-09-18T18:22:23-00:00")?.rfc3339 == "2016-09-18T18:22:23Z")
        // An offset with seconds is printed as hours:minutes, sign from the minutes (Go's rule).
        #expect(GoTime(seconds: 0, nanoseconds: 0, utcOffset: -30).rfc3339 == "1969-12-31T23:59:30+00:00")
        #expect(GoTime(seconds: 0, nanoseconds: 0, utcOffset: -90).rfc3339 == "1969-12-31T23:58:30-00:01")
    }

    @Test(arguments: ["", "2016-09-18", "2016-09-18T18:22:23", "2016-09-18 18:22:23Z", "2016-09-18t18:22:23Z",
                      "2016-09-18T18:22:23z", "2016-13-01T00:00:00Z", "2015-02-29T00:00:00Z", "2016-04-31T00:00:00Z",
                      "2016-09-18T24:00:00Z", "2016-09-18T23:60:00Z", "2016-09-18T23:59:60Z", "2016-09-18T23:59:59.Z",
                      "2016-09-18T23:59:59+0200", "2016-09-18T23:59:59+02:60", "2016-09-18T23:59:59Z ", "-2016-09-18T23:59:59Z",
                      "2016-09-18T23:59:59.5", "２016-09-18T23:59:59Z"])
    func rejectsInvalid(text: String) {
        #expect(GoTime(rfc3339: text) == nil)
    }

    @Test func leapDayAccepted() {
        #expect(GoTime(rfc3339: "2016-02-29T12:00:00Z") != nil)
        #expect(GoTime(rfc3339: "2000-02-29T12:00:00Z") != nil)
        #expect(GoTime(rfc3339: "1900-02-29T12:00:00Z") == nil)
    }

    @Test func comparisonByInstant() throws {
        let a = try #require(GoTime(rfc3339: "2016-09-18T18:22:23+02:00"))
        let b = try #require(GoTime(rfc3339: "2016-09-18T16:22:23Z"))
        #expect(!(a < b) && !(b < a))
        #expect(a != b)  // same instant, different rendering
        #expect(a.withUTCOffset(0) == b)
        let later = GoTime(seconds: b.seconds, nanoseconds: 1, utcOffset: 0)
        #expect(b < later)
    }

    @Test func clampForJSONLikeFixTime() {
        let beforeYearZero = GoTime(seconds: GoTime.daysFromCivil(-5, 6, 15) * 86400 + 3600, nanoseconds: 5, utcOffset: 0)
        #expect(beforeYearZero.clampedForJSON.rfc3339 == "0000-06-15T01:00:00.000000005Z")
        let farFuture = GoTime(seconds: GoTime.daysFromCivil(12000, 2, 29) * 86400, nanoseconds: 0, utcOffset: 3600)
        #expect(farFuture.clampedForJSON.rfc3339 == "9999-03-01T01:00:00+01:00")
        let normal = GoTime(seconds: 1, nanoseconds: 0, utcOffset: 0)
        #expect(normal.clampedForJSON == normal)
        var w = GoJSONWriter()
        w.time(farFuture)
        #expect(String(decoding: w.bytes, as: UTF8.self) == "\"9999-03-01T01:00:00+01:00\"")
    }

    @Test func civilRoundTrip() {
        for days: Int64 in [-719_528, -1, 0, 1, 59, 10957, 2_932_896, -800_000] {
            let (y, m, d) = GoTime.civilFromDays(days)
            #expect(GoTime.daysFromCivil(y, m, d) == days)
        }
    }

    @Test func nowAndDate() {
        let before = Date()
        let now = GoTime.now()
        #expect(abs(now.date.timeIntervalSince(before)) < 5)
        #expect((0..<1_000_000_000).contains(now.nanoseconds))
        #expect(GoTime.local(seconds: now.seconds, nanoseconds: 0).utcOffset == now.utcOffset)
        let fromDate = GoTime(date: Date(timeIntervalSince1970: 1.25), utcOffset: 60)
        #expect(fromDate.seconds == 1 && fromDate.nanoseconds == 250_000_000 && fromDate.utcOffset == 60)
        #expect(GoTime.goZero.isGoZero && !GoTime(seconds: 0, nanoseconds: 0, utcOffset: 0).isGoZero)
    }
}
