import AscribeCore
import Glibc
import AscribeSystem

/// The scheduler: sleeps until the next slot, fires what is due through
/// `RunExecution.runTogether`, and accounts for every slot (fired, skipped, missed) in the log.
///
/// Concurrency: an actor on its own serial Dispatch queue (`SerialQueueExecutor`), which owns
/// the single-owner `EventStore`. Every store write — the loop's, and each batch's fired and
/// terminal events inside `runTogether` (which runs in its caller's isolation) — happens on
/// that one queue, so writes are serialised and SQLite never blocks the cooperative pool.
/// Each batch runs in its own task on the actor; while a batch awaits its runs' ends the actor
/// is free, so a long job never delays the next minute's slots.
public actor Daemon {
    private let executor = SerialQueueExecutor(label: "ascribe.daemon")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// A loaded job and the hash that names its definition in events.
    struct LoadedJob {
        var definition: JobDefinition
        var hash: String?
        /// Who could change its file when it loaded; nil for a definition read back from the archive.
        var writers: FileWriters? = nil
    }

    /// A run to start: a slot (possibly waiting for its job's current run to end, with
    /// `overlap = queue` or `catch-up`), or a manual run (no slot, a principal).
    struct PendingRun {
        var slot: Instant?
        var reason: String?
        var details: [String: String]
        var principal: Principal? = nil
        var runID: String? = nil
    }

    let configuration: DaemonConfiguration
    let clock: any DaemonClock
    let actor: String
    let output: @Sendable (DaemonOutput) -> Void

    var store: EventStore?
    var execution: RunExecution?
    var jobs: [JobName: LoadedJob] = [:]
    /// Each calendar job's next slot; rebuilt whenever `jobs` changes.
    private var upcoming = UpcomingSlots()
    var lastProcessed = Instant(secondsSinceEpoch: 0)
    private var nextHeartbeat = Instant(secondsSinceEpoch: 0)
    /// After the wall clock stepped back (less than 3 h): how far the repeated stretch has
    /// been processed. Wildcard jobs run again as the clock passes it (as Debian cron does);
    /// fixed-time slots up to `lastProcessed` are not repeated.
    private var repeatCursor: Instant?
    /// Run ids in progress per job, oldest first.
    var active: [JobName: [String]] = [:]
    var jobOfRun: [String: JobName] = [:]
    var processGroups: [String: Int32] = [:]
    var pending: [JobName: [PendingRun]] = [:]
    private var batchesInFlight = 0
    var stopping = false
    private var stopSignal: Int32?
    private var stopOrigin: SignalOrigin?
    /// Runs the shutdown drain signalled: their terminal events say so (`RunInterruption`).
    private var stoppedByShutdown = Set<String>()
    private var sleeper: Task<Void, Never>?
    var startedAt = Instant(secondsSinceEpoch: 0)
    /// The slot each run in progress stands for (nil: manual).
    var runSlots: [String: Instant?] = [:]
    // Control: the socket, what people disabled, refusals, and clients waiting on manual runs.
    var control: ControlServer?
    private var watcher: JobDirectoryWatcher?
    var disablements = Disablements()
    var refusals: [RefusalTally.Key: RefusalTally] = [:]
    var observers: [String: RunObserver] = [:]
    /// Set while the store cannot be written (Daemon+StoreOutage.swift).
    var storeOutage: StoreOutage?
    /// Job files that do not load, by path (Daemon+KeptDefinitions.swift).
    var rejections: [String: FileRejection] = [:]
    /// Runs a dead daemon started whose processes live on, by run id (Daemon+Adoption.swift).
    var adopted: [String: AdoptedRun] = [:]
    /// The last checkpoint signed, what each witness holds (Daemon+Checkpoints.swift).
    var checkpointState = CheckpointState()

    public init(configuration: DaemonConfiguration, clock: any DaemonClock = SystemDaemonClock(),
                output: @escaping @Sendable (DaemonOutput) -> Void = { _ in }) {
        self.configuration = configuration
        self.clock = clock
        self.actor = HostName.schedulerActor(host: configuration.host)
        self.output = output
    }

    /// Starts, schedules until `stop`, drains, and records `daemon.stopped`.
    public func run() async -> DaemonOutcome {
        do {
            try start(now: clock.now())
        } catch {
            return .failedToStart(error.description)
        }
        releaseMemory()
        while !stopping {
            let now = clock.now()
            tick(now: now)
            guard !stopping else { break }
            var wake = now.adding(seconds: configuration.maxSleepSeconds)
            if let next = upcoming.nextSlot(after: lastProcessed), next < wake {
                wake = next
            }
            if let cursor = repeatCursor,
               let next = nextWildcardSlot(after: cursor),
               next < wake {
                wake = next
            }
            if nextHeartbeat < wake { wake = nextHeartbeat }
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
        let stopSlots = recordSlotsWhileStopping(through: end)
        var stopped = schedulerDraft(.daemonStopped, at: end)
        stopped.reason = stopWords
        stopped.details[.terminatedRuns] = String(drained.terminated)
        stopped.details[.unstartedQueuedRuns] = String(drained.unstarted)
        stopped.details[.slotsWhileStopping] = String(stopSlots)
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
        store = nil
        execution = nil
        return .stopped
    }

    /// Stops firing and begins the drain; safe to call from a signal handler's task, any time.
    /// `origin`: who sent `signal`, as the kernel said (`DaemonSignals`); nil when not known.
    public func stop(signal: Int32? = nil, from origin: SignalOrigin? = nil) {
        guard !stopping else { return }
        stopping = true
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

    /// Re-reads the jobs directory (SIGHUP): validate, then swap. Valid files replace their
    /// jobs; a file with errors gets `config.rejected` (file:line and message) and the job's
    /// previous definition stays in force; jobs whose file is gone are removed. One
    /// `config.loaded` names what was added, changed and removed, with definition hashes.
    /// `requestedBy`: the caller of `ascribe reload`, recorded as principal. Returns what
    /// happened, in words.
    @discardableResult
    public func reload(signal: Int32? = nil, fileChange: String? = nil,
                       requestedBy: (peer: ControlPeer, reason: String?)? = nil) -> String {
        let result = reloadJobs(signal: signal, fileChange: fileChange, requestedBy: requestedBy)
        releaseMemory()
        return result
    }

    /// Hands back what loading left behind — SQLite's page cache (the definition archive's
    /// inserts fill it) and the allocator's free pages — once the load's own buffers are gone.
    private func releaseMemory() {
        store?.releaseMemory()
        AllocatorTrim.releaseFreePages()
    }

    private func reloadJobs(signal: Int32?, fileChange: String?, requestedBy: (peer: ControlPeer, reason: String?)?) -> String {
        guard !stopping else { return "the daemon is stopping; nothing reloaded" }
        let now = clock.now()
        func attributed(_ draft: EventDraft) -> EventDraft {
            guard let requestedBy else { return draft }
            var draft = draft
            draft.principal = requestedBy.peer.principal.name
            draft.details.merge(requestedBy.peer.details) { current, _ in current }
            if let reason = requestedBy.reason { draft.details[.requestedReason] = reason }
            return draft
        }
        let zones = configuration.zones
        let load: JobDirectoryLoad
        do {
            load = try JobDirectory.load(path: configuration.jobsDirectory, zones: { zones.rules(for: $0) },
                                         zoneAdvice: { zones.advice(for: $0) })
        } catch {
            var rejected = schedulerDraft(.configRejected, at: now)
            if let fileChange { rejected.details[.fileChange] = fileChange }
            rejected.reason = "reload failed, every previous definition stays in force: \(error.description)"
            rejected.configSource = configuration.jobsDirectory
            record([attributed(rejected)])
            return rejected.reason ?? "reload failed"
        }
        var rejected: [EventDraft] = []
        var keptByRejection = Set<JobName>()
        for diagnostic in load.diagnostics where diagnostic.severity == .error {
            var draft = rejection(diagnostic, at: now)
            if let name = try? JobName(JobFile.stem(of: diagnostic.path)), jobs[name] != nil {
                draft.job = name.rawValue
                draft.details[.kept] = "the previous definition stays in force"
                keptByRejection.insert(name)
            }
            rejected.append(draft)
        }
        archive(load, at: now)
        var next: [JobName: LoadedJob] = [:]
        for job in load.jobs { next[job.name] = LoadedJob(definition: job, hash: load.definitionHashes[job.name], writers: load.writers[job.name]) }
        for name in keptByRejection where next[name] == nil { next[name] = jobs[name] }
        let added = next.keys.filter { jobs[$0] == nil }.sorted()
        let removed = jobs.keys.filter { next[$0] == nil }.sorted()
        let changed = next.keys.filter { name in jobs[name].map { $0.hash != next[name]?.hash } ?? false }.sorted()
        func listed(_ names: [JobName]) -> String {
            JobHashList(abbreviating: names.map { ($0.rawValue, next[$0]?.hash ?? jobs[$0]?.hash) }).encoded
        }
        // A file event that changed no definition (a touch, a save of the same text) records nothing.
        if fileChange != nil && rejected.isEmpty && rejections.isEmpty && added.isEmpty && removed.isEmpty && changed.isEmpty {
            return "nothing changed"
        }
        var loaded = schedulerDraft(.configLoaded, at: now)
        loaded.reason = "reloaded \(configuration.jobsDirectory)" + (signal.map { " on \(Self.signalName($0))" } ?? "")
            + (fileChange.map { " on file change: \($0)" } ?? "")
            + (requestedBy.map { " at the request of \($0.peer.principal.name)" } ?? "")
        loaded.details = EventDetails([.directory: configuration.jobsDirectory, .jobs: String(next.count),
                                       .added: listed(added), .changed: listed(changed), .removed: listed(removed),
                                       .writers: Self.writerList(next)])
        jobs = next
        noteRejections(load, kept: keptByRejection, now: now)
        loaded.details.merge(rejectionDetails) { $1 }
        upcoming = UpcomingSlots(jobs: jobs.values.lazy.map(\.definition), defaultZone: configuration.defaultZone,
                                 after: lastProcessed)
        for name in removed { pending[name] = nil }
        record((rejected + [loaded]).map(attributed))
        // The next wake-up may now be earlier (a new job); re-plan from the same point.
        sleeper?.cancel()
        func names(_ list: [JobName]) -> String { list.isEmpty ? "none" : list.map(\.rawValue).joined(separator: ", ") }
        return "\(next.count) job(s) loaded; added \(names(added)); changed \(names(changed)); removed \(names(removed))"
            + (rejected.isEmpty ? "" : "; \(rejected.count) problem(s) rejected, previous definitions kept (see config.rejected)")
    }

    /// True when no run is in progress, queued or still being recorded (for tests and status).
    public var isIdle: Bool { active.isEmpty && pending.isEmpty && batchesInFlight == 0 }

    // MARK: Start

    var definitions: [JobDefinition] {
        jobs.values.map(\.definition).sorted { $0.name.rawValue < $1.name.rawValue }
    }

    private func start(now: Instant) throws(DaemonStartError) {
        let store: EventStore
        let storePath = DefaultPaths.eventStore(stateDirectory: configuration.stateDirectory)
        do {
            store = try EventStore.open(path: storePath)
        } catch {
            throw DaemonStartError(description: "cannot open the event store \(storePath), so nothing may run: \(error.description)")
        }
        let output = self.output
        store.appended = { events in
            for event in events { output(.event(event)) }
        }
        self.store = store
        execution = RunExecution(
            store: store,
            environment: RunEnvironment(host: configuration.host, stateDirectory: configuration.stateDirectory,
                                        credentialStore: configuration.credentialStore,
                                        development: configuration.development, now: { [clock] in clock.eventTime() }),
            helperPath: configuration.helperPath)
        let zones = configuration.zones
        let load: JobDirectoryLoad
        do {
            load = try JobDirectory.load(path: configuration.jobsDirectory, zones: { zones.rules(for: $0) },
                                         zoneAdvice: { zones.advice(for: $0) })
        } catch {
            throw DaemonStartError(description: error.description)
        }
        for job in load.jobs { jobs[job.name] = LoadedJob(definition: job, hash: load.definitionHashes[job.name], writers: load.writers[job.name]) }
        do {
            disablements = try Disablements(store: store)
        } catch {
            throw DaemonStartError(description: "could not read what is disabled from the log, so nothing may run: \(error.description)")
        }
        try startControl()
        startedAt = now
        if configuration.watchJobsDirectory {
            watcher = try? JobDirectoryWatcher(path: configuration.jobsDirectory) { change in
                Task { await self.reload(fileChange: change) }
            }
        }

        // Read before this start writes anything: the previous daemon's last sign of life, and
        // the definitions it had loaded (they applied while it was down).
        let previous = previousDaemonEnd()
        let previouslyInForce = definitionsInForce()
        // A file broken while the daemon was down keeps its last good definition in force.
        let kept = keptAtStart(load, inForce: previouslyInForce)
        jobs.merge(kept) { current, _ in current }
        noteRejections(load, kept: Set(kept.keys), now: now, earlier: rejectedEarlier())
        archive(load, at: now)

        var started = schedulerDraft(.daemonStarted, at: now)
        started.details = EventDetails([.jobs: String(jobs.count), .version: AscribeVersion.current,
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
        var loaded = schedulerDraft(.configLoaded, at: now)
        loaded.reason = "loaded \(jobs.count) job(s) from \(configuration.jobsDirectory)"
        let loadedList = JobHashList(abbreviating: definitions.map { ($0.name.rawValue, jobs[$0.name]?.hash) })
        loaded.details = EventDetails([.directory: configuration.jobsDirectory, .jobs: loadedList.encoded,
                                       .writers: Self.writerList(jobs)])
        loaded.details.merge(rejectionDetails) { $1 }
        let rejected = load.diagnostics.filter { $0.severity == .error }.map { diagnostic in
            var draft = rejection(diagnostic, at: now)
            if let name = try? JobName(JobFile.stem(of: diagnostic.path)), let job = kept[name] {
                draft.job = name.rawValue
                draft.details[.kept] = "the last good definition (\(job.hash.map(JobHashList.abbreviated) ?? "-")) stays in force"
            }
            return draft
        }
        record([started, loaded] + rejected)
        recordLostRuns(now: now)
        recordAdoptions(now: now)
        if let previous, previous.lastSignOfLife < now {
            recordMissed(after: previous.lastSignOfLife, through: now, now: now, cause: .daemonDown, catchUp: true,
                         inForce: previouslyInForce, previous: previous)
        }
        lastProcessed = now
        upcoming = UpcomingSlots(jobs: jobs.values.lazy.map(\.definition), defaultZone: configuration.defaultZone,
                                 after: now)
        nextHeartbeat = now.adding(seconds: configuration.heartbeatSeconds)
        // @reboot slots pass the same gate as calendar slots: a disabled job or identity, or a
        // run still in progress (an adopted one), is a recorded skip, not a silent start.
        let rebootRuns = definitions.filter { $0.schedule == .reboot }.compactMap { job -> (LoadedJob, PendingRun)? in
            jobs[job.name].map {
                ($0, PendingRun(slot: now, reason: "@reboot: the daemon started",
                                details: EventDetails([.trigger: Trigger.reboot.rawValue])))
            }
        }
        if !rebootRuns.isEmpty { admit(rebootRuns, now: now) }
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
            var draft = lostDraft(closing: event, at: now,
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

    /// The `run.lost` that closes `fired` (`RunEventDrafts.lost`).
    func lostDraft(closing fired: Event, at now: Instant, reason: String) -> EventDraft {
        runEventDrafts.lost(closing: fired, at: EventTime(now), reason: reason)
    }

    // MARK: The loop

    enum MissCause {
        case daemonDown, clockJump

        var words: String {
            switch self {
            case .daemonDown: "the daemon was down"
            case .clockJump: "the wall clock jumped forward"
            }
        }
    }

    /// A forward step longer than this (and shorter than `largeJumpSeconds`) is a clock jump
    /// in Debian cron's sense; shorter gaps (a late wake-up, a short suspend) fire every slot.
    static let smallStepSeconds: Int64 = 5 * 60

    /// Debian cron's rules for wall-clock steps (cron.c's `wakeupKind`), applied to the
    /// daemon's instant timeline: forward by up to 5 min, every slot in the gap fires; by up
    /// to 3 h, fixed-time slots in the gap fire and wildcard jobs (minute or hour field
    /// starting with `*`) fire only for the current minute, their other slots recorded as
    /// missed; back by up to 3 h, wildcard jobs run again as the clock re-passes times already
    /// processed and fixed-time slots are not repeated; 3 h or more either way: recorded,
    /// slots in a forward gap missed, and the schedule re-based.
    private func tick(now: Instant) {
        let step = now.secondsSinceEpoch - lastProcessed.secondsSinceEpoch
        if step < 0 {
            if -step >= configuration.largeJumpSeconds {
                noteClock(now: now, "stepped back \(-step) s: schedule re-based at the new time")
                lastProcessed = now
                repeatCursor = nil
                nextHeartbeat = now.adding(seconds: configuration.heartbeatSeconds)
            } else if let cursor = repeatCursor {
                fire(wildcardSlots(after: cursor, through: now),
                     now: now, extra: EventDetails([.clock: "repeated after the wall clock stepped back"]))
                repeatCursor = now
            } else {
                repeatCursor = now
                noteClock(now: now, "stepped back \(-step) s: wildcard jobs run again as the clock passes \(EventTime(now).rfc3339) to \(EventTime(lastProcessed).rfc3339); fixed-time slots are not repeated")
            }
            return
        }
        if let cursor = repeatCursor {
            fire(wildcardSlots(after: cursor, through: lastProcessed),
                 now: now, extra: EventDetails([.clock: "repeated after the wall clock stepped back"]))
            repeatCursor = nil
        }
        if step >= configuration.largeJumpSeconds {
            noteClock(now: now, "jumped forward \(step) s: slots in between are missed and the schedule re-based")
            recordMissed(after: lastProcessed, through: now, now: now, cause: .clockJump, catchUp: false)
            lastProcessed = now
            return
        }
        var due = upcoming.due(after: lastProcessed, through: now)
        if step > Self.smallStepSeconds {
            let currentMinute = Instant(secondsSinceEpoch: now.secondsSinceEpoch - now.secondsSinceEpoch % 60)
            let wildcard = Set(wildcardDefinitions.map(\.name))
            let gapEnd = currentMinute.adding(seconds: -1)
            noteClock(now: now, "jumped forward \(step) s: fixed-time slots in between run now; wildcard jobs run only for the current minute, their other slots are missed (as Debian cron)")
            if gapEnd > lastProcessed {
                recordMissed(after: lastProcessed, through: gapEnd, now: now, cause: .clockJump, catchUp: false) {
                    wildcard.contains($0.name)
                }
            }
            due.removeAll { wildcard.contains($0.job) && $0.fire.instant < currentMinute }
        }
        lastProcessed = now
        fire(due, now: now)
        if now >= nextHeartbeat {
            var heartbeat = schedulerDraft(.daemonHeartbeat, at: now)
            heartbeat.details[.runningRuns] = String(active.values.reduce(0) { $0 + $1.count })
            record([heartbeat])
            nextHeartbeat = now.adding(seconds: configuration.heartbeatSeconds)
        }
        signCheckpointIfDue(now: now)
    }

    /// The wildcard jobs' slots in `(start, end]`, for the stretch repeated after a backward
    /// step (rare, so planned afresh rather than kept).
    private func wildcardSlots(after start: Instant, through end: Instant) -> [DueSlot] {
        var slots = UpcomingSlots(jobs: wildcardDefinitions, defaultZone: configuration.defaultZone, after: start)
        return slots.due(after: start, through: end)
    }

    private func nextWildcardSlot(after instant: Instant) -> Instant? {
        var slots = UpcomingSlots(jobs: wildcardDefinitions, defaultZone: configuration.defaultZone, after: instant)
        return slots.nextSlot(after: instant)
    }

    /// Jobs whose minute or hour field starts with `*` (Debian's MIN_STAR / HR_STAR).
    private var wildcardDefinitions: [JobDefinition] {
        definitions.filter {
            if case .calendar(let expression) = $0.schedule { return expression.isWildcard }
            return false
        }
    }

    private func noteClock(now: Instant, _ words: String) {
        var note = schedulerDraft(.daemonHeartbeat, at: now)
        note.reason = "wall clock " + words
        note.details[.clock] = words
        record([note])
    }

    /// Applies each slot's policy; slots due at the same instant start as one batch.
    private func fire(_ due: [DueSlot], now: Instant, extra: [String: String] = [:]) {
        // Store outage: nothing starts until the store can record again (Daemon+StoreOutage.swift).
        if storeOutage != nil, !resumeAfterStoreOutage(now: now) { return holdSlots(due) }
        admit(due.compactMap { slot in
            jobs[slot.job].map { ($0, PendingRun(slot: slot.fire.instant, reason: nil, details: SlotKey.details(slot.fire, extra))) }
        }, now: now)
    }

    /// The one gate every scheduled run passes — calendar slots and `@reboot` alike: the
    /// decision (`enabled`, what people disabled, overlap) starts, queues or skips it (recorded).
    /// Runs at one instant start as one batch.
    private func admit(_ runs: [(LoadedJob, PendingRun)], now: Instant) {
        var skipped: [EventDraft] = []
        var batch: [(LoadedJob, PendingRun)] = []
        var batchInstant: Instant?
        for (job, run) in runs {
            // A job's second slot at this instant (docs/SCHEDULES.md) must see its first as
            // running: start the batch so far, then apply the overlap policy.
            if batchInstant != run.slot || batch.contains(where: { $0.0.definition.name == job.definition.name }) {
                if !batch.isEmpty { dispatch(batch) }
                batch = []
                batchInstant = run.slot
            }
            switch decide(job) {
            case .start: batch.append((job, run))
            case .enqueue(let behind):
                var queued = run
                queued.details[.queuedBehind] = behind
                pending[job.definition.name, default: []].append(queued)
            case .skip(let refusal):
                skipped.append(skipDraft(job: job, slot: run.slot, reason: refusal.reason,
                                         details: run.details.merging(refusal.details) { $1 }, at: now))
            }
        }
        record(skipped)
        if !batch.isEmpty { dispatch(batch) }
    }

    /// What a slot of `job` (or a manual run of it) may do now: `RunDecision`, fed with what
    /// this daemon knows — the runs in progress and the queue.
    func decide(_ job: LoadedJob) -> RunDecision {
        let name = job.definition.name
        return RunDecision.decide(job.definition, disablements: disablements, running: active[name] ?? [],
                                  queued: !(pending[name]?.isEmpty ?? true))
    }

    /// `config.loaded`'s `writers`: `job=owner(uid)` for each job, `+` every other non-root
    /// account that can change its file (PRODUCT.md §7), in job order.
    static func writerList(_ jobs: [JobName: LoadedJob]) -> String {
        jobs.keys.sorted().compactMap { name in jobs[name]?.writers.map { "\(name)=\($0.listEntry)" } }.joined(separator: ",")
    }

    /// A `config.rejected` for one loading error.
    func rejection(_ diagnostic: JobFileDiagnostic, at now: Instant) -> EventDraft {
        var draft = schedulerDraft(.configRejected, at: now)
        draft.configSource = "\(diagnostic.path):\(diagnostic.line)"
        draft.reason = diagnostic.message
        return draft
    }

    /// Starts one batch in its own task: `runTogether` records every fired event in one
    /// transaction, then each terminal event as its run ends.
    func dispatch(_ runs: [(LoadedJob, PendingRun)]) {
        // Store outage: refuse before anything is prepared (Daemon+StoreOutage.swift).
        if storeOutage != nil, !resumeAfterStoreOutage(now: clock.now()) { return refuseDuringOutage(runs) }
        var orders: [RunOrder] = []
        for (job, run) in runs {
            let runID = run.runID ?? RandomIdentifier.hex128()
            active[job.definition.name, default: []].append(runID)
            jobOfRun[runID] = job.definition.name
            runSlots[runID] = run.slot
            orders.append(RunOrder(job: job.definition, definitionHash: job.hash, scheduledFor: run.slot.map(EventTime.init),
                                   principal: run.principal, reason: run.reason, runID: runID,
                                   details: run.details.merging(job.writers?.eventDetails ?? [:]) { current, _ in current }))
        }
        batchesInFlight += 1
        Task { await self.execute(orders) }
    }

    private func execute(_ orders: [RunOrder]) async {
        if let execution {
            _ = await execution.runTogether(orders, progress: RunProgress(
                started: { runID, pid in
                    self.processGroups[runID] = pid
                    self.observers[runID]?.started(pid)
                },
                ended: { report in
                    self.noteUnrecorded(report)
                    self.observers.removeValue(forKey: report.runID)?.ended(report)
                    self.runEnded(report.runID)
                },
                interruption: { runID in self.interruption(of: runID) }))
        } else {
            for order in orders { runEnded(order.runID ?? "") }
        }
        batchesInFlight -= 1
    }

    /// The drain signalled this run: its end is the shutdown's doing, and says whose.
    func interruption(of runID: String) -> RunInterruption? {
        stoppedByShutdown.contains(runID) ? .daemonShutdown(requestedBy: stopRequester) : nil
    }

    func runEnded(_ runID: String) {
        processGroups[runID] = nil
        runSlots[runID] = nil
        guard let name = jobOfRun.removeValue(forKey: runID) else { return }
        active[name]?.removeAll { $0 == runID }
        guard active[name]?.isEmpty ?? true else { return }
        active[name] = nil
        guard !stopping, let job = jobs[name], var queue = pending[name], !queue.isEmpty else { return }
        guard disablements.blocking(job.definition) == nil else {
            skipQueued(of: [job.definition], now: clock.now())
            return
        }
        let next = queue.removeFirst()
        pending[name] = queue.isEmpty ? nil : queue
        dispatch([(job, next)])
    }

    // MARK: Missed slots

    /// The most slots of one job recorded one by one, and caught up by `catch-up = all`.
    static let missedLimit = 100

    /// `inForce`: the definitions that applied during the window (after a downtime, those the
    /// previous daemon had loaded); by default the current ones. Catch-up runs the current
    /// definition, under its current policy. `previous`: how the daemon before this start
    /// ended, said in each `run.missed`. A slot already accounted for (fired, skipped or missed,
    /// e.g. by the previous daemon just before it died) is left out, of a collapsed event too.
    private func recordMissed(after start: Instant, through end: Instant, now: Instant, cause: MissCause, catchUp: Bool,
                              inForce: [LoadedJob]? = nil, previous: PreviousDaemonEnd? = nil,
                              only include: (JobDefinition) -> Bool = { _ in true }) {
        guard let store else { return }
        var drafts: [EventDraft] = []
        var catchUps: [(JobName, [PendingRun])] = []
        var window = DownWindow(from: EventTime(start), until: EventTime(end)).details
        if let previous { window.merge(previous.details) { $1 } }
        let reason = "\(cause.words) from \(EventTime(start).rfc3339) to \(EventTime(end).rfc3339)"
            + (previous.map { " (\($0.words))" } ?? "")
        let applying = inForce ?? definitions.compactMap { jobs[$0.name] }
        for job in applying.sorted(by: { $0.definition.name < $1.definition.name }) where include(job.definition) {
            let definition = job.definition
            // A slot already fired, skipped or missed (by the previous daemon after its last
            // heartbeat, or by a start before) is not missed again.
            var accounted = Set<SlotKey>()
            try? store.forEachEvent(matching: EventFilter(job: definition.name.rawValue, since: EventTime(start))) {
                if $0.type == .runFired || $0.type == .runSkipped || $0.type == .runMissed, let key = SlotKey($0) {
                    accounted.insert(key)
                }
            }
            let slots = SlotPlanner.window(of: definition, defaultZone: configuration.defaultZone,
                                           after: start, through: end, keep: Self.missedLimit) { accounted.contains(SlotKey($0)) }
            guard slots.count > 0, let first = slots.first, let last = slots.last else { continue }
            let current = jobs[definition.name]?.definition
            var policy = current.map { catchUp && $0.enabled && disablements.blocking($0) == nil ? $0.catchUp : .none } ?? .none
            if slots.count <= Self.missedLimit {
                for fire in slots.latest {
                    var draft = runDraft(.runMissed, job: job, slot: fire.instant, at: now)
                    draft.reason = reason
                    draft.details = window.merging(EventDetails([.catchUp: policy.rawValue])) { $1 }
                    draft.details[.dstShiftedFrom] = fire.shiftedFrom?.wallClockText
                    drafts.append(draft)
                }
            } else {
                var draft = runDraft(.runMissed, job: job, slot: last.instant, at: now)
                draft.reason = reason + " (\(slots.count) slots, collapsed into this event)"
                draft.details = window.merging(CollapsedSlots(count: slots.count, first: EventTime(first.instant),
                                                              last: EventTime(last.instant)).details) { $1 }
                draft.details[.catchUp] = policy.rawValue
                if policy == .all {
                    draft.details[.caughtUp] = String(slots.latest.count)
                    draft.details[.notCaughtUp] = String(slots.count - slots.latest.count)
                }
                drafts.append(draft)
            }
            let runs = slots.latest
            if runs.isEmpty { policy = .none }
            switch policy {
            case .none: break
            case .once:
                if let latest = runs.last {
                    catchUps.append((definition.name, [PendingRun(
                        slot: latest.instant, reason: "catch-up (once): the latest slot missed while \(cause.words)",
                        details: SlotKey.details(latest, EventDetails([.trigger: Trigger.catchUp.rawValue, .catchUp: CatchUpPolicy.once.rawValue])))]))
                }
            case .all:
                catchUps.append((definition.name, runs.map {
                    PendingRun(slot: $0.instant, reason: "catch-up (all): a slot missed while \(cause.words)",
                               details: SlotKey.details($0, EventDetails([.trigger: Trigger.catchUp.rawValue, .catchUp: CatchUpPolicy.all.rawValue])))
                }))
            }
        }
        record(drafts)
        for (name, runs) in catchUps {
            guard let job = jobs[name], let first = runs.first else { continue }
            if runs.count > 1 { pending[name, default: []] += runs.dropFirst() }
            dispatch([(job, first)])
        }
    }

    // MARK: Stopping

    /// Queued runs that never started are recorded as skipped; running ones get the grace,
    /// then SIGTERM to their process group, then SIGKILL; the loop waits for every terminal
    /// event to be written.
    private func drain() async -> (terminated: Int, unstarted: Int) {
        let now = clock.now()
        var skipped: [EventDraft] = []
        for (name, runs) in pending.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let job = jobs[name] else { continue }
            for run in runs {
                skipped.append(skipDraft(job: job, slot: run.slot, reason: "the daemon stopped before this queued run could start",
                                         details: EventDetails([.skipReason: SkipReason.daemonStopping.rawValue]), at: now))
            }
        }
        pending = [:]
        record(skipped)
        var terminated = 0
        if await !waitForRuns(upTo: configuration.drainGrace) {
            terminated = processGroups.count
            stoppedByShutdown.formUnion(processGroups.keys)
            for group in processGroups.values { _ = try? SystemCalls.signalGroup(group, SIGTERM) }
            if await !waitForRuns(upTo: configuration.terminateGrace) {
                for group in processGroups.values { _ = try? SystemCalls.signalGroup(group, SIGKILL) }
            }
        }
        while batchesInFlight > 0 { try? await Task.sleep(for: .milliseconds(20)) }
        return (terminated, skipped.count)
    }

    /// Slots that came due after the loop stopped ticking — while the daemon drained — each
    /// become `run.skipped` (`daemon-stopping`, the stop's words): nothing new starts, and every
    /// slot up to `daemon.stopped` has its account, so the next start's downtime begins there.
    /// Returns how many slots were recorded.
    private func recordSlotsWhileStopping(through end: Instant) -> Int {
        guard end > lastProcessed else { return 0 }
        let reason = "the daemon was stopping (\(stopWords)); nothing new starts while it drains"
        var drafts: [EventDraft] = []
        var count = 0
        for job in definitions.compactMap({ jobs[$0.name] }) {
            let slots = SlotPlanner.window(of: job.definition, defaultZone: configuration.defaultZone,
                                           after: lastProcessed, through: end, keep: Self.missedLimit)
            guard let first = slots.first, let last = slots.last else { continue }
            count += slots.count
            let details = EventDetails([.skipReason: SkipReason.daemonStopping.rawValue, .stopRequested: stopWords])
            if slots.count <= Self.missedLimit {
                for fire in slots.latest {
                    drafts.append(skipDraft(job: job, slot: fire.instant, reason: reason, details: SlotKey.details(fire, details),
                                            at: end))
                }
            } else {
                let collapsed = CollapsedSlots(count: slots.count, first: EventTime(first.instant), last: EventTime(last.instant))
                drafts.append(skipDraft(job: job, slot: last.instant, reason: reason + " (\(slots.count) slots, collapsed into this event)",
                                        details: details.merging(collapsed.details) { $1 }, at: end))
            }
        }
        lastProcessed = end
        record(drafts)
        return count
    }

    /// Polls (every 20 ms, only while draining) until no run is active or `limit` passes.
    private func waitForRuns(upTo limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !active.isEmpty, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return active.isEmpty
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

    func schedulerDraft(_ type: EventType, at time: Instant) -> EventDraft {
        EventDraft(time: EventTime(time), host: configuration.host, type: type, actor: actor,
                   development: configuration.development)
    }

    /// The scheduler's event about a run of `job` (`RunEventDrafts.about`).
    func runDraft(_ type: EventType, job: LoadedJob, slot: Instant?, at time: Instant) -> EventDraft {
        runEventDrafts.about(type, job: job.definition, definitionHash: job.hash, slot: slot, at: EventTime(time))
    }

    /// A `run.skipped` of `job` (`RunEventDrafts.skipped`).
    func skipDraft(job: LoadedJob, slot: Instant?, reason: String, details: EventDetails, at time: Instant) -> EventDraft {
        runEventDrafts.skipped(job: job.definition, definitionHash: job.hash, slot: slot, reason: reason, details: details,
                               at: EventTime(time))
    }

    var runEventDrafts: RunEventDrafts {
        RunEventDrafts(host: configuration.host, development: configuration.development)
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
