import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// Every slot has an account (issue 10, item 6): slots due while the daemon drains, the
/// downtime after a crash, collapsed misses, refusals during a store outage, and runs the
/// daemon's own shutdown ended.
@Suite struct SlotAccountTests {
    static let scheduler = "ascribe-scheduler@testhost"

    /// Each of `job`'s slots in `(after, through]` has exactly one outcome: fired, skipped or missed.
    static func outcomes(_ events: [Event], job: String) -> [Int64: Int] {
        var count: [Int64: Int] = [:]
        for event in events where event.job == job && [.runFired, .runSkipped, .runMissed].contains(event.type) {
            if let slot = event.scheduledFor { count[slot.millisecondsSinceEpoch, default: 0] += 1 }
        }
        return count
    }

    /// SIGTERM with a run in progress: the drain waits, and the slots that come due meanwhile
    /// are `run.skipped` (`daemon-stopping`); the run the drain terminates says the shutdown
    /// stopped it, not just "killed by SIGTERM"; the next start counts nothing twice.
    @Test func slotsDueWhileDrainingAreRecordedAndTheNextStartBeginsAfterThem() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("stuck", schedule: "* * * * *", command: "/bin/sleep 60")
        try harness.job("held", schedule: "0 0 1 1 *", command: "/bin/sleep 60")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        var (daemon, task) = await harness.start(clock: clock) { $0.drainGrace = .seconds(2) }
        // A manual run through the socket, in progress when the stop comes.
        let manual = Task { try await harness.control(.run(job: "held", reason: "drill")) }
        clock.advance(by: 60)
        await clock.waitForSleeper()
        while try harness.events().filter({ $0.type == .runFired }).count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        await daemon.stop(signal: SIGTERM)
        // The drain waits for the run (2 s of real time); two more slots come due meanwhile.
        clock.advance(by: 120)
        #expect(await task.value == .stopped)
        // Its client is told the shutdown stopped it.
        guard case .runEnded(false, let message)? = try await manual.value.last else {
            Issue.record("the manual run's client got no end")
            return
        }
        #expect(message.contains("stopped by the daemon's shutdown (requested by SIGTERM)"), "\(message)")

        let drained = try harness.events()
        let skipped = drained.filter { $0.type == .runSkipped && $0.job == "stuck" }
        #expect(skipped.map(\.scheduledFor) == [EventTime(start.adding(seconds: 120)), EventTime(start.adding(seconds: 180))])
        #expect(skipped.allSatisfy { $0.details["skip_reason"] == "daemon-stopping" && $0.reason?.contains("received SIGTERM") == true })
        let stopped = try #require(drained.last)
        #expect(stopped.type == .daemonStopped && stopped.details["slots_while_stopping"] == "2")

        // The run the drain ended: its terminal event names the shutdown, typed and in words.
        let ended = try #require(drained.first { $0.type == .runFailed && $0.job == "stuck" })
        #expect(ended.signal == SIGTERM)
        #expect(ended.details["stopped_by"] == "daemon-shutdown")
        #expect(ended.reason == "stopped by the daemon's shutdown (requested by SIGTERM)")
        let definition = try #require(try FaultChecks.definitions(harness.jobs).first { $0.name.rawValue == "stuck" })
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let answer = try SlotHistory.answer(job: definition, zone: .utc, window: .at(start.adding(seconds: 60)),
                                            now: start.adding(seconds: 180), store: store)
        let words = try #require(answer.accounts.first).words(in: .utc)
        #expect(words.hasPrefix("stopped by the daemon's shutdown (requested by SIGTERM): SIGTERM after"), "\(words)")

