import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// `ascribe why`: a seeded log, each outcome kind read back per slot.
@Suite struct WhyTests {
    static let actor = "ascribe-scheduler@testhost"
    /// 2026-11-23T00:00:00Z.
    static let day = Instant(secondsSinceEpoch: 1_795_392_000)

    static func at(_ minutes: Int64) -> EventTime { EventTime(day.adding(seconds: minutes * 60)) }

    static func daemon(_ type: EventType, _ minutes: Int64, _ details: [String: String] = [:]) -> EventDraft {
        EventDraft(time: at(minutes), host: "testhost", type: type, actor: actor, details: details)
    }

    static func run(_ type: EventType, slot: Int64?, at minutes: Int64, runID: String? = nil,
                    actor: String = actor, _ configure: (inout EventDraft) -> Void = { _ in }) -> EventDraft {
        var draft = EventDraft(time: at(minutes), host: "testhost", type: type, actor: actor,
                               owner: "test-team <test@example.com>", job: "reaper", identity: "reaper-runner",
                               runID: runID, scheduledFor: slot.map(at))
        configure(&draft)
        return draft
    }

    /// A `*/10` job and a day of its history: slot at 00:10 before it was defined; 00:20
    /// succeeded; 00:30 failed; 00:40 timed out; 00:50 could not launch; 01:00 skipped (overlap);
    /// 01:10 lost; 01:20 and 01:30 missed (down 01:15–01:35, 01:30 caught up); 01:40 no record
    /// (the daemon died at 01:35 and never restarted); a manual run at 00:25.
    static func seeded() throws -> DaemonHarness {
        let harness = try DaemonHarness()
        try harness.job("reaper", schedule: "*/10 * * * *", command: "/bin/true", ["timezone = UTC"])
        let fired = { (slot: Int64, at: Int64, id: String) in run(.runFired, slot: slot, at: at, runID: id, actor: "reaper-runner") }
        let end = { (type: EventType, slot: Int64, at: Int64, id: String, configure: (inout EventDraft) -> Void) in
            run(type, slot: slot, at: at, runID: id, actor: "reaper-runner", configure)
        }
        try harness.seed([
            daemon(.daemonStarted, 15, ["jobs": "1"]),
            daemon(.configLoaded, 15, ["jobs": "reaper=0123456789ab"]),
            fired(20, 20, "r20"),
            end(.runSucceeded, 20, 20, "r20") { $0.durationMs = 4200; $0.exitCode = 0 },
            run(.runFired, slot: nil, at: 25, runID: "m25", actor: "reaper-runner") {
                $0.principal = "alice"; $0.reason = "testing the fix"; $0.details["trigger"] = "manual"
            },
            run(.runSucceeded, slot: nil, at: 26, runID: "m25", actor: "reaper-runner") { $0.durationMs = 1000 },
            fired(30, 30, "r30"),
            end(.runFailed, 30, 30, "r30") { $0.exitCode = 3; $0.durationMs = 12_000; $0.outputTail = "starting\ndisk full\n" },
            fired(40, 40, "r40"),
            end(.runTimedOut, 40, 41, "r40") { $0.signal = 15; $0.durationMs = 90_000 },
            fired(50, 50, "r50"),
            end(.runLaunchFailed, 50, 50, "r50") { $0.details["error"] = "no such command /bin/nope" },
            fired(59, 59, "r59"),
            run(.runSkipped, slot: 60, at: 60) { $0.details = ["skip_reason": "overlap", "running_run_id": "r59"] },
            end(.runSucceeded, 59, 62, "r59") { $0.durationMs = 3000 },
            fired(70, 70, "r70"),
            daemon(.daemonHeartbeat, 75),
            daemon(.daemonStarted, 95),
            run(.runLost, slot: 70, at: 95, runID: "r70"),
            run(.runMissed, slot: 80, at: 95) { $0.details = ["catch_up": "once"]; $0.reason = "the daemon was down" },
            run(.runMissed, slot: 90, at: 95) { $0.details = ["catch_up": "once"]; $0.reason = "the daemon was down" },
            fired(90, 95, "r90"),
            end(.runSucceeded, 90, 95, "r90") { $0.durationMs = 500 },
        ])
        return harness
    }

    static func answer(_ harness: DaemonHarness, _ window: WhyWindow, now minutes: Int64 = 105) throws -> SlotHistoryReport {
        let load = try JobDirectory.load(path: harness.jobs, zones: { _ in .utc })
        let job = try #require(load.jobs.first)
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        return try SlotHistory.answer(job: job, zone: .utc, window: window, now: at(minutes).instant, store: store)
    }

