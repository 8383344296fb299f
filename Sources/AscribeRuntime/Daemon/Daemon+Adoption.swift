import AscribeCore

extension Daemon {
    /// Takes over `fired`, whose processes `pids` outlived the daemon that started them: it is
    /// put among the runs in progress (`SchedulerState.adopt`), and its one terminal event is
    /// written when the last of its processes is gone (`adoptedRunEnded`). False when it cannot
    /// be watched; the caller then records it lost at once, as before adoption existed.
    func adopt(_ fired: Event, pids: [Int32], now: Instant) -> Bool {
        guard let runID = fired.runID, let name = fired.job.flatMap({ try? JobName($0) }) else { return false }
        let watch: SurvivorWatch
        do {
            watch = try SurvivorWatch(runID: runID) { Task { await self.adoptedRunEnded(runID) } }
        } catch {
            output(.problem("cannot watch run \(runID) of \(name), which a previous daemon started: \(error.description); recorded as lost"))
            return false
        }
        handles[runID] = .survivors(watch)
        state.adopt(fired, runID: runID, job: name, pids: pids, now: now)
        return true
    }

    /// The last process of an adopted run is gone: its `run.lost`, then what follows any run's end.
    func adoptedRunEnded(_ runID: String) {
        handles[runID] = nil
        let now = clock.now()
        perform(state.adoptedRunEnded(runID, now: now), now: now)
    }

    /// The daemon is done: watches of runs still going stop (the drain waited for them within
    /// its grace, without signalling them). Their `run.fired` stays open, and the next start
    /// adopts them again (or records them lost if they are gone by then).
    func releaseAdoptedRuns() {
        for (runID, handle) in handles {
            guard case .survivors(let watch) = handle else { continue }
            watch.cancel()
            handles[runID] = nil
        }
        state.releaseAdoptions()
    }
}
