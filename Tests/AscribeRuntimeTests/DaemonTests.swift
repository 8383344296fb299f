import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// The scheduler in-process, driven through time by a fake clock, with real job processes.
@Suite struct DaemonSchedulingTests {
    @Test func aDayOfAQuarterHourJobFiresEverySlot() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<96 {
            await clock.advance(by: 900, settling: daemon)
        }
        await daemon.stop()
        #expect(await task.value == .stopped)

        let events = try harness.events()
        let fired = events.filter { $0.type == .runFired }
        #expect(fired.count == 96)
        #expect(events.filter { $0.type == .runSucceeded }.count == 96)
        let expected = (1...96).map { EventTime(start.adding(seconds: Int64($0) * 900)) }
        #expect(fired.map(\.scheduledFor) == expected)
        #expect(fired.allSatisfy { $0.details["trigger"] == "schedule" && $0.actor == "reaper-runner" })
        let types = events.map(\.type)
        #expect(types.first == .daemonStarted && types.last == .daemonStopped)
        #expect(types.contains(.configLoaded) && types.contains(.daemonHeartbeat))
        #expect(events.first?.actor == "ascribe-scheduler@testhost")
    }

    @Test func overlapSkipNamesTheRunInProgress() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("slow", schedule: "* * * * *", command: harness.gatedCommand)
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<2 {
            clock.advance(by: 60)
            await clock.waitForSleeper()
        }
        harness.openGate()
        await DaemonHarness.waitUntilIdle(daemon)
        await clock.advance(by: 60, settling: daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let fired = events.filter { $0.type == .runFired }
        let skipped = events.filter { $0.type == .runSkipped }
        #expect(fired.map(\.scheduledFor) == [EventTime(start.adding(seconds: 60)), EventTime(start.adding(seconds: 180))])
        #expect(skipped.count == 1)
        let skip = try #require(skipped.first)
        #expect(skip.scheduledFor == EventTime(start.adding(seconds: 120)))
        #expect(skip.details["skip_reason"] == "overlap")
        #expect(skip.details["running_run_id"] == fired.first?.runID)
        #expect(skip.reason?.contains(fired.first?.runID ?? "?") == true)
    }

    @Test func overlapQueueRunsOnceAfterTheCurrentRun() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("slow", schedule: "* * * * *", command: harness.gatedCommand, ["overlap = queue"])
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<3 {
            clock.advance(by: 60)
            await clock.waitForSleeper()
        }
        harness.openGate()
        await DaemonHarness.waitUntilIdle(daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let fired = events.filter { $0.type == .runFired }
        #expect(fired.map(\.scheduledFor) == [EventTime(start.adding(seconds: 60)), EventTime(start.adding(seconds: 120))])
        #expect(fired.last?.details["queued_behind"] == fired.first?.runID)
        // The queued run starts only after the first has ended.
        let firstEnd = try #require(events.firstIndex { $0.type == .runSucceeded && $0.runID == fired.first?.runID })
        let secondStart = try #require(events.firstIndex { $0.runID == fired.last?.runID })
        #expect(firstEnd < secondStart)
        let skipped = events.filter { $0.type == .runSkipped }
        #expect(skipped.map(\.scheduledFor) == [EventTime(start.adding(seconds: 180))])
        #expect(skipped.first?.details["skip_reason"] == "overlap")
    }

    @Test func overlapAllowRunsConcurrently() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("slow", schedule: "* * * * *", command: harness.gatedCommand, ["overlap = allow"])
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<2 {
            clock.advance(by: 60)
            await clock.waitForSleeper()
        }
        harness.openGate()
        await DaemonHarness.waitUntilIdle(daemon)
        await daemon.stop()
        _ = await task.value

        let runTypes = try harness.events().filter { $0.type.isRun }.map(\.type)
        #expect(runTypes == [.runFired, .runFired, .runSucceeded, .runSucceeded])
    }

    @Test func disabledJobSlotsAreSkippedNamingTheFile() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("paused", schedule: "*/15 * * * *", command: "/bin/true", ["enabled = no"])
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<2 {
            clock.advance(by: 900)
            await clock.waitForSleeper()
        }
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        #expect(!events.contains { $0.type == .runFired })
        let skipped = events.filter { $0.type == .runSkipped }
        #expect(skipped.count == 2)
        #expect(skipped.allSatisfy { $0.details["skip_reason"] == "job-disabled" })
        #expect(skipped.first?.details["disabled_by"]?.hasPrefix(harness.jobs + "/paused.job:") == true)
    }

    @Test func stopTerminatesRunsAfterTheGraceAndRecordsThem() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("stuck", schedule: "* * * * *", command: "/bin/sleep 60")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock) { $0.drainGrace = .milliseconds(200) }
        clock.advance(by: 60)
        await clock.waitForSleeper()
        while try !harness.events().contains(where: { $0.type == .runFired }) { try await Task.sleep(for: .milliseconds(10)) }
        await daemon.stop(signal: SIGTERM)
        #expect(await task.value == .stopped)

        let events = try harness.events()
        // Ended by the drain's SIGTERM after the grace, not waited for (`sleep 60`): no timing needed.
        let failed = try #require(events.first { $0.type == .runFailed })
        #expect(failed.signal == SIGTERM)
        // Written last (by seq); its time is the fake clock's, the run's the real one.
        let stopped = try #require(events.max { $0.seq < $1.seq })
        #expect(stopped.type == .daemonStopped)
        #expect(stopped.details["terminated_runs"] == "1")
        #expect(stopped.reason == "received SIGTERM")
    }
}

