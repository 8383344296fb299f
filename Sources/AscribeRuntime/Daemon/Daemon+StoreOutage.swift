import AscribeCore

/// The slots of one job that came while the store could not be written: each becomes a
/// `run.skipped` (`store-unwritable`) once it can, or one collapsed event when there were more
/// than `SchedulerState.missedLimit`.
struct UnrecordableSlots {
    var job: LoadedJob
    var count = 0
    var first: Instant?
    var last: Instant?
    /// The slots one by one while there are at most `SchedulerState.missedLimit` of them.
    var slots: [Instant] = []

    mutating func add(_ slot: Instant, job latest: LoadedJob) {
        job = latest
        count += 1
        if first == nil { first = slot }
        last = slot
        if slots.count <= SchedulerState.missedLimit { slots.append(slot) }
    }
}

/// The event store could not be written: since when, why, the slots that passed meanwhile,
/// and the events that wait to be written (fail closed: nothing starts that cannot be recorded).
struct StoreOutage {
    var since: Instant
    var error: EventStoreError
    var slots: [JobName: UnrecordableSlots] = [:]
    /// Events decided during the outage (a run's end, a reload), written once the store
    /// accepts writes again; heartbeats are not kept.
    var held: [EventDraft] = []
    /// Held events beyond `Daemon.heldLimit`, dropped and counted.
    var dropped = 0
    var retry: Task<Void, Never>?
}

extension Daemon {
    /// The most events kept to be written after an outage.
    static let heldLimit = 1_000

    /// A write failed: from now on nothing starts; slots are kept to be recorded as skipped.
    func beginStoreOutage(_ error: EventStoreError, unrecorded drafts: [EventDraft], now: Instant) {
        guard error.meansStoreUnwritable else { return }
        if storeOutage == nil {
            storeOutage = StoreOutage(since: now, error: error)
            output(.problem("the event store \(configuration.stateDirectory) cannot be written (\(error.description)); "
                + "nothing starts until it can record again, and the slots until then will be recorded as skipped"))
            let interval = configuration.storeRetryInterval
            storeOutage?.retry = Task {
                while !Task.isCancelled, self.storeOutage != nil {
                    try? await Task.sleep(for: interval)
                    self.retryStore()
                }
            }
        }
        storeOutage?.error = error
        holdDuringOutage(drafts)
    }

    /// Keeps what the daemon wanted to record while the store is down.
    func holdDuringOutage(_ drafts: [EventDraft]) {
        guard storeOutage != nil else { return }
        for draft in drafts where draft.type != .daemonHeartbeat {
            if storeOutage?.held.count ?? 0 < Self.heldLimit {
                storeOutage?.held.append(draft)
            } else {
                storeOutage?.dropped += 1
            }
        }
    }

    /// Slots due while the store is down are not started: each is kept to be recorded.
    func holdSlots(_ due: [JobRun]) {
        for request in due {
            if let slot = request.run.slot { keepSlot(slot, of: request.job) }
        }
    }

    private func keepSlot(_ slot: Instant, of job: LoadedJob) {
        storeOutage?.slots[job.definition.name, default: UnrecordableSlots(job: job)].add(slot, job: job)
    }

    /// Runs asked for while the store is down are refused before anything is prepared: a
    /// slot is kept, a manual run's client is told.
    func refuseDuringOutage(_ runs: [JobRun]) {
        guard let error = storeOutage?.error else { return }
        for request in runs {
            let run = request.run
            if let slot = run.slot { keepSlot(slot, of: request.job) }
            if let runID = run.runID, let observer = removeClient(of: runID) {
                observer.ended(RunReport(runID: runID, result: .notStarted(error), events: []))
            }
        }
    }

