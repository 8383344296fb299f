import AscribeCore

/// A run a previous daemon started, whose recorder died while its processes live on. Adopted
/// at start instead of being closed as lost at once: a surviving group is still the job
/// running, so overlap, `status`, heartbeats and the drain see it until it ends.
struct AdoptedRun {
    var fired: Event
    /// The processes found carrying its run id when it was adopted.
    var pids: [Int32]
    var adoptedAt: Instant
    var watch: SurvivorWatch
}

extension Daemon {
    /// Takes over `fired`, whose processes `pids` outlived the daemon that started them: it is
    /// put among the runs in progress, and its one terminal event is written when the last of
    /// its processes is gone (`adoptedRunEnded`). False when it cannot be watched; the caller
    /// then records it lost at once, as before adoption existed.
    func adopt(_ fired: Event, pids: [Int32], now: Instant) -> Bool {
        guard let runID = fired.runID, let name = fired.job.flatMap({ try? JobName($0) }) else { return false }
        let watch: SurvivorWatch
        do {
            watch = try SurvivorWatch(runID: runID) { Task { await self.adoptedRunEnded(runID) } }
        } catch {
            output(.problem("cannot watch run \(runID) of \(name), which a previous daemon started: \(error.description); recorded as lost"))
            return false
        }
        adopted[runID] = AdoptedRun(fired: fired, pids: pids, adoptedAt: now, watch: watch)
        active[name, default: []].append(runID)
        jobOfRun[runID] = name
        runSlots[runID] = fired.scheduledFor?.instant
        // Not in `processGroups`: the drain never signals processes this daemon did not start.
        return true
    }

    /// One `daemon.heartbeat` naming the runs this start adopted (`adopted_runs`), so the log
    /// says why they stay open after it: they were running, not forgotten.
    func recordAdoptions(now: Instant) {
        guard !adopted.isEmpty else { return }
        let runs = adopted.values.sorted { $0.fired.seq < $1.fired.seq }
        var note = schedulerDraft(.daemonHeartbeat, at: now)
        note.reason = "adopted \(runs.count) run(s) a previous daemon started, whose processes are still running: "
            + runs.map { "\($0.fired.job ?? "?") run \($0.fired.runID ?? "?") (pid \($0.pids.map(String.init).joined(separator: ", ")))" }
                .joined(separator: "; ")
        note.details = EventDetails([.adoptedRuns: runs.compactMap(\.fired.runID).joined(separator: ","),
                                     .runningRuns: String(active.values.reduce(0) { $0 + $1.count })])
        record([note])
    }

    /// The last process of an adopted run is gone: its `run.lost` (it was not this daemon's
    /// child, so there is no exit status), then what follows any run's end (a queued slot starts).
    func adoptedRunEnded(_ runID: String) {
        guard let run = adopted.removeValue(forKey: runID) else { return }
        let now = clock.now()
        var draft = lostDraft(closing: run.fired, at: now, reason:
            "the daemon that started it died; its processes ran on until \(EventTime(now).rfc3339); exit status unknown"
            + (stopping ? " (they ended while this daemon was stopping)" : ""))
        draft.details[.adoptedAt] = EventTime(run.adoptedAt).rfc3339
        draft.details[.endedAt] = EventTime(now).rfc3339
        draft.details[.processGroup] = "ended"
        draft.details[.survivingPids] = run.pids.map(String.init).joined(separator: ",")
        record([draft])
        runEnded(runID)
    }

    /// The daemon is done: watches of runs still going stop (the drain waited for them within
    /// its grace, without signalling them). Their `run.fired` stays open, and the next start
    /// adopts them again (or records them lost if they are gone by then).
    func releaseAdoptedRuns() {
        for run in adopted.values { run.watch.cancel() }
        adopted = [:]
    }
}
