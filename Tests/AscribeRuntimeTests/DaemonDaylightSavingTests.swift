import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// The daemon itself across Berlin's spring-forward night (2026-03-29, 02:00 CET → 03:00 CEST),
/// minute by minute on its injected clock, with real job processes. libfaketime cannot drive the
/// real binary (docs/RELIABILITY-NOTES.md), so this is the daemon-level check of Debian cron's
/// DST semantics (docs/SCHEDULES.md): a fixed time in the gap runs once, right after it, and a
/// wildcard job runs on the wall-clock minutes that exist.
@Suite struct DaemonDaylightSavingTests {
    @Test func springForwardNightFiresEachSlotOnce() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("nightly", schedule: "30 2 * * *", command: "/bin/true", ["timezone = Europe/Berlin"])
        try harness.job("quarter", schedule: "*/15 * * * *", command: "/bin/true", ["timezone = Europe/Berlin"])
        let start = Instant(secondsSinceEpoch: 1_774_744_740)  // 2026-03-29T00:39:00Z, 01:39 CET
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<32 {  // to 01:11Z, 03:11 CEST
            await clock.advance(by: 60, settling: daemon)
        }
        await daemon.stop()
        #expect(await task.value == .stopped)

        let events = try harness.events()
        let fired = events.filter { $0.type == .runFired }
        let slots = fired.map { "\($0.job ?? "?") \($0.scheduledFor.map { $0.rfc3339 } ?? "-") \($0.details["dst_shifted_from"] ?? "")" }
        #expect(slots == [
            "quarter 2026-03-29T00:45:00.000Z ",                 // 01:45 CET
            "nightly 2026-03-29T01:00:00.000Z 2026-03-29 02:30", // 03:00 CEST, for the 02:30 that never came
            "quarter 2026-03-29T01:00:00.000Z ",                 // 03:00 CEST; 02:00-02:45 do not exist
        ])
        #expect(events.filter { $0.type == .runSucceeded }.count == fired.count)
    }

    /// `0 2,3 * * *` on the spring-forward night: 02:00 does not exist, so its slot moves to
    /// 03:00, where the 03:00 slot also is. As Debian cron, both slots are due; the overlap
    /// policy decides the second (skip: recorded as overlap; allow: a second run), and `why`
    /// accounts for each.
    @Test(arguments: [("skip", 1), ("allow", 2)])
    func twoSlotsAtOneInstantBothGetAnOutcome(overlap: String, runs: Int) async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("twice", schedule: "0 2,3 * * *", command: "/bin/true",
                        ["timezone = Europe/Berlin", "overlap = \(overlap)"])
        let start = Instant(secondsSinceEpoch: 1_774_744_740)  // 2026-03-29T00:39:00Z, 01:39 CET
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<25 {  // to 01:04Z, 03:04 CEST
            await clock.advance(by: 60, settling: daemon)
        }
        await daemon.stop()
        #expect(await task.value == .stopped)

        let events = try harness.events().filter { $0.job == "twice" }
        let outcomes = events.filter { $0.type == .runFired || $0.type == .runSkipped }.map {
            "\($0.type.rawValue) \($0.scheduledFor.map { $0.rfc3339 } ?? "-") \($0.details["dst_shifted_from"] ?? "")"
        }.sorted()  // the skip is recorded before the fired run's batch writes its event
        let second = runs == 2 ? "run.fired" : "run.skipped"
        #expect(outcomes == [
            "run.fired 2026-03-29T01:00:00.000Z 2026-03-29 02:00",  // 03:00 CEST, for the 02:00 that never came
            "\(second) 2026-03-29T01:00:00.000Z ",                 // 03:00 CEST itself
        ].sorted())
        #expect(events.filter { $0.type == .runSucceeded }.count == runs)
        if runs == 1 {
            let skipped = try #require(events.first { $0.type == .runSkipped })
            #expect(skipped.details["skip_reason"] == "overlap")
            #expect(skipped.details["running_run_id"] == events.first { $0.type == .runFired }?.runID)
        }

        // why: one account per slot, neither "no record".
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let zone = try #require(ZoneDatabase().rules(for: "Europe/Berlin"))
        let job = try #require(JobDirectory.load(path: harness.jobs, zones: { ZoneDatabase().rules(for: $0) }).jobs.first)
        let report = try SlotHistory.answer(job: job, zone: zone, window: .range(since: start, until: start.adding(seconds: 25 * 60)),
                                            now: start.adding(seconds: 25 * 60), store: store)
        #expect(report.accounts.map(\.outcome.kind) == ["succeeded", runs == 2 ? "succeeded" : "skipped"])
        #expect(report.accounts.map(\.shiftedFrom) == ["2026-03-29 02:00", nil])
        #expect(report.accounts.first?.words(in: zone).hasPrefix("slot of 2026-03-29 02:00, moved here by daylight saving: ") == true)
    }

    /// A daemon down across that night: both slots at 03:00 are `run.missed`, each once, told
    /// apart by `dst_shifted_from`, and `why` finds each.
    @Test func twoSlotsAtOneInstantAreBothMissedDuringADowntime() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("twice", schedule: "0 2,3 * * *", command: "/bin/true", ["timezone = Europe/Berlin"])
        let start = Instant(secondsSinceEpoch: 1_774_744_740)  // 01:39 CET
        let first = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: first)
        await daemon.stop()
        #expect(await task.value == .stopped)
        let after = start.adding(seconds: 31 * 60)  // 03:10 CEST
        let second = FakeDaemonClock(now: after)
        let (restarted, again) = await harness.start(clock: second)
        await restarted.stop()
        #expect(await again.value == .stopped)

        let missed = try harness.events().filter { $0.type == .runMissed }
        #expect(missed.map { "\($0.scheduledFor?.rfc3339 ?? "-") \($0.details["dst_shifted_from"] ?? "")" } == [
            "2026-03-29T01:00:00.000Z 2026-03-29 02:00", "2026-03-29T01:00:00.000Z ",
        ])
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let zone = try #require(ZoneDatabase().rules(for: "Europe/Berlin"))
        let job = try #require(JobDirectory.load(path: harness.jobs, zones: { ZoneDatabase().rules(for: $0) }).jobs.first)
        let report = try SlotHistory.answer(job: job, zone: zone, window: .range(since: start, until: after), now: after, store: store)
        #expect(report.accounts.map(\.outcome.kind) == ["missed", "missed"])
        #expect(report.accounts.map(\.evidence.first?.seq) == missed.map(\.seq))
    }
}