    @Test func eachSlotGetsItsOutcome() throws {
        let harness = try Self.seeded()
        defer { harness.remove() }
        let report = try Self.answer(harness, .range(since: Self.at(5).instant, until: Self.at(105).instant))
        let kinds = report.accounts.map { ($0.slot.map { ($0.secondsSinceEpoch - Self.day.secondsSinceEpoch) / 60 }, $0.outcome.kind) }
        #expect(kinds.map(\.0) == [10, 20, nil, 30, 40, 50, 60, 70, 80, 90, 100])
        #expect(kinds.map(\.1) == ["not_yet_defined", "succeeded", "succeeded", "failed", "timed_out", "launch_failed",
                                   "skipped", "lost", "missed", "missed", "no_record"])
        let words = report.accounts.map { $0.words(in: .utc) }
        #expect(words[0] == "not yet defined then (added by config change at 2026-11-23T00:15:00+00:00)")
        #expect(words[1] == "ran and succeeded in 4.2s")
        #expect(words[2] == "manual run by alice (testing the fix): ran and succeeded in 1.0s")
        #expect(words[3] == "failed with exit 3 after 12.0s; last lines: starting | disk full")
        #expect(words[4] == "timed out after 1m30s (SIGTERM)")
        #expect(words[5] == "could not launch: no such command /bin/nope")
        #expect(words[6] == "skipped because run r59 was still in progress (overlap)")
        #expect(words[7].hasPrefix("lost: the daemon died while it ran"))
        #expect(words[8] == "missed because the daemon was down from 2026-11-23T01:15:00+00:00 to 2026-11-23T01:35:00+00:00; not caught up (catch-up = once)")
        #expect(words[9].hasSuffix("; caught up: ran and succeeded in 500ms"))
        #expect(words[10] == "no record: the daemon was not running and has not started since")
        #expect(report.accounts[1].evidence.map(\.type) == [.runFired, .runSucceeded])
        #expect(report.accounts[8].evidence.map(\.type) == [.runMissed, .daemonHeartbeat, .daemonStarted])
    }

    @Test func runningCollapsedDisabledAndNoSlot() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/10 * * * *", command: "/bin/true", ["timezone = UTC"])
        try harness.seed([
            Self.daemon(.daemonStarted, 0),
            Self.daemon(.configLoaded, 0, ["jobs": "reaper=0123456789ab"]),
            Self.daemon(.daemonHeartbeat, 5),
            Self.daemon(.daemonStarted, 45),
            Self.run(.runMissed, slot: 40, at: 45) {
                $0.details = ["count": "200", "first": Self.at(10).rfc3339, "last": Self.at(40).rfc3339, "catch_up": "none"]
            },
            Self.run(.runSkipped, slot: 50, at: 50) { $0.details = ["skip_reason": "job-disabled", "disabled_by": "jobs/reaper.job:5"] },
            Self.run(.runFired, slot: 60, at: 60, runID: "r60", actor: "reaper-runner"),
        ])
        let report = try Self.answer(harness, .range(since: Self.at(10).instant, until: Self.at(61).instant))
        #expect(report.accounts.map(\.outcome.kind) == ["missed", "missed", "missed", "missed", "skipped", "running"])
        #expect(report.accounts[1].words(in: .utc).hasPrefix("missed because the daemon was down from 2026-11-23T00:05:00+00:00"))
        #expect(report.accounts[4].words(in: .utc) == "skipped because the job was disabled by jobs/reaper.job:5")
        #expect(report.accounts[5].words(in: .utc) == "fired at 2026-11-23T01:00:00+00:00, still running")

        let single = try Self.answer(harness, .at(Self.at(57).instant))
        #expect(single.accounts.map(\.slot) == [Self.at(50).instant])

        let empty = try Self.answer(harness, .range(since: Self.at(61).instant, until: Self.at(65).instant), now: 65)
        #expect(empty.accounts.isEmpty)
        #expect(empty.nextFire == Self.at(70).instant)
    }

    @Test func commandLineSaysWhatBecameOfEachSlot() throws {
        let harness = try Self.seeded()
        defer { harness.remove() }
        let result = try AscribeBinary.run(["why", "reaper", "--jobs", harness.jobs, "--state", harness.state,
                                            "--since", Self.at(15).rfc3339, "--until", Self.at(85).rfc3339])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("2026-11-23T00:20:00+00:00  ran and succeeded in 4.2s"))
        #expect(lines.contains("2026-11-23T00:30:00+00:00  failed with exit 3 after 12.0s; last lines: starting | disk full"))
        #expect(lines.contains("2026-11-23T01:00:00+00:00  skipped because run r59 was still in progress (overlap)"))
        #expect(lines.contains { $0.hasPrefix("2026-11-23T01:20:00+00:00  missed because the daemon was down from 2026-11-23T01:15:00+00:00") })
        #expect(lines.contains("    evidence: #3 run.fired, #4 run.succeeded"))

        let unknown = try AscribeBinary.run(["why", "nothing", "--jobs", harness.jobs, "--state", harness.state])
        #expect(unknown.status == 2)
        let json = try AscribeBinary.run(["why", "reaper", "--jobs", harness.jobs, "--state", harness.state,
                                          "--at", Self.at(31).rfc3339, "--json"])
        #expect(json.stdout.contains("\"kind\":\"failed\""))
    }
}

/// `why` lists the slots of the definition in force at each time, not only of today's file.
@Suite struct WhyDefinitionHistoryTests {
    @Test func aChangedScheduleKeepsItsEarlierSlots() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("report", schedule: "0 * * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<2 {
            await clock.advance(by: 3600, settling: daemon)
        }
        try harness.job("report", schedule: "30 * * * *", command: "/bin/true")
        await daemon.reload()
        await clock.advance(by: 1800, settling: daemon)
        await daemon.stop()
        _ = await task.value

        let zones = ZoneDatabase()
        let load = try JobDirectory.load(path: harness.jobs, zones: { zones.rules(for: $0) })
        let job = try #require(load.jobs.first)
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let window = WhyWindow.range(since: start.adding(seconds: 1), until: start.adding(seconds: 9000))
        let report = try SlotHistory.answer(job: job, zone: .utc, window: window, now: start.adding(seconds: 9000),
                                            store: store, zones: { zones.rules(for: $0) })
        #expect(report.accounts.map(\.slot) == [3600, 7200, 9000].map { start.adding(seconds: $0) })
        #expect(report.accounts.allSatisfy { if case .succeeded = $0.outcome { true } else { false } })
        // Today's file alone would invent slots at :30 that never existed and drop the real ones.
        let naive = try SlotHistory.answer(job: job, zone: .utc, window: window, now: start.adding(seconds: 9000), store: store)
        #expect(naive.accounts.map(\.slot) == [1800, 5400, 9000].map { start.adding(seconds: $0) })
    }
}