/// Start-up accounting: downtime becomes `run.missed` (then catch-up), open runs become `run.lost`.
@Suite struct DaemonStartupTests {
    func seedStopped(_ harness: DaemonHarness, at time: Instant) throws {
        try harness.seed([EventDraft(time: EventTime(time), host: "testhost", type: .daemonStopped,
                                     actor: "ascribe-scheduler@testhost")])
    }

    @Test(arguments: [CatchUpPolicy.none, .once, .all])
    func threeHourDowntime(policy: CatchUpPolicy) async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true", ["catch-up = \(policy.rawValue)"])
        let now = DaemonHarness.startOfHour()
        try seedStopped(harness, at: now.adding(seconds: -3 * 3600))
        let clock = FakeDaemonClock(now: now)
        let (daemon, task) = await harness.start(clock: clock)
        await DaemonHarness.waitUntilIdle(daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let slots = (0..<12).map { EventTime(now.adding(seconds: -3 * 3600 + Int64($0 + 1) * 900)) }
        let missed = events.filter { $0.type == .runMissed }
        #expect(missed.map(\.scheduledFor) == slots)
        #expect(missed.allSatisfy { $0.details["catch_up"] == policy.rawValue && $0.actor == "ascribe-scheduler@testhost" })
        #expect(missed.first?.reason?.contains("the daemon was down") == true)
        let fired = events.filter { $0.type == .runFired }
        switch policy {
        case .none: #expect(fired.isEmpty)
        case .once: #expect(fired.map(\.scheduledFor) == [slots.last])
        case .all: #expect(fired.map(\.scheduledFor) == slots)
        }
        #expect(fired.allSatisfy { $0.details["trigger"] == "catch-up" })
        #expect(events.filter { $0.type == .runSucceeded }.count == fired.count)
    }

