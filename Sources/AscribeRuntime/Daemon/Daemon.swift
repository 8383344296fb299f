import AscribeCore
import Glibc
import AscribeSystem

/// The scheduler's shell: it does the I/O — sleeping until the next wake-up, the event log,
/// launching through `RunExecution.runTogether`, the control socket, the directory watcher,
/// signals — and asks `SchedulerState` (pure) what to do at each step, carrying out the
/// actions it returns in order (`perform`). Every slot is accounted for (fired, skipped, missed).
///
/// Concurrency: an actor on its own serial Dispatch queue (`SerialQueueExecutor`), which owns
/// the single-owner event log. Every log write — the loop's, and each batch's fired and
/// terminal events inside `runTogether` (which runs in its caller's isolation) — happens on
/// that one queue, so writes are serialised and SQLite never blocks the cooperative pool.
/// Each batch runs in its own task on the actor; while a batch awaits its runs' ends the actor
/// is free, so a long job never delays the next minute's slots.
public actor Daemon {
    private let executor = SerialQueueExecutor(label: "ascribe.daemon")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let configuration: DaemonConfiguration
    let clock: any DaemonClock
    let output: @Sendable (DaemonOutput) -> Void

    /// The decisions: jobs, slots, the queue, the runs in progress, what is disabled.
    var state: SchedulerState
    var store: (any EventLog)?
    var execution: RunExecution?
    private var batchesInFlight = 0
    /// The drain's waits, resumed as runs and batches end (Daemon+RunEnds.swift).
    var endWaiters: [RunEndSignal] = []
    private var stopSignal: Int32?
    private var stopOrigin: SignalOrigin?
    private var sleeper: Task<Void, Never>?
    var startedAt = Instant(secondsSinceEpoch: 0)
    // The I/O around the scheduler: the control socket (and its refusal tallies), the jobs
    // directory watcher.
    var control: ControlServer?
    /// The one event loop the control socket, the watcher and every run's supervision share.
    var reactor: Reactor?
    private var watcher: JobDirectoryWatcher?
    var refusals: [RefusalTally.Key: RefusalTally] = [:]
    /// What the shell holds for some runs in progress besides the scheduler's record, by run id.
    var handles: [String: RunHandle] = [:]
    /// Set while the store cannot be written (Daemon+StoreOutage.swift).
    var storeOutage: StoreOutage?
    /// The last checkpoint signed, what each witness holds (Daemon+Checkpoints.swift).
    var checkpointState = CheckpointState()

    public init(configuration: DaemonConfiguration, clock: any DaemonClock = SystemDaemonClock(),
                output: @escaping @Sendable (DaemonOutput) -> Void = { _ in }) {
        self.configuration = configuration
        self.clock = clock
        self.output = output
        self.state = SchedulerState(settings: SchedulerSettings(configuration), newRunID: { RandomIdentifier.hex128() })
    }

    /// Starts, schedules until `stop`, drains, and records `daemon.stopped`.
    public func run() async -> DaemonOutcome {
        do {
            try start(now: clock.now())
        } catch {
            reactor?.shutdown()
            return .failedToStart(error.description)
        }
        releaseMemory()
        while !state.stopping {
            let now = clock.now()
            perform(state.tick(now: now, accounted: { self.accountedSlots(of: $0, since: $1) }), now: now)
            signCheckpointIfDue(now: now)
            guard !state.stopping else { break }
            var wake = state.wakeTime(now: now)
            if let due = checkpointWake, due < wake { wake = max(due, now.adding(seconds: 1)) }
            let clock = self.clock
            let sleep = Task { await clock.sleep(until: wake) }
            sleeper = sleep
            await sleep.value
            sleeper = nil
        }
        watcher?.stop()
        watcher = nil
        let drained = await drain()
        releaseAdoptedRuns()
        let end = clock.now()
        let stopSlots = state.slotsWhileStopping(through: end, stopWords: stopWords)
        record(stopSlots.drafts)
        var stopped = state.schedulerDraft(.daemonStopped, at: end)
        stopped.reason = stopWords
        stopped.details[.terminatedRuns] = String(drained.terminated)
        stopped.details[.unstartedQueuedRuns] = String(drained.unstarted)
        stopped.details[.slotsWhileStopping] = String(stopSlots.count)
        if let stopSignal { stopped.details[.stopSignal] = Self.signalName(stopSignal) }
        if case .process(let stopSender) = stopOrigin {
            stopped.details[.stoppedByPid] = String(stopSender.pid)
            stopped.details[.stoppedByUid] = String(stopSender.uid)
            stopped.details[.stoppedByUser] = stopSender.user
            if let process = stopSender.process { stopped.details[.stoppedByProcess] = process }
        }
        record([stopped])
        signFinalCheckpoint(now: end)
        control?.close()
        control = nil
        reactor?.shutdown()
        reactor = nil
        store = nil
        execution = nil
        return .stopped
    }

    /// Stops firing and begins the drain; safe to call from a signal handler's task, any time.
    /// `origin`: who sent `signal`, as the kernel said (`DaemonSignals`); nil when not known.
    public func stop(signal: Int32? = nil, from origin: SignalOrigin? = nil) {
        guard !state.stopping else { return }
        state.stopping = true
        stopSignal = signal
        stopOrigin = origin
        sleeper?.cancel()
    }

    /// Who asked for the stop: `SIGTERM from pid 4242 (systemctl) of root (uid 0)`.
    var stopRequester: String {
        guard let stopSignal else { return "a stop request without a signal" }
        return Self.signalName(stopSignal) + (stopOrigin.map { " " + $0.words } ?? "")
    }

    /// `daemon.stopped`'s reason: `received SIGTERM from pid 4242 (systemctl) of root (uid 0)`.
    var stopWords: String { stopSignal == nil ? "stop requested" : "received " + stopRequester }

    /// Re-reads the jobs directory (SIGHUP, a file change, `ascribe reload`): validate, then
    /// swap (`SchedulerState.reload`); a directory that cannot be read at all gets one
    /// `config.rejected` and every previous definition stays in force. `requestedBy`: the
    /// caller of `ascribe reload`, recorded as principal. Returns what happened, in words.
    @discardableResult
    public func reload(signal: Int32? = nil, fileChange: String? = nil,
                       requestedBy: (peer: ControlPeer, reason: String?)? = nil) -> String {
        let result = reloadJobs(signal: signal, fileChange: fileChange,
                                requestedBy: requestedBy.map { Requester(peer: $0.peer, reason: $0.reason) })
        releaseMemory()
        return result
    }

    /// Hands back what loading left behind — the store's page cache (the definition archive's
    /// inserts fill it) and the allocator's free pages — once the load's own buffers are gone.
    private func releaseMemory() {
        store?.releaseMemory()
        AllocatorTrim.releaseFreePages()
    }

    private func reloadJobs(signal: Int32?, fileChange: String?, requestedBy: Requester?) -> String {
        guard !state.stopping else { return "the daemon is stopping; nothing reloaded" }
        let now = clock.now()
        let load: JobDirectoryLoad
        do {
            load = try loadJobDirectory()
        } catch {
            var rejected = state.schedulerDraft(.configRejected, at: now)
            if let fileChange { rejected.details[.fileChange] = fileChange }
            rejected.reason = "reload failed, every previous definition stays in force: \(error.description)"
            rejected.configSource = configuration.jobsDirectory
            record([requestedBy?.attributed(rejected) ?? rejected])
            return rejected.reason ?? "reload failed"
        }
        archive(load, at: now)
        switch state.reload(load, now: now, signal: signal.map(Self.signalName), fileChange: fileChange, requestedBy: requestedBy) {
        case .unchanged:
            return "nothing changed"
        case .reloaded(let drafts, let summary):
            record(drafts)
            // The next wake-up may now be earlier (a new job); re-plan from the same point.
            sleeper?.cancel()
            return summary
        }
    }

    private func loadJobDirectory() throws(JobDirectoryError) -> JobDirectoryLoad {
        let zones = configuration.zones
        return try JobDirectory.load(path: configuration.jobsDirectory, zones: { zones.rules(for: $0) },
                                     zoneAdvice: { zones.advice(for: $0) })
    }

    /// True when no run is in progress, queued or still being recorded. For tests: `package`,
    /// not public, so the shared test harness (built in release builds too) can wait on it.
    package var isIdle: Bool { state.active.isEmpty && state.pending.isEmpty && batchesInFlight == 0 }

    /// Each enabled calendar job's next slot after what the daemon has processed (the same
    /// account `ascribe status` gives), and how many jobs have none (disabled, `@reboot`,
    /// never firing): what `ascribe daemon` prints once it has started.
    public func nextSlots() -> (slots: [NextSlotsText.Slot], notScheduled: Int) { state.nextSlots() }

    // MARK: Start

    private func start(now: Instant) throws(DaemonStartError) {
        let store = try openEventLog()
        let output = self.output
        store.appended = { events in
            for event in events { output(.event(event)) }
        }
        self.store = store
        let reactor: Reactor
        do {
            reactor = try Reactor()
        } catch {
            throw DaemonStartError(description: "cannot start the event loop, so nothing may run: \(error.description)")
        }
        self.reactor = reactor
        execution = RunExecution(
            store: store,
            environment: RunEnvironment(host: configuration.host, stateDirectory: configuration.stateDirectory,
                                        credentialStore: configuration.credentialStore,
                                        development: configuration.development, tokens: configuration.tokens,
                                        now: { [clock] in clock.eventTime() }),
            helperPath: configuration.helperPath, reactor: reactor)
        let load: JobDirectoryLoad
        do {
            load = try loadJobDirectory()
        } catch {
            throw DaemonStartError(description: error.description)
        }
        state.load(load)
        do {
            state.disablements = try Disablements(store: store)
        } catch {
            throw DaemonStartError(description: "could not read what is disabled from the log, so nothing may run: \(error.description)")
        }
        try startControl()
        startedAt = now
        if configuration.watchJobsDirectory {
            watcher = JobDirectoryWatcher(path: configuration.jobsDirectory, reactor: reactor) { change in
                Task { await self.reload(fileChange: change) }
            }
        }

        // Read before this start writes anything: the previous daemon's last sign of life, and
        // the definitions it had loaded (they applied while it was down).
        let previous = previousDaemonEnd()
        let previouslyInForce = definitionsInForce()
        // A file broken while the daemon was down keeps its last good definition in force.
        let kept = state.keepAtStart(load, inForce: previouslyInForce, earlier: rejectedEarlier(), now: now)
        archive(load, at: now)

        var started = state.schedulerDraft(.daemonStarted, at: now)
        started.details = EventDetails([.jobs: String(state.jobs.count), .version: AscribeVersion.current,
                                        .dev: DetailFlag(configuration.development).rawValue, .pid: String(SystemCalls.processID)])
        // With the pid, its start time: the next start tells this daemon's events from a later
        // process that reused the pid (its downtime accounting, Daemon+Downtime.swift).
        if let me = RecorderProcess.current() { started.details[.pidStart] = String(me.startTicks) }
        if !configuration.stateDirectoryRemovals.isEmpty {
            started.details[.stateRemoved] = configuration.stateDirectoryRemovals.map(\.description).joined(separator: ", ")
        }
        if let control {
            started.details[.controlSocket] = control.path
            started.details[.controlGroup] = configuration.control?.group?.name ?? "none"
        }
        record([started] + state.startDrafts(load, kept: kept, now: now) + keyCreatedDrafts(at: now))
        recordLostRuns(now: now)
        if let note = state.adoptionNote(at: now) { record([note]) }
        if let previous, previous.lastSignOfLife < now {
            perform(state.missed(after: previous.lastSignOfLife, through: now, now: now, cause: .daemonDown, catchUp: true,
                                 inForce: previouslyInForce, previous: previous,
                                 accounted: { self.accountedSlots(of: $0, since: $1) }), now: now)
        }
        state.begin(at: now)
        let rebootRuns = state.rebootRuns(at: now)
        if !rebootRuns.isEmpty { perform(state.admit(rebootRuns, now: now), now: now) }
    }

    /// Every `run.fired` with no terminal event belongs to a daemon (or `ascribe run`) that
    /// died mid-run: it is closed as `run.lost` — unless the process that fired it is still
    /// alive (an `ascribe run` in the foreground), which will record the end itself.
    private func recordLostRuns(now: Instant) {
        guard let store else { return }
        let open: [Event]
        do {
            open = try store.openRuns()
        } catch {
            output(.problem("could not look for runs a previous daemon left open: \(error.description)"))
            return
        }
        let me = RecorderProcess.current()
        let orphans = open.filter { event in
            guard let recorder = RecorderProcess(details: event.details), recorder != me else { return true }
            return !recorder.isAlive
        }
        // Which of them still have processes running, by the run id every run's processes carry.
        let survivors = RunProcesses.find(Set(orphans.compactMap(\.runID)))
        var lost: [EventDraft] = []
        for event in orphans {
            // Its processes live on: it counts as running until they are gone (Daemon+Adoption.swift).
            if let pids = event.runID.flatMap({ survivors[$0] }), adopt(event, pids: pids, now: now) { continue }
            var draft = state.lostDraft(closing: event, at: now,
                                        reason: "fired at \(event.time.rfc3339), but no end was recorded before the daemon stopped")
            if let pids = event.runID.flatMap({ survivors[$0] }) {
                draft.details[.processGroup] = "exists"
                draft.details[.survivingPids] = pids.map(String.init).joined(separator: ",")
                draft.reason = (draft.reason ?? "") + "; its processes are still running (pid \(pids.map(String.init).joined(separator: ", ")))"
            } else {
                draft.details[.processGroup] = RunProcesses.canSeeEveryProcess ? "gone" : "none of its processes visible to the daemon's user"
            }
            lost.append(draft)
        }
        record(lost)
    }

    /// The slots of `job` the log accounts for (fired, skipped or missed) in events since
    /// `since`: a slot already accounted (by the previous daemon after its last heartbeat, or
    /// by a start before) is not missed again.
    private func accountedSlots(of job: JobName, since: Instant) -> Set<SlotKey> {
        var accounted = Set<SlotKey>()
        try? store?.forEachEvent(matching: EventFilter(job: job.rawValue, since: EventTime(since))) {
            if $0.type == .runFired || $0.type == .runSkipped || $0.type == .runMissed, let key = SlotKey($0) {
                accounted.insert(key)
            }
        }
        return accounted
    }

    // MARK: Carrying out the scheduler's decisions

    /// Carries out `actions` in order (`SchedulerAction`).
    func perform(_ actions: [SchedulerAction], now: Instant) {
        for action in actions {
            switch action {
            case .record(let drafts):
                record(drafts)
            case .launch(let runs):
                launch(runs)
            case .slotsDue(let runs):
                // Store outage: nothing starts until the store can record again (Daemon+StoreOutage.swift).
                if storeOutage != nil, !resumeAfterStoreOutage(now: now) {
                    holdSlots(runs)
                } else {
                    perform(state.admit(runs, now: now), now: now)
                }
            case .heartbeat:
                record([state.heartbeat(at: now)])
            }
        }
    }

    /// Starts one batch in its own task: `runTogether` records every fired event in one
    /// transaction, then each terminal event as its run ends.
    private func launch(_ runs: [JobRun]) {
        // Store outage: refuse before anything is prepared (Daemon+StoreOutage.swift).
        if storeOutage != nil, !resumeAfterStoreOutage(now: clock.now()) {
            state.launchRefused(runs.compactMap(\.run.runID))
            return refuseDuringOutage(runs)
        }
        let orders = runs.map { request in
            let job = request.job
            let run = request.run
            return RunOrder(job: job.definition, definitionHash: job.hash, scheduledFor: run.slot.map(EventTime.init),
                            principal: run.principal, reason: run.reason, runID: run.runID,
                            details: run.details.merging(job.writers?.eventDetails ?? [:]) { current, _ in current })
        }
        batchesInFlight += 1
        Task { await self.execute(orders) }
    }

    private func execute(_ orders: [RunOrder]) async {
        if let execution {
            _ = await execution.runTogether(orders, progress: RunProgress(
                started: { runID, pid in
                    self.state.active.update(runID) { $0.processGroup = pid }
                    if case .client(let observer)? = self.handles[runID] { observer.started(pid) }
                },
                ended: { report in
                    self.noteUnrecorded(report)
                    self.removeClient(of: report.runID)?.ended(report)
                    self.runEnded(report.runID)
                },
                interruption: { runID in self.interruption(of: runID) }))
        } else {
            for order in orders { runEnded(order.runID ?? "") }
        }
        batchesInFlight -= 1
        runsOrBatchesEnded()
    }

    /// Forgets the client waiting on manual run `runID`, returning it to be told the end.
    func removeClient(of runID: String) -> RunObserver? {
        guard case .client(let observer)? = handles[runID] else { return nil }
        handles[runID] = nil
        return observer
    }

    /// The drain signalled this run: its end is the shutdown's doing, and says whose.
    func interruption(of runID: String) -> RunInterruption? {
        state.active[runID]?.stoppedByShutdown == true ? .daemonShutdown(requestedBy: stopRequester) : nil
    }

    func runEnded(_ runID: String) {
        defer { runsOrBatchesEnded() }
        let now = clock.now()
        perform(state.runEnded(runID, now: now), now: now)
    }

    // MARK: Stopping

    /// Queued runs that never started are recorded as skipped; running ones get the grace,
    /// then SIGTERM to their process group, then SIGKILL; the loop waits for every terminal
    /// event to be written.
    private func drain() async -> (terminated: Int, unstarted: Int) {
        let skipped = state.drainQueue(now: clock.now())
        record(skipped)
        var terminated = 0
        if await !waitForRuns(upTo: configuration.drainGrace) {
            let groups = state.signalledByShutdown()
            terminated = groups.count
            for group in groups { _ = try? SystemCalls.signalGroup(group, SIGTERM) }
            if await !waitForRuns(upTo: configuration.terminateGrace) {
                for group in state.processGroups { _ = try? SystemCalls.signalGroup(group, SIGKILL) }
            }
        }
        _ = await wait(until: { $0.batchesInFlight == 0 }, upTo: nil)
        return (terminated, skipped.count)
    }

    /// Waits until no run is active or `limit` passes; true when none is.
    private func waitForRuns(upTo limit: Duration) async -> Bool {
        await wait(until: { $0.state.active.isEmpty }, upTo: limit)
    }

    // MARK: Events

    /// Appends the daemon's own events; a failed write cannot be recorded anywhere else, so it
    /// is printed, and the drafts are held until the store can be written again. Returns the
    /// events written now (none when they were held).
    @discardableResult
    func record(_ drafts: [EventDraft]) -> [Event] {
        guard let store, !drafts.isEmpty else { return [] }
        // Store outage: keep what cannot be written now (Daemon+StoreOutage.swift).
        guard storeOutage == nil else {
            holdDuringOutage(drafts)
            return []
        }
        do {
            return try store.append(drafts)
        } catch {
            output(.problem("could not record \(drafts.map(\.type.rawValue).joined(separator: ", ")): \(error.description)"))
            beginStoreOutage(error, unrecorded: drafts, now: clock.now())
            return []
        }
    }

    static func signalName(_ number: Int32) -> String {
        switch number {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        default: "signal \(number)"
        }
    }
}

/// What the daemon reports as it goes: each event once durable, and problems it could not
/// record in the log itself.
public enum DaemonOutput: Sendable {
    case event(Event)
    case problem(String)
}

/// The daemon could not begin: nothing was scheduled.
public struct DaemonStartError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
