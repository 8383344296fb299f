import Testing
@testable import AscribeCore
import AscribeRuntime

/// The fires of `expression` in `zone` after `from`, printed the way `ascribe next` prints them.
func zoneFires(_ expression: String, zone zoneName: String, from: String, count: Int) throws -> [String] {
    let zone = try #require(ZoneDatabase().rules(for: zoneName))
    let cron = try CronExpression(parsing: expression)
    guard let parsed = RFC3339.parse(from) else {
        Issue.record("bad test timestamp \(from)")
        return []
    }
    var cursor = zone.instant(for: parsed)
    var result: [String] = []
    for _ in 0..<count {
        guard let fire = cron.nextFire(after: cursor, in: zone) else { break }
        result.append(zone.rfc3339(fire.instant))
        cursor = fire.instant
    }
    return result
}

/// Debian cron's DST behaviour, zone by zone: fixed-time jobs in a spring-forward gap run once
/// right after it; fixed-time jobs in a repeated hour run once; wildcard jobs (minute or hour
/// field starting with `*`) follow the real clock through both.
@Suite struct DaylightSavingTests {
    @Test(arguments: [
        // America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
        ("America/New_York", "30 2 * * *", "2026-03-07T12:00:00-05:00",
         ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]),
        ("America/New_York", "0 2 * * *", "2026-03-07T12:00:00-05:00",
         ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"]),
        ("America/New_York", "0 3 * * *", "2026-03-07T12:00:00-05:00",
         ["2026-03-08T03:00:00-04:00", "2026-03-09T03:00:00-04:00"]),
        ("America/New_York", "0 1-3 * * *", "2026-03-08T00:30:00-05:00",
         ["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T01:00:00-04:00"]),
        ("America/New_York", "*/30 * * * *", "2026-03-08T01:00:00-05:00",
         ["2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"]),
        ("America/New_York", "30 1 * * *", "2026-10-31T12:00:00-04:00",
         ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]),
        ("America/New_York", "30 * * * *", "2026-11-01T00:00:00-04:00",
         ["2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:30:00-05:00"]),
        ("America/New_York", "0 1-3 * * *", "2026-11-01T00:30:00-04:00",
         ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"]),
        // Starting inside the repeated hour: the fixed-time job already ran in the first pass.
        ("America/New_York", "45 1 * * *", "2026-11-01T01:10:00-05:00", ["2026-11-02T01:45:00-05:00"]),

        // Europe/London: 2026-03-29 01:00 GMT → 02:00 BST; 2026-10-25 02:00 BST → 01:00 GMT.
        ("Europe/London", "30 1 * * *", "2026-03-28T12:00:00Z",
         ["2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"]),
        ("Europe/London", "30 1 * * *", "2026-10-24T12:00:00+01:00",
         ["2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00"]),
        ("Europe/London", "0 * * * *", "2026-10-25T00:30:00+01:00",
         ["2026-10-25T01:00:00+01:00", "2026-10-25T01:00:00+00:00", "2026-10-25T02:00:00+00:00"]),

        // Europe/Dublin (tzdata models Irish winter time as negative DST; offsets are the same).
        ("Europe/Dublin", "15 1 * * *", "2026-03-28T12:00:00Z",
         ["2026-03-29T02:00:00+01:00", "2026-03-30T01:15:00+01:00"]),
        ("Europe/Dublin", "15 1 * * *", "2026-10-24T12:00:00+01:00",
         ["2026-10-25T01:15:00+01:00", "2026-10-26T01:15:00+00:00"]),
        ("Europe/Dublin", "*/20 1 * * *", "2026-10-25T00:50:00+01:00",
         ["2026-10-25T01:00:00+01:00", "2026-10-25T01:20:00+01:00", "2026-10-25T01:40:00+01:00",
          "2026-10-25T01:00:00+00:00", "2026-10-25T01:20:00+00:00", "2026-10-25T01:40:00+00:00",
          "2026-10-26T01:00:00+00:00"]),

        // Europe/Berlin: the contract's own example.
        ("Europe/Berlin", "30 2 * * *", "2026-03-28T12:00:00+01:00",
         ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]),

        // Australia/Lord_Howe: a 30-minute shift. 2026-10-04 02:00 → 02:30 (+10:30 → +11:00);
        // 2026-04-05 02:00 → 01:30 (+11:00 → +10:30).
        ("Australia/Lord_Howe", "15 2 * * *", "2026-10-03T12:00:00+10:30",
         ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"]),
        ("Australia/Lord_Howe", "45 1 * * *", "2026-04-04T12:00:00+11:00",
         ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"]),
        ("Australia/Lord_Howe", "*/15 * * * *", "2026-04-05T01:20:00+11:00",
         ["2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-05T01:30:00+10:30",
          "2026-04-05T01:45:00+10:30", "2026-04-05T02:00:00+10:30"]),

        // Pacific/Chatham: +12:45 / +13:45. 2026-09-27 02:45 → 03:45; 2026-04-05 03:45 → 02:45.
        ("Pacific/Chatham", "0 3 * * *", "2026-09-26T12:00:00+12:45",
         ["2026-09-27T03:45:00+13:45", "2026-09-28T03:00:00+13:45"]),
        ("Pacific/Chatham", "30 2 * * *", "2026-09-26T12:00:00+12:45",
         ["2026-09-27T02:30:00+12:45", "2026-09-28T02:30:00+13:45"]),
        ("Pacific/Chatham", "0 3 * * *", "2026-04-04T12:00:00+13:45",
         ["2026-04-05T03:00:00+13:45", "2026-04-06T03:00:00+12:45"]),
    ])
    func debianBehaviour(zone: String, expression: String, from: String, expected: [String]) throws {
        #expect(try zoneFires(expression, zone: zone, from: from, count: expected.count) == expected)
    }

    @Test func gapFiresRecordTheSlotTheyStandFor() throws {
        let zone = try #require(ZoneDatabase().rules(for: "Europe/Berlin"))
        let cron = try CronExpression(parsing: "30 2 * * *")
        let start = zone.instant(for: try #require(RFC3339.parse("2026-03-28T12:00:00Z")))
        let fire = try #require(cron.nextFire(after: start, in: zone))
        #expect(fire.shiftedFrom == CivilDateTime(year: 2026, month: 3, day: 29, hour: 2, minute: 30))
        let normal = try #require(cron.nextFire(after: fire.instant, in: zone))
        #expect(normal.shiftedFrom == nil)
    }

    /// Debian cron starts a fixed-time job once per matching minute it catches up on, so two
    /// slots can share the instant right after a gap: the moved one first, then the regular one.
    @Test(arguments: [
        ("0 2,3 * * *", ["03:00 moved from 2026-03-29 02:00", "03:00", "next day 02:00"]),
        ("0,30 2 * * *", ["03:00 moved from 2026-03-29 02:00", "03:00 moved from 2026-03-29 02:30", "next day 02:00"]),
    ])
    func twoSlotsAtOneInstantAreBothFires(expression: String, expected: [String]) throws {
        let zone = try #require(ZoneDatabase().rules(for: "Europe/Berlin"))
        let cron = try CronExpression(parsing: expression)
        let start = zone.instant(for: try #require(RFC3339.parse("2026-03-28T12:00:00+01:00")))
        let gapEnd = zone.instant(for: try #require(RFC3339.parse("2026-03-29T03:00:00+02:00")))
        let nextDay = zone.instant(for: try #require(RFC3339.parse("2026-03-30T02:00:00+02:00")))
        func words(_ fire: Fire) -> String {
            let time = fire.instant == gapEnd ? "03:00" : fire.instant == nextDay ? "next day 02:00" : zone.rfc3339(fire.instant)
            return time + (fire.shiftedFrom.map { " moved from \($0.wallClockText)" } ?? "")
        }
        let fires = cron.fires(after: start, until: nextDay, in: zone)
        #expect(fires.map(words) == expected)
        // The daemon's loop, the downtime planner and the plan see the same slots.
        var upcoming = UpcomingSlots(jobs: [try job(schedule: expression)], defaultZone: zone, after: start)
        #expect(upcoming.due(after: start, through: nextDay).map(\.fire) == fires)
        let window = SlotPlanner.window(of: try job(schedule: expression), defaultZone: zone, after: start, through: nextDay, keep: 10)
        #expect(window.count == 3 && window.latest == fires)
        let plan = SchedulePlan(jobs: [try job(schedule: expression)], defaultZone: zone, after: start, through: nextDay)
        #expect(plan.fires.map { Fire(instant: $0.instant, shiftedFrom: $0.shiftedFrom) } == fires)
    }

    private func job(schedule: String) throws -> JobDefinition {
        let text = "schedule = \(schedule)\nidentity = nightly-report\nowner = ops <ops@example.com>\ncommand = /bin/true\n"
        let parsed = JobFile.parse(Array(text.utf8), path: "/jobs/nightly.job", zones: { ZoneDatabase().rules(for: $0) })
        return try #require(parsed.definition, "\(parsed.diagnostics)")
    }

    /// Hour-or-finer jobs never fire on a minute the wall clock skipped, and never twice at once.
    @Test func wildcardJobsFollowTheRealClock() throws {
        let zone = try #require(ZoneDatabase().rules(for: "Europe/Berlin"))
        let cron = try CronExpression(parsing: "* * * * *")
        let start = zone.instant(for: try #require(RFC3339.parse("2026-03-29T00:55:00+01:00")))
        let fires = cron.fires(after: start, until: start.adding(seconds: 3600), in: zone)
        #expect(fires.count == 60)
        #expect(zip(fires, fires.dropFirst()).allSatisfy { $1.instant.secondsSinceEpoch - $0.instant.secondsSinceEpoch == 60 })
    }

    /// Found by fuzzing: a transition at an odd second (Monrovia left its -00:44:30 offset at
    /// 00:44:30 UTC on 1972-01-07) made `nextFire` spin on the minute before it and answer nil.
    @Test func transitionsOffTheMinuteDoNotStopTheSchedule() throws {
        let zone = try #require(ZoneDatabase().rules(for: "Africa/Monrovia"))
        let cron = try CronExpression(parsing: "0 12 * * *")
        let start = Instant(secondsSinceEpoch: 63_504_000)  // 1972-01-06T00:00:00Z
        let fires = cron.fires(after: start, until: start.adding(seconds: 3 * 86_400), in: zone)
        #expect(fires.map(\.instant.secondsSinceEpoch) == [
            63_549_870,  // 1972-01-06 12:00 at -00:44:30
            63_633_600,  // 1972-01-07 12:00 UTC
            63_720_000,  // 1972-01-08 12:00 UTC
        ])
    }
}