    /// The slots missed while the daemon was down come from the definitions it had loaded —
    /// archived by hash — not from files edited, added or removed during the downtime.
    @Test func missedSlotsFollowTheDefinitionsInForceDuringTheDowntime() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("report", schedule: "0 * * * *", command: "/bin/true")
        try harness.job("gone", schedule: "0 * * * *", command: "/bin/true", ["catch-up = all"])
        let now = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: now.adding(seconds: -3 * 3600))
        var (daemon, task) = await harness.start(clock: clock)
        await daemon.stop()
        _ = await task.value
        let oldHash = try #require(harness.events().first { $0.type == .configLoaded }?.details["jobs"])

        try harness.job("report", schedule: "30 * * * *", command: "/bin/true")
        try harness.job("fresh", schedule: "*/15 * * * *", command: "/bin/true")
        try FileManager.default.removeItem(atPath: harness.jobs + "/gone.job")
        clock.advance(by: 3 * 3600)
        (daemon, task) = await harness.start(clock: clock)
        await DaemonHarness.waitUntilIdle(daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let missed = events.filter { $0.type == .runMissed }
        let hours = (1...3).map { EventTime(now.adding(seconds: Int64($0 - 3) * 3600)) }
        #expect(missed.filter { $0.job == "report" }.map(\.scheduledFor) == hours)
        #expect(missed.filter { $0.job == "gone" }.map(\.scheduledFor) == hours)
        #expect(!missed.contains { $0.job == "fresh" })
        let reportHash = try #require(missed.first { $0.job == "report" }?.configHash)
        #expect(oldHash.contains("report=\(reportHash.prefix(12))"))
        // Catch-up follows what is loaded now: a removed job is not run.
        #expect(!events.contains { $0.type == .runFired })
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let archived = try #require(try store.definition(hashPrefix: String(reportHash.prefix(12))))
        #expect(String(decoding: archived.bytes, as: UTF8.self).contains("schedule = 0 * * * *"))
    }

    @Test func moreThanAHundredMissedSlotsCollapseIntoOneEvent() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("ticker", schedule: "* * * * *", command: "/bin/true")
        let now = DaemonHarness.startOfHour()
        try seedStopped(harness, at: now.adding(seconds: -3 * 3600))
        let clock = FakeDaemonClock(now: now)
        let (daemon, task) = await harness.start(clock: clock)
        await daemon.stop()
        _ = await task.value

        let missed = try harness.events().filter { $0.type == .runMissed }
        #expect(missed.count == 1)
        let event = try #require(missed.first)
        #expect(event.details["count"] == "180")
        #expect(event.details["first"] == EventTime(now.adding(seconds: -3 * 3600 + 60)).rfc3339)
        #expect(event.details["last"] == EventTime(now).rfc3339)
    }

    @Test func firedWithoutAnEndBecomesLost() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "0 0 1 1 *", command: "/bin/true")
        let now = DaemonHarness.startOfHour()
        var fired = EventDraft(time: EventTime(now.adding(seconds: -600)), host: "testhost", type: .runFired,
                               actor: "reaper-runner", owner: "test-team <test@example.com>", job: "reaper",
                               identity: "reaper-runner", runID: "0123456789abcdef0123456789abcdef",
                               scheduledFor: EventTime(now.adding(seconds: -600)))
        fired.details["trigger"] = "schedule"
        var ended = fired
        ended.runID = "fedcba9876543210fedcba9876543210"
        var succeeded = ended
        succeeded.type = .runSucceeded
        try harness.seed([fired, ended, succeeded])
        try seedStopped(harness, at: now.adding(seconds: -60))
        let clock = FakeDaemonClock(now: now)
        let (daemon, task) = await harness.start(clock: clock)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let lost = events.filter { $0.type == .runLost }
        #expect(lost.count == 1)
        let event = try #require(lost.first)
        #expect(event.runID == fired.runID)
        #expect(event.scheduledFor == fired.scheduledFor)
        #expect(event.job == "reaper" && event.identity == "reaper-runner" && event.owner == fired.owner)
        #expect(event.details["process_group"] != "exists" && event.details["surviving_pids"] == nil)
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        #expect(try store.verify() == .intact(count: events.count))
    }

    /// A run whose recorder (an `ascribe run` in the foreground) is still alive is not lost.
    /// One whose recorder died (even if its pid now belongs to another process) but whose
    /// processes still run is adopted: listed as running, named in a heartbeat, and closed as
    /// `run.lost` only when its last process has ended, saying so.
    @Test func aRunStillOwnedByALiveProcessIsNotLost() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "0 0 1 1 *", command: "/bin/true")
        let now = DaemonHarness.startOfHour()
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        // Long enough to outlast the test on a loaded machine; killed below and on every exit.
        sleeper.arguments = ["600"]
        // It carries the orphaned run's id, as a job the dead recorder started would. A fresh id:
        // the daemon looks in all of /proc, where other test runs' processes live too.
        let orphanedRunID = RandomIdentifier.hex128()
        sleeper.environment = ["ASCRIBE_RUN_ID": orphanedRunID]
        try sleeper.run()
        // SIGKILL: a child started from a thread of the concurrency pool inherits its blocked SIGTERM.
        defer { if sleeper.isRunning { kill(sleeper.processIdentifier, SIGKILL) } }
        let alive = try #require(RecorderProcess.startTicks(of: sleeper.processIdentifier))
        var owned = EventDraft(time: EventTime(now.adding(seconds: -60)), host: "testhost", type: .runFired,
                               actor: "reaper-runner", owner: "test-team <test@example.com>", job: "reaper",
                               identity: "reaper-runner", runID: "0123456789abcdef0123456789abcdef")
        owned.details = RecorderProcess(pid: sleeper.processIdentifier, startTicks: alive).details
        var orphaned = owned
        orphaned.runID = orphanedRunID
        orphaned.details = RecorderProcess(pid: sleeper.processIdentifier, startTicks: alive + 1).details
        try harness.seed([owned, orphaned])
        let clock = FakeDaemonClock(now: now)
        let (daemon, task) = await harness.start(clock: clock)

        // Adopted: running, not lost, and the log says why it stays open.
        let running = await daemon.statusJSON(now: now)["running"]?.arrayValue ?? []
        #expect(running.compactMap { $0["run_id"]?.stringValue } == [orphaned.runID])
        // Contains: under parallel tests another process spawned meanwhile can carry the variable too.
        #expect(running.first?["adopted_pids"]?.arrayValue?.compactMap(\.intValue).contains(Int64(sleeper.processIdentifier)) == true)
        let early = try harness.events().filter { $0.type == .runLost }
        #expect(early.isEmpty, "\(early.map { "\($0.runID ?? "") \($0.reason ?? "") \($0.details)" })")
        let note = try #require(try harness.events().first { $0.details["adopted_runs"] != nil })
        #expect(note.type == .daemonHeartbeat && note.details["adopted_runs"] == orphaned.runID)

        // Its process ends: the watch records the run's one terminal event.
        kill(sleeper.processIdentifier, SIGKILL)
        sleeper.waitUntilExit()
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline, try !harness.events().contains(where: { $0.type == .runLost }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await daemon.statusJSON(now: now)["running"]?.arrayValue?.isEmpty == true)
        await daemon.stop()
        _ = await task.value

        let lost = try harness.events().filter { $0.type == .runLost }
        #expect(lost.map(\.runID) == [orphaned.runID])
        #expect(lost.first?.details["recorder_pid"] == nil)
        #expect(lost.first?.details["process_group"] == "ended")
        #expect(lost.first?.details["surviving_pids"]?.split(separator: ",").contains(Substring(String(sleeper.processIdentifier))) == true)
        #expect(lost.first?.details["adopted_at"] == EventTime(now).rfc3339)
        #expect(lost.first?.reason?.contains("its processes ran on until") == true)
    }
}