        // Ten minutes later a new start: its downtime begins at daemon.stopped, after the drain's slots.
        clock.advance(by: 600)
        (daemon, task) = await harness.start(clock: clock)
        await daemon.stop()
        _ = await task.value
        let events = try harness.events()
        let outcomes = Self.outcomes(events, job: "stuck")
        for minute in 1...13 {
            #expect(outcomes[EventTime(start.adding(seconds: Int64(minute) * 60)).millisecondsSinceEpoch] == 1, "minute \(minute)")
        }
        let missed = events.filter { $0.type == .runMissed }
        #expect(missed.first?.details["down_cause"] == "stopped")
        #expect(missed.first?.details["down_from"] == stopped.time.rfc3339)
    }

    /// A previous daemon (pid 999999) that fired slots well after its last heartbeat, then died
    /// without `daemon.stopped`.
    static func seedCrashedDaemon(_ harness: DaemonHarness, started: Instant, firedAt slots: [(slot: Instant, at: Instant)]) throws {
        var drafts = [EventDraft(time: EventTime(started), host: "testhost", type: .daemonStarted, actor: scheduler,
                                 details: ["pid": "999999", "pid_start": "1"]),
                      EventDraft(time: EventTime(started.adding(seconds: 60)), host: "testhost", type: .daemonHeartbeat,
                                 actor: scheduler)]
        for (index, fired) in slots.enumerated() {
            var draft = EventDraft(time: EventTime(fired.at), host: "testhost", type: .runFired, actor: "ticker-runner",
                                   owner: "test-team <test@example.com>", job: "ticker", identity: "ticker-runner",
                                   runID: String(format: "%032x", index + 1), scheduledFor: EventTime(fired.slot))
            draft.details = ["trigger": "schedule", "recorder_pid": "999999", "recorder_start": "1"]
            var ended = draft
            ended.type = .runSucceeded
            drafts += [draft, ended]
        }
        try harness.seed(drafts)
    }

    /// After a crash the downtime starts at the previous daemon's newest event, not at its last
    /// heartbeat; `run.missed` and `why` say it crashed.
    @Test func theMissedWindowAfterACrashStartsAtTheLastEvent() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("ticker", schedule: "*/10 * * * *", command: "/bin/true")
        let now = DaemonHarness.startOfHour()
        let began = now.adding(seconds: -3 * 3600)
        try Self.seedCrashedDaemon(harness, started: began, firedAt: (1...6).map {
            (began.adding(seconds: Int64($0) * 600), began.adding(seconds: Int64($0) * 600 + 5))
        })
        let lastEvent = EventTime(began.adding(seconds: 3605))
        let clock = FakeDaemonClock(now: now)
        let (daemon, task) = await harness.start(clock: clock)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let missed = events.filter { $0.type == .runMissed }
        #expect(missed.map(\.scheduledFor) == (7...18).map { EventTime(began.adding(seconds: Int64($0) * 600)) })
        #expect(missed.allSatisfy { $0.details["down_from"] == lastEvent.rfc3339 && $0.details["down_cause"] == "crashed" })
        #expect(missed.first?.reason?.contains("it crashed: no daemon.stopped was recorded") == true)
        #expect(Self.outcomes(events, job: "ticker").values.allSatisfy { $0 == 1 })

        let definition = try #require(try FaultChecks.definitions(harness.jobs).first)
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let answer = try SlotHistory.answer(job: definition, zone: .utc, window: .at(began.adding(seconds: 4200)),
                                            now: now, store: store)
        let words = try #require(answer.accounts.first).words(in: .utc)
        #expect(words.contains("from \(ZoneRules.utc.rfc3339(lastEvent.instant)) to \(ZoneRules.utc.rfc3339(now))"), "\(words)")
        #expect(words.contains("the daemon crashed: no daemon.stopped was recorded; its last sign of life was at \(ZoneRules.utc.rfc3339(lastEvent.instant))"), "\(words)")
    }

    /// A stopped daemon: `run.missed` carries who stopped it (from `daemon.stopped`) and `why` says so.
    @Test func whySaysWhoStoppedTheDaemon() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("ticker", schedule: "0 * * * *", command: "/bin/true")
        let now = DaemonHarness.startOfHour()
        let stoppedAt = now.adding(seconds: -2 * 3600 - 60)
        try harness.seed([
            EventDraft(time: EventTime(stoppedAt.adding(seconds: -600)), host: "testhost", type: .daemonStarted, actor: Self.scheduler,
                       details: ["pid": "999999"]),
            EventDraft(time: EventTime(stoppedAt), host: "testhost", type: .daemonStopped, actor: Self.scheduler,
                       reason: "received SIGTERM from pid 4242 (systemctl) of root (uid 0)",
                       details: ["stop_signal": "SIGTERM", "stopped_by_pid": "4242", "stopped_by_uid": "0",
                                 "stopped_by_user": "root", "stopped_by_process": "systemctl"]),
        ])
        let clock = FakeDaemonClock(now: now)
        let (daemon, task) = await harness.start(clock: clock)
        await daemon.stop()
        _ = await task.value

        let missed = try harness.events().filter { $0.type == .runMissed }
        #expect(missed.count == 3)
        #expect(missed.allSatisfy { $0.details["down_cause"] == "stopped" && $0.details["stopped_by_pid"] == "4242"
            && $0.details["stopped_by_process"] == "systemctl" && $0.details["stopped_by_user"] == "root" })
        let definition = try #require(try FaultChecks.definitions(harness.jobs).first)
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let answer = try SlotHistory.answer(job: definition, zone: .utc, window: .at(now.adding(seconds: -3600)), now: now, store: store)
        let words = try #require(answer.accounts.first).words(in: .utc)
        #expect(words.contains("(the daemon was stopped at \(ZoneRules.utc.rfc3339(stoppedAt)): received SIGTERM from pid 4242 (systemctl) of root (uid 0))"), "\(words)")
    }

    /// More than 100 missed slots collapse into one event whose count and first slot describe
    /// only the slots actually missed — not those the previous daemon fired.
    @Test func aCollapsedMissCountsOnlyTheSlotsMissed() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("ticker", schedule: "* * * * *", command: "/bin/true")
        let now = DaemonHarness.startOfHour()
        let began = now.adding(seconds: -3 * 3600)
        func minute(_ n: Int64) -> Instant { began.adding(seconds: n * 60) }
        // Minutes 1–3 fired on time; minute 5 fired at minute 4 (a clock running behind),
        // so it lies inside the window that starts at the last event.
        try Self.seedCrashedDaemon(harness, started: began, firedAt: [(minute(1), minute(1)), (minute(2), minute(2)),
                                                                      (minute(3), minute(3)), (minute(5), minute(4))])
        let clock = FakeDaemonClock(now: now)
        let (daemon, task) = await harness.start(clock: clock)
        await daemon.stop()
        _ = await task.value

        let missed = try harness.events().filter { $0.type == .runMissed }
        #expect(missed.count == 1)
        let event = try #require(missed.first)
        #expect(event.details["count"] == "175")
        #expect(event.details["first"] == EventTime(minute(6)).rfc3339)
        #expect(event.details["last"] == EventTime(now).rfc3339)
    }

    /// A manual run refused while the store cannot be written is held and recorded once the
    /// store is back (it was written with `try?` and lost).
    @Test(.requires(TmpfsMount.permitted, TmpfsMount.refused))
    func aRefusedManualRunDuringAStoreOutageIsRecordedAfterRecovery() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        let mount = try TmpfsMount(path: harness.state, size: "1m")
        defer { mount.unmount() }
        try harness.job("paused", schedule: "0 0 1 1 *", command: "/bin/true", ["enabled = no"])
        try harness.job("minutely", schedule: "* * * * *", command: "/bin/true")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock)
        try mount.fill(storePath: harness.storePath)
        let replies = try await harness.control(.run(job: "paused", reason: "during the outage"))
        #expect(replies.last.map { if case .refused(.notRun, _) = $0 { true } else { false } } == true)
        mount.free()
        await clock.advance(by: 60, settling: daemon)
        await daemon.stop()
        _ = await task.value

        let skipped = try harness.events().filter { $0.type == .runSkipped && $0.job == "paused" }
        #expect(skipped.count == 1)
        #expect(skipped.first?.details["trigger"] == "manual" && skipped.first?.details["skip_reason"] == "job-disabled")
        #expect(skipped.first?.details["happened_at"] != nil)
    }

    /// Root forces a run through the daemon's socket: it starts despite `enabled = no`, and
    /// its `run.fired` says it was forced and what it overrode.
    @Test(.requires(isRoot, "--force is root's: needs root (CI runs as root)"))
    func rootForcesARunThroughTheDaemon() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("paused", schedule: "0 0 1 1 *", command: "/bin/true", ["enabled = no"])
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock)
        let replies = try await harness.control(.run(job: "paused", reason: "drill", force: true))
        #expect(replies.last.map { if case .runEnded(true, _) = $0 { true } else { false } } == true)
        await daemon.stop()
        _ = await task.value

        let fired = try #require(try harness.events().first { $0.type == .runFired })
        #expect(fired.details["forced"] == "yes" && fired.details["overrode"] == "job-disabled")
        #expect(fired.details["overrode_reason"]?.contains("disabled by its job file") == true)
    }
}

/// The real daemon records who sent the signal that stopped it (`siginfo_t`), read by the
/// shim's SA_SIGINFO handler.
@Suite struct DaemonStopSenderTests {
    @Test func daemonStoppedNamesTheSendersPidUidAndProcess() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        #expect(try daemon.waitUntilAnswering())
        #expect(daemon.stop() == 0)

        // The last event but the shutdown checkpoint, which covers daemon.stopped.
        let stopped = try #require(try harness.events().last { $0.type != .checkpointSigned })
        #expect(stopped.type == .daemonStopped)
        let comm = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(stopped.details["stop_signal"] == "SIGTERM")
        #expect(stopped.details["stopped_by_pid"] == String(getpid()))
        #expect(stopped.details["stopped_by_uid"] == String(getuid()))
        #expect(stopped.details["stopped_by_process"] == comm)
        #expect(stopped.reason?.hasPrefix("received SIGTERM from pid \(getpid()) (\(comm)) of ") == true)
    }
}
