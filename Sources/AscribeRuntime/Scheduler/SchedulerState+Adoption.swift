import AscribeCore

extension SchedulerState {
    /// Counts `fired`, whose processes `pids` outlived the daemon that started them, among the
    /// runs in progress until they are gone (`adoptedRunEnded`).
    mutating func adopt(_ fired: Event, runID: String, job: JobName, pids: [Int32], now: Instant) {
        active.insert(ActiveRun(runID: runID, job: job, slot: fired.scheduledFor?.instant, manual: false,
                                adoption: Adoption(fired: fired, pids: pids, adoptedAt: now)))
    }

    /// One `daemon.heartbeat` naming the runs this start adopted (`adopted_runs`), so the log
    /// says why they stay open after it: they were running, not forgotten. nil when none was.
    func adoptionNote(at now: Instant) -> EventDraft? {
        let runs = active.byID.values.compactMap(\.adoption).sorted { $0.fired.seq < $1.fired.seq }
        guard !runs.isEmpty else { return nil }
        var note = schedulerDraft(.daemonHeartbeat, at: now)
        note.reason = "adopted \(runs.count) run(s) a previous daemon started, whose processes are still running: "
            + runs.map { "\($0.fired.job ?? "?") run \($0.fired.runID ?? "?") (pid \($0.pids.map(String.init).joined(separator: ", ")))" }
                .joined(separator: "; ")
        note.details = EventDetails([.adoptedRuns: runs.compactMap(\.fired.runID).joined(separator: ","),
                                     .runningRuns: String(active.count)])
        return note
    }

    /// The last process of an adopted run is gone: its `run.lost` (it was not this daemon's
    /// child, so there is no exit status), then what follows any run's end (a queued slot starts).
    mutating func adoptedRunEnded(_ runID: String, now: Instant) -> [SchedulerAction] {
        guard let run = active[runID]?.adoption else { return [] }
        active.update(runID) { $0.adoption = nil }
        var draft = lostDraft(closing: run.fired, at: now, reason:
            "the daemon that started it died; its processes ran on until \(EventTime(now).rfc3339); exit status unknown"
            + (stopping ? " (they ended while this daemon was stopping)" : ""))
        draft.details[.adoptedAt] = EventTime(run.adoptedAt).rfc3339
        draft.details[.endedAt] = EventTime(now).rfc3339
        draft.details[.processGroup] = "ended"
        draft.details[.survivingPids] = run.pids.map(String.init).joined(separator: ",")
        return [.record([draft])] + runEnded(runID, now: now)
    }

    /// The daemon is done watching adopted runs: they stay among the runs in progress (their
    /// `run.fired` stays open; the next start adopts them again or records them lost), but no
    /// end is recorded for them by this daemon.
    mutating func releaseAdoptions() {
        for run in active.byID.values where run.adoption != nil {
            active.update(run.runID) { $0.adoption = nil }
        }
    }
}