/// The real executable: one daemon per state directory, SIGTERM drains and exits 0.
@Suite struct DaemonCommandLineTests {
    @Test func secondDaemonExitsTwoNamingTheHolderAndSigtermStopsTheFirst() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        let arguments = ["daemon", "--jobs", harness.jobs, "--state", harness.state, "--keys", harness.state + "/keys"] + (isRoot ? [] : ["--dev"])
        let first = Process()
        first.executableURL = URL(fileURLWithPath: AscribeBinary.path)
        first.arguments = arguments
        let out = Pipe()
        first.standardOutput = out
        first.standardError = FileHandle.nullDevice
        first.diesWithTestProcess()
        try first.run()
        defer { if first.isRunning { first.terminate(); first.waitUntilExit() } }
        let lockPath = harness.state + "/daemon.lock"
        let deadline = Date().addingTimeInterval(10)
        while (try? String(contentsOfFile: lockPath, encoding: .utf8))?.contains("\(first.processIdentifier)") != true,
              Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }

        let second = try AscribeBinary.run(arguments)
        #expect(second.status == 2)
        #expect(second.stderr.contains("another daemon (pid \(first.processIdentifier)) holds \(lockPath)"))

        first.terminate()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(output.contains("daemon.started"))
        #expect(output.contains("daemon.stopped") && output.contains("received SIGTERM"))
        let verify = try AscribeBinary.run(["verify", "--state", harness.state])
        #expect(verify.status == 0)
    }
}