    /// A run's report from `runTogether`: a slot whose `run.fired` could not be written, or a
    /// run whose end could not be, starts (or extends) an outage. Called before the run is
    /// forgotten (it is still among the scheduler's runs in progress, with its slot).
    func noteUnrecorded(_ report: RunReport) {
        let now = clock.now()
        switch report.result {
        case .notStarted(let error):
            beginStoreOutage(error, unrecorded: [], now: now)
            if storeOutage != nil, let run = state.active[report.runID], let job = state.jobs[run.job], let slot = run.slot {
                keepSlot(slot, of: job)
            }
        case .completedUnrecorded(let completion, let error):
            guard let fired = report.events.first(where: { $0.type == .runFired }), let execution else {
                beginStoreOutage(error, unrecorded: [], now: now)
                return
            }
            var terminal = execution.terminalDraft(from: fired.content, completion: completion,
                                                   interruption: interruption(of: report.runID))
            terminal.time = EventTime(now)
            beginStoreOutage(error, unrecorded: [terminal], now: now)
        default:
            break
        }
    }

    private func retryStore() {
        guard storeOutage != nil, !state.stopping else { return }
        _ = resumeAfterStoreOutage(now: clock.now())
    }

    /// Tries to write what the outage kept: a `daemon.heartbeat` saying what happened, the held
    /// events (re-stamped now, the original time in `happened_at`), and each kept slot as
    /// `run.skipped` (`store-unwritable`). True when the store is writable (or was never down).
    func resumeAfterStoreOutage(now: Instant) -> Bool {
        guard let outage = storeOutage else { return true }
        guard let store else {
            storeOutage = nil
            return true
        }
        let error = outage.error.description
        let slotCount = outage.slots.values.reduce(0) { $0 + $1.count }
        var note = state.schedulerDraft(.daemonHeartbeat, at: now)
        note.reason = "the event store could not be written from \(EventTime(outage.since).rfc3339) to \(EventTime(now).rfc3339) "
            + "(\(error)): nothing was started; \(slotCount) slot(s) are recorded as skipped"
        note.details = EventDetails([.storeUnwritableFrom: EventTime(outage.since).rfc3339,
                                     .storeUnwritableUntil: EventTime(now).rfc3339,
                                     .storeError: error, .skippedSlots: String(slotCount),
                                     .recordedLate: String(outage.held.count), .notRecorded: String(outage.dropped)])
        var drafts = [note]
        for var draft in outage.held {
            draft.details[.happenedAt] = draft.time.rfc3339
            draft.details[.recordedLate] = "the event store could not be written then"
            draft.time = EventTime(now)
            drafts.append(draft)
        }
        for name in outage.slots.keys.sorted() {
            guard let kept = outage.slots[name], let first = kept.first, let last = kept.last else { continue }
            let reason = "the event store could not be written (\(error)), so the run was not started"
            let details = EventDetails([.skipReason: SkipReason.storeUnwritable.rawValue, .storeError: error,
                                        .storeUnwritableFrom: EventTime(outage.since).rfc3339])
            if kept.count <= SchedulerState.missedLimit {
                for slot in kept.slots {
                    drafts.append(state.skipDraft(job: kept.job, slot: slot, reason: reason, details: details, at: now))
                }
            } else {
                let collapsed = CollapsedSlots(count: kept.count, first: EventTime(first), last: EventTime(last))
                drafts.append(state.skipDraft(job: kept.job, slot: last, reason: reason + " (\(kept.count) slots, collapsed into this event)",
                                        details: details.merging(collapsed.details) { $1 }, at: now))
            }
        }
        do {
            try store.append(drafts)
        } catch {
            storeOutage?.error = error
            return false
        }
        outage.retry?.cancel()
        storeOutage = nil
        output(.problem("the event store can be written again; \(slotCount) slot(s) since \(EventTime(outage.since).rfc3339) "
            + "recorded as skipped (store-unwritable)"))
        return true
    }

    /// For `status`: what is wrong with the store, or null.
    func storeProblemJSON() -> JSONValue {
        guard let outage = storeOutage else { return .null }
        return .object([
            ("since", .string(EventTime(outage.since).rfc3339)), ("error", .string(outage.error.description)),
            ("unrecorded_slots", .int(Int64(outage.slots.values.reduce(0) { $0 + $1.count }))),
            ("held_events", .int(Int64(outage.held.count))),
        ])
    }
}
