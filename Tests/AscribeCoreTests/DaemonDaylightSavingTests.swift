import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime

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
}