/// Once started, the daemon says when each job runs next: the soonest 20 in the job's zone
/// with "in …", the rest counted, and jobs without a next slot counted too; with --verbose
/// its event lines carry every field.
@Suite struct DaemonNextSlotsTests {
    @Test func theDaemonPrintsEachJobsNextSlotWhenItStarts() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        for index in 0..<21 {
            try harness.job("daily-\(index < 10 ? "0" : "")\(index)", schedule: "0 3 * * *", command: "/bin/true")
        }
        try harness.job("paused", schedule: "0 3 * * *", command: "/bin/true", ["enabled = no"])
        try harness.job("tokyo", schedule: "* * * * *", command: "/bin/true", ["timezone = Asia/Tokyo"])
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: AscribeBinary.path)
        daemon.arguments = ["daemon", "--jobs", harness.jobs, "--state", harness.state, "--no-syslog", "--control-group", "none",
                            "--keys", harness.state + "/keys",
                            "--verbose"] + (isRoot ? [] : ["--dev"])
        daemon.environment = ["TZ": "Europe/Berlin", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        daemon.standardOutput = out
        daemon.standardError = FileHandle.nullDevice
        daemon.diesWithTestProcess()
        try daemon.run()
        // Stopped on every path: when the lines came, or after 30 s if they never do.
        let watchdog = DispatchWorkItem { daemon.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
        var text = ""
        while !text.contains("without a next slot") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        watchdog.cancel()
        daemon.terminate()
        daemon.waitUntilExit()
        let lines = text.split(separator: "\n").map(String.init)
        // --verbose: every field of each event, the details included.
        #expect(lines.contains { $0.contains("  config.loaded  -  actor ascribe-scheduler@") && $0.contains("  directory=\"") })
        guard let heading = lines.firstIndex(of: "next slots (in each job's time zone):") else {
            Issue.record("no next slots heading in \(text)")
            return
        }
        let listed = Array(lines[(heading + 1)...].prefix(22))
        #expect(listed.count == 22)
        #expect(listed.first?.hasPrefix("  tokyo ") == true && listed.first?.contains(" Asia/Tokyo  (in ") == true)
        #expect(listed.dropFirst().prefix(19).allSatisfy { $0.hasPrefix("  daily-") && $0.contains(" 03:00 Europe/Berlin  (in ") })
        #expect(listed[20] == "  … and 2 more (ascribe status, ascribe plan)")
        #expect(listed[21] == "  1 job without a next slot (disabled, @reboot or never firing)")
    }
}

