import Testing
@testable import AscribeCore
import AscribeCoreTestSupport

/// `plan`'s text: evenly spaced slots of a day fold into one line; uneven ones, and the slot
/// daylight saving moved, stay on lines of their own; every time in the display zone.
@Suite struct PlanTextTests {
    static func job(_ name: String, _ schedule: String) throws -> JobDefinition {
        let text = JobFileFixture.file(replacing: "schedule", with: "schedule = \(schedule)")
        return try #require(JobFileFixture.parse(text, path: "/jobs/\(name).job").definition)
    }

    @Test func evenSlotsFoldAndUnevenOnesStaySingle() throws {
        let jobs = [try Self.job("quarterly", "*/15 * * * *"), try Self.job("uneven", "0,10,15 9 * * *")]
        let from = Instant(secondsSinceEpoch: 1_795_392_000)  // 2026-11-23T00:00:00Z
        let to = from.adding(seconds: 86_400)
        let plan = SchedulePlan(jobs: jobs, defaultZone: .utc, after: from, through: to)
        let text = PlanText(plan: plan, jobs: jobs, zone: .utc, from: from, to: to) { _ in "…" }
        #expect(text.lines == [
            "2 jobs:",
            "  quarterly  …",
            "  uneven     …",
            "Mon 2026-11-23 (times in UTC)",
            "  00:15–23:45  quarterly  every 15 min (95 slots)  [pile-up: 2 of them start with other jobs]",
            "  09:00        uneven  [pile-up: 2 jobs]",
            "  09:10        uneven",
            "  09:15        uneven  [pile-up: 2 jobs]",
            "Tue 2026-11-24 (times in UTC)",
            "  00:00        quarterly",
        ])
    }

    @Test(arguments: [(Int64(300), "5 min"), (Int64(3600), "1 h"), (Int64(5400), "1 h 30 min"), (Int64(86_400), "day"),
                      (Int64(2 * 86_400), "2 days")])
    func intervalsReadNaturally(seconds: Int64, words: String) {
        #expect(PlanText.interval(seconds) == words)
    }
}
