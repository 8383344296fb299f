import Testing
@testable import AscribeCore
import AscribeRuntime

/// `UpcomingSlots` keeps each job's next slot between wake-ups; what it hands out must be
/// exactly each job's `fires(after:until:in:)`, whatever sequence of wake-ups (including
/// backward steps and re-plans) the daemon makes.
@Suite struct UpcomingSlotsTests {
    static let zones = ZoneDatabase()

    static func jobs() throws -> [JobDefinition] {
        let schedules: [(String, String?)] = [
            ("* * * * *", nil), ("*/7 * * * *", nil), ("30 2 * * *", "Europe/Berlin"),
            ("0 1-3 * * *", "America/New_York"), ("*/30 * * * *", "America/New_York"),
            ("15 */2 * * MON-FRI", "Europe/Berlin"), ("0 0 30 2 *", nil), ("@reboot", nil), ("@hourly", "Asia/Kolkata"),
        ]
        return try schedules.enumerated().map { index, entry in
            var lines = ["schedule = \(entry.0)", "identity = job-\(index)-runner",
                         "owner = team <team@example.com>", "command = /bin/true"]
            if let zone = entry.1 { lines.append("timezone = \(zone)") }
            let text = lines.joined(separator: "\n") + "\n"
            let parsed = JobFile.parse(Array(text.utf8), path: "/jobs/job-\(index).job", zones: { zones.rules(for: $0) })
            return try #require(parsed.definition, "\(parsed.diagnostics)")
        }
    }

    /// The reference: every job's fires in `(after, through]`, sorted like the daemon fires them.
    static func reference(_ jobs: [JobDefinition], after: Instant, through: Instant) -> [DueSlot] {
        var slots: [DueSlot] = []
        for job in jobs {
            guard case .calendar(let expression) = job.schedule else { continue }
            for fire in expression.fires(after: after, until: through, in: job.timezone ?? .utc) {
                slots.append(DueSlot(job: job.name, fire: fire))
            }
        }
        return slots.sorted { ($0.fire.instant, $0.job.rawValue) < ($1.fire.instant, $1.job.rawValue) }
    }

    static func referenceNext(_ jobs: [JobDefinition], after: Instant) -> Instant? {
        jobs.compactMap { job -> Instant? in
            guard case .calendar(let expression) = job.schedule else { return nil }
            return expression.nextFire(after: after, in: job.timezone ?? .utc)?.instant
        }.min()
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func wakeUpsThroughDaylightSavingChangesMatchTheReference(seed: UInt64) throws {
        let jobs = try Self.jobs()
        var random = SplitMix64(seed: seed)
        // 2026-03-07: the night before New York's spring-forward, three weeks before Berlin's.
        var processed = Instant(secondsSinceEpoch: 1_772_841_600 + Int64(random.next() % 3600))
        var upcoming = UpcomingSlots(jobs: jobs, defaultZone: .utc, after: processed)
        var checkedSlots = 0
        for _ in 0..<3_000 {
            if random.next() % 20 == 0 {
                // A re-base without a wake-up (the daemon's answer to a large clock step), then
                // sometimes `due` before any `nextSlot`.
                processed = processed.adding(seconds: Int64(random.next() % 20_000) - 10_000)
                if random.next() % 2 == 0 { continue }
            }
            let next = Self.referenceNext(jobs, after: processed)
            if random.next() % 4 != 0 {
                #expect(upcoming.nextSlot(after: processed) == next)
            }
            // Mostly up to the next slot (as the daemon sleeps), sometimes past it, sometimes back.
            let step: Int64 = switch random.next() % 10 {
            case 0: -Int64(random.next() % 7_200)
            case 1: Int64(random.next() % 40_000)
            default: max(1, (next?.secondsSinceEpoch ?? processed.secondsSinceEpoch + 60) - processed.secondsSinceEpoch
                            + Int64(random.next() % 3))
            }
            let now = processed.adding(seconds: step)
            let due = upcoming.due(after: processed, through: now)
            #expect(due == Self.reference(jobs, after: processed, through: now), "after \(processed) through \(now)")
            checkedSlots += due.count
            processed = now
        }
        #expect(checkedSlots > 1_000, "the walk must hand out slots to compare (got \(checkedSlots))")
    }

    @Test func rebootAndImpossibleJobsHaveNoSlots() throws {
        let impossible = try Schedule(parsing: "0 0 30 2 *")
        let jobs = try Self.jobs().filter { $0.schedule == .reboot || $0.schedule == impossible }
        #expect(jobs.count == 2)
        let start = Instant(secondsSinceEpoch: 1_772_841_600)
        var upcoming = UpcomingSlots(jobs: jobs, defaultZone: .utc, after: start)
        #expect(upcoming.nextSlot(after: start) == nil)
        #expect(upcoming.due(after: start, through: start.adding(seconds: 400 * 86_400)).isEmpty)
    }
}

/// The daemon's start-up lines: soonest first, times in each job's zone, "in …" from now.
@Suite struct NextSlotsTextTests {
    @Test(arguments: [(Int64(0), "now"), (Int64(40), "in 40 s"), (Int64(200), "in 4 min"), (Int64(3600), "in 1 h"),
                      (Int64(7500), "in 2 h 05 min"), (Int64(3 * 86_400 + 5), "in 3 days")])
    func relativeTimesReadNaturally(seconds: Int64, text: String) {
        #expect(NextSlotsText.relative(from: Instant(secondsSinceEpoch: 1000), to: Instant(secondsSinceEpoch: 1000 + seconds)) == text)
    }

    @Test func slotsAreListedSoonestFirstAndCapped() {
        let now = Instant(secondsSinceEpoch: 1_800_000_000)
        let slots = (0..<4).map { NextSlotsText.Slot(job: "job-\($0)", instant: now.adding(seconds: Int64(240 - $0 * 60)), zone: .utc) }
        #expect(NextSlotsText.lines(slots, now: now, limit: 2, notScheduled: 0) == [
            "next slots (in each job's time zone):",
            "  job-3  2027-01-15 08:01 UTC  (in 1 min)",
            "  job-2  2027-01-15 08:02 UTC  (in 2 min)",
            "  … and 2 more (ascribe status, ascribe plan)",
        ])
        #expect(NextSlotsText.lines([], now: now, limit: 20, notScheduled: 2) == ["no job has a next slot (2 disabled, @reboot or never firing)"])
    }
}
