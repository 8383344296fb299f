import Testing
@testable import AscribeCore

@Suite struct CivilTimeTests {
    @Test func daysRoundTripAcrossFourCenturies() {
        var day: Int64 = -146_097
        while day <= 146_097 * 2 {
            let date = CivilDate(daysSinceEpoch: day)
            #expect(date.isValid)
            #expect(date.daysSinceEpoch == day)
            day += 1
        }
    }

    @Test func knownWeekdays() {
        #expect(CivilDate(year: 1970, month: 1, day: 1).weekday == 4)
        #expect(CivilDate(year: 2000, month: 2, day: 29).weekday == 2)
        #expect(CivilDate(year: 2026, month: 11, day: 23).weekday == 1)
        #expect(CivilDate(year: 1969, month: 12, day: 28).weekday == 0)
    }

    @Test func leapYears() {
        #expect(CivilDate.daysIn(month: 2, year: 2024) == 29)
        #expect(CivilDate.daysIn(month: 2, year: 2100) == 28)
        #expect(CivilDate.daysIn(month: 2, year: 2000) == 29)
        #expect(CivilDate.daysIn(month: 2, year: 2026) == 28)
    }

    @Test(arguments: [
        ("2026-03-29T03:00:00+02:00", Int64(1_774_746_000)),
        ("2026-03-29T01:00:00Z", Int64(1_774_746_000)),
        ("2026-03-28T20:00:00-05:00", Int64(1_774_746_000)),
        ("2026-03-29t01:00:00.999z", Int64(1_774_746_000)),
    ])
    func parsesInstants(text: String, seconds: Int64) {
        #expect(RFC3339.parse(text) == .instant(Instant(secondsSinceEpoch: seconds)))
    }

    @Test(arguments: ["2026-02-30T00:00:00Z", "2026-03-29T24:00:00Z", "2026-03-29", "26-03-29T01:00Z",
                      "2026-03-29T01:00:00+2:00", "2026-03-29T01:00:00Zjunk", ""])
    func rejectsMalformed(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func localReadingWithoutOffset() {
        #expect(RFC3339.parse("2026-03-29T02:30") == .local(CivilDateTime(year: 2026, month: 3, day: 29, hour: 2, minute: 30)))
    }

    @Test func formatsWithOffset() {
        let instant = Instant(secondsSinceEpoch: 1_774_746_000)
        #expect(RFC3339.format(instant, offsetSeconds: 7200) == "2026-03-29T03:00:00+02:00")
        #expect(RFC3339.format(instant, offsetSeconds: 0) == "2026-03-29T01:00:00+00:00")
        #expect(RFC3339.format(instant, offsetSeconds: -(5 * 3600 + 1800)) == "2026-03-28T19:30:00-05:30")
    }
}
