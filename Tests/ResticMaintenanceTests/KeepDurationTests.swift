import Testing
import ResticMaintenance

@Suite struct KeepDurationTests {
    @Test func parsesEveryUnit() throws {
        #expect(try KeepDuration(parsing: "1y2m3d4h") == KeepDuration(years: 1, months: 2, days: 3, hours: 4))
        #expect(try KeepDuration(parsing: "36h") == KeepDuration(hours: 36))
        #expect(try KeepDuration(parsing: "2d1y") == KeepDuration(years: 1, days: 2))
    }

    @Test(arguments: ["", "5", "3w", "d", "1y2", "-1d", "1.5d"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: (any Error).self) { try KeepDuration(parsing: text) }
    }
}
