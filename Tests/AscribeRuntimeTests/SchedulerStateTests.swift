import Testing
@testable import AscribeCore
@testable import AscribeRuntime

/// `SchedulerState` driven directly: no daemon, no threads, no store, no clock. Each test
/// hands it the time and what happened, and checks the drafts and actions it returns.
@Suite struct SchedulerStateTests {
    static let zones = ZoneDatabase()
    /// 2026-01-01T00:00:00.000Z.
    static let midnight = Instant(secondsSinceEpoch: 1_767_225_600)

    static func at(_ hours: Int64, _ minutes: Int64, _ seconds: Int64 = 0) -> Instant {
        midnight.adding(seconds: hours * 3600 + minutes * 60 + seconds)
    }

    static func job(_ name: String, _ schedule: String, _ extra: [String] = []) throws -> LoadedJob {
        let lines = ["schedule = \(schedule)", "identity = \(name)-runner", "owner = team <team@example.com>",
                     "command = /bin/true"] + extra
        let parsed = JobFile.parse(Array((lines.joined(separator: "\n") + "\n").utf8), path: "/jobs/\(name).job",
                                   zones: { zones.rules(for: $0) })
        return LoadedJob(definition: try #require(parsed.definition, "\(parsed.diagnostics)"), hash: String(repeating: "ab", count: 32))
    }

    /// A state with `jobs` loaded, scheduling from `start`; run ids are `run-1`, `run-2`, ….
    static func state(_ jobs: [LoadedJob], from start: Instant = midnight) -> SchedulerState {
        var issued = 0
        var state = SchedulerState(settings: SchedulerSettings(host: "test-host", development: false, jobsDirectory: "/jobs",
                                                               defaultZone: .utc),
                                   newRunID: {
                                       issued += 1
                                       return "run-\(issued)"
                                   })
        for job in jobs { state.jobs[job.definition.name] = job }
        state.begin(at: start)
        return state
    }

    static func nothingAccounted(_ job: JobName, since: Instant) -> Set<SlotKey> { [] }

    /// Carries the actions out as the daemon does while the store is writable: due slots go
    /// through `admit`, whose actions take their place.
    static func settle(_ actions: [SchedulerAction], _ state: inout SchedulerState, now: Instant) -> [SchedulerAction] {
        actions.flatMap { action -> [SchedulerAction] in
            if case .slotsDue(let runs) = action { return settle(state.admit(runs, now: now), &state, now: now) }
            return [action]
        }
    }

    static func tick(_ state: inout SchedulerState, to now: Instant, accounted: AccountedSlots = nothingAccounted(_:since:)) -> [SchedulerAction] {
        settle(state.tick(now: now, accounted: accounted), &state, now: now)
    }

    static func drafts(_ actions: [SchedulerAction]) -> [EventDraft] {
        actions.flatMap { action -> [EventDraft] in
            if case .record(let drafts) = action { return drafts }
            return []
        }
    }

    static func launches(_ actions: [SchedulerAction]) -> [[JobRun]] {
        actions.compactMap { action in
            if case .launch(let runs) = action { return runs }
            return nil
        }
    }

    static func slots(_ runs: [JobRun]) -> [String] {
        runs.map { "\($0.job.definition.name)@\($0.run.slot.map { EventTime($0).rfc3339 } ?? "manual")" }
    }

    // MARK: Due slots

    @Test func dueSlotsStartAsOneBatchAndCountAsRunning() throws {
        var state = Self.state([try Self.job("alpha", "*/5 * * * *"), try Self.job("beta", "*/5 * * * *")])
        #expect(state.wakeTime(now: Self.midnight) == Self.at(0, 1))
        let actions = Self.tick(&state, to: Self.at(0, 5))
        let batches = Self.launches(actions)
        #expect(batches.count == 1)
        #expect(Self.slots(batches.flatMap { $0 }) == ["alpha@2026-01-01T00:05:00.000Z", "beta@2026-01-01T00:05:00.000Z"])
        #expect(batches.flatMap { $0 }.map(\.run.runID) == ["run-1", "run-2"])
        #expect(state.active.count == 2)
        #expect(state.active.of(try JobName("alpha")) == ["run-1"])
        #expect(state.active["run-2"]?.slot == Self.at(0, 5))
        // The first heartbeat is due 300 s after the start.
        #expect(actions.contains { if case .heartbeat = $0 { true } else { false } })
        #expect(Self.drafts(actions).isEmpty)
        #expect(state.lastProcessed == Self.at(0, 5))
        #expect(state.heartbeat(at: Self.at(0, 5)).details[.runningRuns] == "2")
    }

    @Test func nothingDueStillAsksForTheDueSlotsSoAStoreOutageCanEnd() throws {
        var state = Self.state([try Self.job("alpha", "0 3 * * *")])
        let actions = state.tick(now: Self.at(0, 1), accounted: Self.nothingAccounted(_:since:))
        #expect(actions.count == 1)
        guard case .slotsDue(let runs)? = actions.first else {
            Issue.record("expected the due slots, got \(actions)")
            return
        }
        #expect(runs.isEmpty)
    }

    // MARK: Overlap

    @Test func overlapSkipRecordsTheRunInProgress() throws {
        var state = Self.state([try Self.job("sync", "* * * * *", ["overlap = skip"])])
        #expect(Self.launches(Self.tick(&state, to: Self.at(0, 1))).count == 1)
        let actions = Self.tick(&state, to: Self.at(0, 2))
        #expect(Self.launches(actions).isEmpty)
        let skipped = Self.drafts(actions)
        #expect(skipped.count == 1)
        #expect(skipped.first?.type == .runSkipped)
        #expect(skipped.first?.details.skipReason == .overlap)
        #expect(skipped.first?.details[.runningRunId] == "run-1")
        #expect(skipped.first?.scheduledFor == EventTime(Self.at(0, 2)))
        #expect(state.active.count == 1)
    }

    @Test func overlapQueueWaitsForTheRunsEndThenStarts() throws {
        var state = Self.state([try Self.job("sync", "* * * * *", ["overlap = queue"])])
        _ = Self.tick(&state, to: Self.at(0, 1))
        let queued = Self.tick(&state, to: Self.at(0, 2))
        #expect(Self.launches(queued).isEmpty && Self.drafts(queued).isEmpty)
        #expect(state.pending[try JobName("sync")]?.first?.details[.queuedBehind] == "run-1")
        // One run waits at most: the next slot is skipped.
        let third = Self.drafts(Self.tick(&state, to: Self.at(0, 3)))
        #expect(third.map(\.details.skipReason) == [.overlap])
        let ended = state.runEnded("run-1", now: Self.at(0, 3, 30))
        let next = Self.launches(ended)
        #expect(Self.slots(next.flatMap { $0 }) == ["sync@2026-01-01T00:02:00.000Z"])
        #expect(next.first?.first?.run.runID == "run-2")
        #expect(state.pending.isEmpty)
        #expect(state.active["run-1"] == nil)
        #expect(state.active.of(try JobName("sync")) == ["run-2"])
    }

    @Test func twoSlotsOfOneJobAtOneInstantSeeTheFirstRunning() throws {
        let job = try Self.job("sync", "* * * * *", ["overlap = skip"])
        var state = Self.state([job])
        let slot = PendingRun(slot: Self.at(0, 1), reason: nil, details: [:])
        let actions = state.admit([JobRun(job: job, run: slot), JobRun(job: job, run: slot)], now: Self.at(0, 1))
        #expect(Self.launches(actions).map(\.count) == [1])
        #expect(Self.drafts(actions).map(\.details.skipReason) == [.overlap])
    }

    // MARK: Disabled jobs

    @Test func aJobDisabledByItsFileIsSkippedNotStarted() throws {
        var state = Self.state([try Self.job("report", "* * * * *", ["enabled = no"])])
        let actions = Self.tick(&state, to: Self.at(0, 1))
        #expect(Self.launches(actions).isEmpty)
        let skipped = Self.drafts(actions)
        #expect(skipped.map(\.type) == [.runSkipped])
        #expect(skipped.first?.details.skipReason == .jobDisabled)
        #expect(skipped.first?.reason?.contains("/jobs/report.job") == true)
        #expect(state.active.isEmpty)
    }

    @Test func disablingAJobSkipsItsQueueAndItsNextSlots() throws {
        var state = Self.state([try Self.job("sync", "* * * * *", ["overlap = queue"])])
        _ = Self.tick(&state, to: Self.at(0, 1))
        _ = Self.tick(&state, to: Self.at(0, 2))
        let requester = Requester(principal: "alice", details: ["peer_uid": "1000"])
        guard case .record(let draft, _, let affected) = state.disablementChange(
            disable: true, ControlTarget(name: "sync", kind: .job), reason: "maintenance", requester: requester, now: Self.at(0, 2, 10)) else {
            Issue.record("expected a job.disabled to record")
            return
        }
        #expect(draft.type == .jobDisabled)
        #expect(draft.principal == "alice")
        #expect(draft.details[.runningRunsContinue] == "run-1")
        let event = Event(seq: 7, eventID: "e7", content: draft, prevHash: Event.genesisHash, hash: Event.genesisHash)
        let skippedQueue = Self.drafts(state.applyDisablement(event, affected: affected, now: Self.at(0, 2, 10)))
        #expect(skippedQueue.map(\.details.skipReason) == [.jobDisabled])
        #expect(skippedQueue.first?.scheduledFor == EventTime(Self.at(0, 2)))
        #expect(state.pending.isEmpty)
        // The run in progress goes on; its end starts nothing.
        #expect(state.runEnded("run-1", now: Self.at(0, 2, 20)).isEmpty)
        let next = Self.tick(&state, to: Self.at(0, 3))
        #expect(Self.launches(next).isEmpty)
        #expect(Self.drafts(next).map(\.details.skipReason) == [.jobDisabled])
        #expect(Self.drafts(next).first?.details[.disabledSeq] == "7")
        // Asking again changes nothing.
        guard case .unchanged = state.disablementChange(disable: true, ControlTarget(name: "sync"), reason: "again",
                                                         requester: requester, now: Self.at(0, 3)) else {
            Issue.record("a second disable should record nothing")
            return
        }
    }

    // MARK: Clock steps

    @Test func aForwardStepUnderThreeHoursRunsFixedSlotsAndOnlyTheCurrentWildcardMinute() throws {
        var state = Self.state([try Self.job("every-minute", "* * * * *"), try Self.job("ten-past", "10 0 * * *")])
        let actions = Self.tick(&state, to: Self.at(0, 20, 30))
        let drafts = Self.drafts(actions)
        #expect(drafts.first?.type == .daemonHeartbeat)
        #expect(drafts.first?.details[.clock]?.hasPrefix("jumped forward 1230 s") == true)
        let missed = drafts.filter { $0.type == .runMissed }
        #expect(missed.count == 19)
        #expect(Set(missed.compactMap(\.job)) == ["every-minute"])
        #expect(missed.allSatisfy { $0.details[.catchUp] == "none" })
        #expect(Self.slots(Self.launches(actions).flatMap { $0 }) == ["ten-past@2026-01-01T00:10:00.000Z", "every-minute@2026-01-01T00:20:00.000Z"])
    }

    @Test func aBackwardStepRepeatsWildcardSlotsButNotFixedOnes() throws {
        var state = Self.state([try Self.job("every-minute", "* * * * *", ["overlap = allow"]),
                                try Self.job("forty-five", "45 0 * * *")], from: Self.at(1, 0))
        let back = state.tick(now: Self.at(0, 30), accounted: Self.nothingAccounted(_:since:))
        #expect(Self.drafts(back).first?.details[.clock]?.hasPrefix("stepped back 1800 s") == true)
        #expect(state.lastProcessed == Self.at(1, 0))
        let repeated = Self.tick(&state, to: Self.at(0, 32))
        #expect(Self.slots(Self.launches(repeated).flatMap { $0 }) == ["every-minute@2026-01-01T00:31:00.000Z", "every-minute@2026-01-01T00:32:00.000Z"])
        #expect(Self.launches(repeated).flatMap { $0 }.allSatisfy { $0.run.details[.clock] == "repeated after the wall clock stepped back" })
        // Back past the point already processed: the rest of the stretch repeats, then normal slots.
        let caughtUp = Self.launches(Self.tick(&state, to: Self.at(1, 1))).flatMap { $0 }
        #expect(caughtUp.count == 29)
        #expect(!caughtUp.contains { $0.job.definition.name.rawValue == "forty-five" })
        #expect(caughtUp.last.map { Self.slots([$0]) } == ["every-minute@2026-01-01T01:01:00.000Z"])
    }

    @Test func aJumpOfThreeHoursOrMoreMissesTheGapAndRebases() throws {
        var state = Self.state([try Self.job("hourly", "0 * * * *", ["catch-up = all"])])
        let actions = Self.tick(&state, to: Self.at(4, 0))
        let drafts = Self.drafts(actions)
        #expect(drafts.first?.details[.clock]?.hasPrefix("jumped forward 14400 s") == true)
        let missed = drafts.filter { $0.type == .runMissed }
        #expect(missed.compactMap(\.scheduledFor) == [1, 2, 3, 4].map { EventTime(Self.at($0, 0)) })
        // A clock jump never catches up, whatever the job says.
        #expect(missed.allSatisfy { $0.details[.catchUp] == "none" })
        #expect(Self.launches(actions).isEmpty)
        #expect(state.lastProcessed == Self.at(4, 0))
        let back = state.tick(now: Self.at(0, 30), accounted: Self.nothingAccounted(_:since:))
        #expect(Self.drafts(back).first?.details[.clock] == "stepped back 12600 s: schedule re-based at the new time")
        #expect(state.lastProcessed == Self.at(0, 30))
    }

    // MARK: Missed slots

    @Test func aDowntimeMissesEachSlotNotAccountedAndCatchesUpTheLatest() throws {
        let job = try Self.job("hourly", "0 * * * *", ["catch-up = once"])
        var state = Self.state([job], from: Self.at(5, 30))
        let accountedTwo: AccountedSlots = { name, since in
            #expect(name.rawValue == "hourly" && since == Self.midnight)
            return [SlotKey(Fire(instant: Self.at(2, 0)))]
        }
        let actions = state.missed(after: Self.midnight, through: Self.at(5, 30), now: Self.at(5, 30), cause: .daemonDown,
                                   catchUp: true, accounted: accountedTwo)
        let missed = Self.drafts(actions)
        #expect(missed.compactMap(\.scheduledFor) == [1, 3, 4, 5].map { EventTime(Self.at($0, 0)) })
        #expect(missed.allSatisfy { $0.type == .runMissed && $0.details[.catchUp] == "once" })
        #expect(missed.first?.reason?.hasPrefix("the daemon was down from 2026-01-01T00:00:00.000Z to 2026-01-01T05:30:00.000Z") == true)
        let caughtUp = Self.launches(actions).flatMap { $0 }
        #expect(Self.slots(caughtUp) == ["hourly@2026-01-01T05:00:00.000Z"])
        #expect(caughtUp.first?.run.details.trigger == .catchUp)
        #expect(state.active.count == 1)
    }

    @Test func moreThanAHundredMissedSlotsCollapseAndCatchUpAllQueuesTheRest() throws {
        let job = try Self.job("minutely", "* * * * *", ["catch-up = all"])
        var state = Self.state([job], from: Self.at(3, 0))
        let actions = state.missed(after: Self.midnight, through: Self.at(3, 0), now: Self.at(3, 0), cause: .daemonDown,
                                   catchUp: true, accounted: Self.nothingAccounted(_:since:))
        let missed = Self.drafts(actions)
        #expect(missed.count == 1)
        #expect(missed.first?.details[.caughtUp] == "100")
        #expect(missed.first?.details[.notCaughtUp] == "80")
        #expect(Self.launches(actions).flatMap { $0 }.count == 1)
        #expect(state.pending[job.definition.name]?.count == 99)
    }

    // MARK: Runs ending

    @Test func aRunsEndClearsItsOneEntryInTheTable() throws {
        var state = Self.state([try Self.job("alpha", "* * * * *", ["overlap = allow"])])
        _ = Self.tick(&state, to: Self.at(0, 1))
        _ = Self.tick(&state, to: Self.at(0, 2))
        state.active.update("run-1") { $0.processGroup = 4242 }
        #expect(state.processGroups == [4242])
        #expect(state.active.of(try JobName("alpha")) == ["run-1", "run-2"])
        #expect(state.runEnded("run-1", now: Self.at(0, 2, 5)).isEmpty)
        #expect(state.active["run-1"] == nil)
        #expect(state.processGroups.isEmpty)
        #expect(state.active.of(try JobName("alpha")) == ["run-2"])
        #expect(state.runEnded("run-1", now: Self.at(0, 2, 6)).isEmpty)
        _ = state.runEnded("run-2", now: Self.at(0, 2, 7))
        #expect(state.active.isEmpty)
        #expect(state.active.byJob.isEmpty)
    }

    @Test func runsThatCouldNotStartAreNotRunning() throws {
        var state = Self.state([try Self.job("alpha", "* * * * *")])
        let runs = Self.launches(Self.tick(&state, to: Self.at(0, 1))).flatMap { $0 }
        state.launchRefused(runs.compactMap(\.run.runID))
        #expect(state.active.isEmpty)
        #expect(Self.launches(Self.tick(&state, to: Self.at(0, 2))).count == 1)
    }

    @Test func theDrainSkipsTheQueueAndMarksWhatItSignals() throws {
        var state = Self.state([try Self.job("sync", "* * * * *", ["overlap = queue"])])
        _ = Self.tick(&state, to: Self.at(0, 1))
        _ = Self.tick(&state, to: Self.at(0, 2))
        state.active.update("run-1") { $0.processGroup = 99 }
        state.stopping = true
        let skipped = state.drainQueue(now: Self.at(0, 2, 30))
        #expect(skipped.map(\.details.skipReason) == [.daemonStopping])
        #expect(state.signalledByShutdown() == [99])
        #expect(state.active["run-1"]?.stoppedByShutdown == true)
        // Stopping: a run's end starts nothing.
        #expect(state.runEnded("run-1", now: Self.at(0, 2, 40)).isEmpty)
        let whileStopping = state.slotsWhileStopping(through: Self.at(0, 4, 30), stopWords: "received SIGTERM")
        #expect(whileStopping.count == 2)
        #expect(whileStopping.drafts.map(\.details[.stopRequested]) == ["received SIGTERM", "received SIGTERM"])
    }

    // MARK: Adopted runs

    @Test func anAdoptedRunCountsAsRunningUntilItsProcessesAreGone() throws {
        let job = try Self.job("sync", "* * * * *", ["overlap = queue"])
        var state = Self.state([job])
        var fired = state.runEventDrafts.run(.runFired, job: job.definition, definitionHash: job.hash, runID: "old-run",
                                             principal: nil, reason: nil, argv: ["/bin/true"], at: EventTime(Self.midnight))
        fired.scheduledFor = EventTime(Self.midnight)
        let event = Event(seq: 3, eventID: "e3", content: fired, prevHash: Event.genesisHash, hash: Event.genesisHash)
        state.adopt(event, runID: "old-run", job: job.definition.name, pids: [321], now: Self.midnight)
        #expect(state.adoptionNote(at: Self.midnight)?.details[.adoptedRuns] == "old-run")
        // Its processes are not this daemon's: the drain never signals them.
        #expect(state.processGroups.isEmpty)
        let queued = Self.tick(&state, to: Self.at(0, 1))
        #expect(Self.launches(queued).isEmpty)
        #expect(state.pending[job.definition.name]?.first?.details[.queuedBehind] == "old-run")
        let ended = state.adoptedRunEnded("old-run", now: Self.at(0, 1, 30))
        let lost = Self.drafts(ended)
        #expect(lost.map(\.type) == [.runLost])
        #expect(lost.first?.details[.survivingPids] == "321")
        #expect(lost.first?.details[.firedSeq] == "3")
        #expect(Self.slots(Self.launches(ended).flatMap { $0 }) == ["sync@2026-01-01T00:01:00.000Z"])
        #expect(state.active["old-run"] == nil)
        // Its end is recorded once.
        #expect(state.adoptedRunEnded("old-run", now: Self.at(0, 1, 31)).isEmpty)
    }

    @Test func aReleasedAdoptionRecordsNoEndButStaysRunning() throws {
        let job = try Self.job("sync", "0 3 * * *")
        var state = Self.state([job])
        let fired = state.runEventDrafts.run(.runFired, job: job.definition, definitionHash: job.hash, runID: "old-run",
                                             principal: nil, reason: nil, argv: ["/bin/true"], at: EventTime(Self.midnight))
        state.adopt(Event(seq: 1, eventID: "e1", content: fired, prevHash: Event.genesisHash, hash: Event.genesisHash),
                    runID: "old-run", job: job.definition.name, pids: [321], now: Self.midnight)
        state.releaseAdoptions()
        #expect(state.adoptedRunEnded("old-run", now: Self.at(0, 5)).isEmpty)
        #expect(state.active.of(job.definition.name) == ["old-run"])
    }
}