@Suite struct DaemonReloadTests {
    /// SIGHUP's reload: a valid change swaps in, a new file adds a job, a removed file drops
    /// one, and a broken file is rejected with file:line while its previous definition keeps
    /// firing.
    @Test func reloadSwapsValidFilesAndKeepsThePreviousDefinitionOfABrokenOne() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("steady", schedule: "*/15 * * * *", command: "/bin/true")
        try harness.job("edited", schedule: "*/15 * * * *", command: "/bin/true")
        try harness.job("leaving", schedule: "*/15 * * * *", command: "/bin/true")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock)

        try harness.job("edited", schedule: "*/15 * * * *", command: "/bin/echo edited")
        try harness.job("arriving", schedule: "*/15 * * * *", command: "/bin/true")
        try FileManager.default.removeItem(atPath: harness.jobs + "/leaving.job")
        try "schedule = 61 * * * *\nidentity = steady-runner\n".write(
            toFile: harness.jobs + "/steady.job", atomically: true, encoding: .utf8)
        await daemon.reload(signal: SIGHUP)
        await clock.waitForSleeper()
        await clock.advance(by: 900, settling: daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let loaded = try #require(events.last { $0.type == .configLoaded })
        #expect(loaded.details["added"]?.hasPrefix("arriving=") == true)
        #expect(loaded.details["changed"]?.hasPrefix("edited=") == true)
        #expect(loaded.details["removed"]?.hasPrefix("leaving=") == true)
        #expect(loaded.reason?.contains("SIGHUP") == true)
        let rejected = events.filter { $0.type == .configRejected }
        #expect(rejected.count >= 1)
        #expect(rejected.allSatisfy { $0.configSource?.hasPrefix(harness.jobs + "/steady.job:") == true })
        #expect(rejected.contains { $0.reason?.contains("minute field") == true })
        #expect(rejected.allSatisfy { $0.job == "steady" })
        let fired = Set(events.filter { $0.type == .runFired }.compactMap(\.job))
        #expect(fired == ["steady", "edited", "arriving"])
        let editedRun = try #require(events.last { $0.type == .runSucceeded && $0.job == "edited" })
        #expect(editedRun.outputTail == "edited\n")
    }
}

/// Wall-clock steps follow Debian cron's rules (cron.c's wakeupKind), on the daemon's timeline.
@Suite struct DaemonClockStepTests {
    @Test func aForwardStepUnderThreeHoursRunsFixedSlotsAndOnlyTheCurrentWildcardMinute() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("wild", schedule: "*/10 * * * *", command: "/bin/true")
        // Both gap slots start in the same tick; `allow` keeps overlap out of this test.
        try harness.job("fixed", schedule: "15 0-23 * * *", command: "/bin/true", ["overlap = allow"])
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        await clock.advance(by: 7200, settling: daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let fired = events.filter { $0.type == .runFired }
        #expect(fired.filter { $0.job == "fixed" }.map(\.scheduledFor)
            == [EventTime(start.adding(seconds: 900)), EventTime(start.adding(seconds: 4500))])
        #expect(fired.filter { $0.job == "wild" }.map(\.scheduledFor) == [EventTime(start.adding(seconds: 7200))])
        let missed = events.filter { $0.type == .runMissed }
        #expect(missed.allSatisfy { $0.job == "wild" && $0.reason?.hasPrefix("the wall clock jumped forward") == true })
        #expect(missed.map(\.scheduledFor) == (1...11).map { EventTime(start.adding(seconds: Int64($0) * 600)) })
        #expect(events.contains { $0.type == .daemonHeartbeat && $0.details["clock"]?.hasPrefix("jumped forward 7200 s") == true })
    }

    @Test func aBackwardStepRepeatsWildcardJobsButNotFixedTimeSlots() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("wild", schedule: "*/5 * * * *", command: "/bin/true")
        try harness.job("fixed", schedule: "7 0-23 * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        for _ in 0..<2 { await clock.advance(by: 300, settling: daemon) }
        await clock.advance(by: -600, settling: daemon)
        for _ in 0..<3 { await clock.advance(by: 300, settling: daemon) }
        await daemon.stop()
        _ = await task.value

        // In the order written: run events carry the daemon's (stepped) clock, as in production.
        let events = try harness.events().sorted { $0.seq < $1.seq }
        let fired = events.filter { $0.type == .runFired }
        let minute = { (offset: Int64) in EventTime(start.adding(seconds: offset * 60)) }
        #expect(fired.filter { $0.job == "wild" }.map(\.scheduledFor) == [minute(5), minute(10), minute(5), minute(10), minute(15)])
        #expect(fired.filter { $0.job == "wild" }.map { $0.details["clock"] != nil } == [false, false, true, true, false])
        #expect(fired.filter { $0.job == "fixed" }.map(\.scheduledFor) == [minute(7)])
        #expect(events.contains { $0.type == .daemonHeartbeat && $0.details["clock"]?.hasPrefix("stepped back 600 s") == true })
        #expect(events.filter { $0.type == .runFired }.count == events.filter { $0.type == .runSucceeded }.count)
    }
}

