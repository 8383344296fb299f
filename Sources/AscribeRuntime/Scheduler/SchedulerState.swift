import AscribeCore

/// What the scheduler needs of the daemon's configuration: who it is, the zone of jobs that
/// name none, and its timings.
struct SchedulerSettings {
    var host: String
    var development: Bool
    var jobsDirectory: String
    var defaultZone: ZoneRules
    var heartbeatSeconds: Int64 = 300
    var maxSleepSeconds: Int64 = 60
    var largeJumpSeconds: Int64 = 3 * 3600

    init(host: String, development: Bool, jobsDirectory: String, defaultZone: ZoneRules) {
        self.host = host
        self.development = development
        self.jobsDirectory = jobsDirectory
        self.defaultZone = defaultZone
    }

    init(_ configuration: DaemonConfiguration) {
        self.init(host: configuration.host, development: configuration.development,
                  jobsDirectory: configuration.jobsDirectory, defaultZone: configuration.defaultZone)
        heartbeatSeconds = configuration.heartbeatSeconds
        maxSleepSeconds = configuration.maxSleepSeconds
        largeJumpSeconds = configuration.largeJumpSeconds
    }
}

/// The scheduler's decisions, without I/O: the loaded jobs, their upcoming slots, the queue,
/// the runs in progress, what people disabled, and the clock's progress. No system calls, no
/// threads, no clock reads: each method is told the time and what happened (a wake-up, a run's
/// end, a reload) and returns what to do — drafts to record, runs to launch
/// (`SchedulerAction`) — which the `Daemon` actor carries out. Tests drive it directly.
struct SchedulerState {
    let settings: SchedulerSettings
    /// The scheduler's name on this host, the actor of its own events.
    let actor: String
    /// A fresh run id (random in the daemon; injected so the state makes no system call).
    private let newRunID: () -> String

    var jobs: [JobName: LoadedJob] = [:]
    /// Each calendar job's next slot; rebuilt whenever `jobs` changes.
    private var upcoming = UpcomingSlots()
    /// The instant up to which every slot has been handled.
    var lastProcessed = Instant(secondsSinceEpoch: 0)
    private var nextHeartbeat = Instant(secondsSinceEpoch: 0)
    /// After the wall clock stepped back (less than 3 h): how far the repeated stretch has
    /// been processed. Wildcard jobs run again as the clock passes it (as Debian cron does);
    /// fixed-time slots up to `lastProcessed` are not repeated.
    private var repeatCursor: Instant?
    var active = ActiveRuns()
    /// Runs waiting for their job's run in progress to end, per job, oldest first.
    private(set) var pending: [JobName: [PendingRun]] = [:]
    var disablements = Disablements()
    /// Job files that do not load, by path (SchedulerState+Definitions.swift).
    var rejections: [String: FileRejection] = [:]
    /// Set once the daemon is asked to stop: nothing new starts.
    var stopping = false

    init(settings: SchedulerSettings, newRunID: @escaping () -> String) {
        self.settings = settings
        self.actor = HostName.schedulerActor(host: settings.host)
        self.newRunID = newRunID
    }

    /// The loaded definitions in name order.
    var definitions: [JobDefinition] {
        jobs.values.map(\.definition).sorted { $0.name.rawValue < $1.name.rawValue }
    }

    /// Scheduling begins at `now`: slots are planned from it, the first heartbeat is due one
    /// interval later.
    mutating func begin(at now: Instant) {
        lastProcessed = now
        upcoming = UpcomingSlots(jobs: jobs.values.lazy.map(\.definition), defaultZone: settings.defaultZone, after: now)
        nextHeartbeat = now.adding(seconds: settings.heartbeatSeconds)
    }

    /// Re-plans every job's next slot from what has been processed (after `jobs` changed).
    mutating func replan() {
        upcoming = UpcomingSlots(jobs: jobs.values.lazy.map(\.definition), defaultZone: settings.defaultZone,
                                 after: lastProcessed)
    }

    /// When the loop should wake next: the earliest slot, the next wildcard slot of a stretch
    /// repeated after a backward step, the next heartbeat, and at most `maxSleepSeconds` away
    /// (so a wall-clock step is noticed).
    mutating func wakeTime(now: Instant) -> Instant {
        var wake = now.adding(seconds: settings.maxSleepSeconds)
        if let next = upcoming.nextSlot(after: lastProcessed), next < wake {
            wake = next
        }
        if let cursor = repeatCursor, let next = nextWildcardSlot(after: cursor), next < wake {
            wake = next
        }
        if nextHeartbeat < wake { wake = nextHeartbeat }
        return wake
    }

    // MARK: The clock

    /// A forward step longer than this (and shorter than `largeJumpSeconds`) is a clock jump
    /// in Debian cron's sense; shorter gaps (a late wake-up, a short suspend) fire every slot.
    static let smallStepSeconds: Int64 = 5 * 60

    /// The loop woke at `now`. Debian cron's rules for wall-clock steps (cron.c's
    /// `wakeupKind`), applied to the daemon's instant timeline: forward by up to 5 min, every
    /// slot in the gap fires; by up to 3 h, fixed-time slots in the gap fire and wildcard jobs
    /// (minute or hour field starting with `*`) fire only for the current minute, their other
    /// slots recorded as missed; back by up to 3 h, wildcard jobs run again as the clock
    /// re-passes times already processed and fixed-time slots are not repeated; 3 h or more
    /// either way: recorded, slots in a forward gap missed, and the schedule re-based.
    mutating func tick(now: Instant, accounted: AccountedSlots) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        let step = now.secondsSinceEpoch - lastProcessed.secondsSinceEpoch
        let repeated = EventDetails([.clock: "repeated after the wall clock stepped back"])
        if step < 0 {
            if -step >= settings.largeJumpSeconds {
                actions.append(.record([clockNote(now: now, "stepped back \(-step) s: schedule re-based at the new time")]))
                lastProcessed = now
                repeatCursor = nil
                nextHeartbeat = now.adding(seconds: settings.heartbeatSeconds)
            } else if let cursor = repeatCursor {
                actions.append(.slotsDue(scheduled(wildcardSlots(after: cursor, through: now), extra: repeated)))
                repeatCursor = now
            } else {
                repeatCursor = now
                actions.append(.record([clockNote(now: now, "stepped back \(-step) s: wildcard jobs run again as the clock passes \(EventTime(now).rfc3339) to \(EventTime(lastProcessed).rfc3339); fixed-time slots are not repeated")]))
            }
            return actions
        }
        if let cursor = repeatCursor {
            actions.append(.slotsDue(scheduled(wildcardSlots(after: cursor, through: lastProcessed), extra: repeated)))
            repeatCursor = nil
        }
        if step >= settings.largeJumpSeconds {
            actions.append(.record([clockNote(now: now, "jumped forward \(step) s: slots in between are missed and the schedule re-based")]))
            actions += missed(after: lastProcessed, through: now, now: now, cause: .clockJump, catchUp: false, accounted: accounted)
            lastProcessed = now
            return actions
        }
        var due = upcoming.due(after: lastProcessed, through: now)
        if step > Self.smallStepSeconds {
            let currentMinute = Instant(secondsSinceEpoch: now.secondsSinceEpoch - now.secondsSinceEpoch % 60)
            let wildcard = Set(wildcardDefinitions.map(\.name))
            let gapEnd = currentMinute.adding(seconds: -1)
            actions.append(.record([clockNote(now: now, "jumped forward \(step) s: fixed-time slots in between run now; wildcard jobs run only for the current minute, their other slots are missed (as Debian cron)")]))
            if gapEnd > lastProcessed {
                actions += missed(after: lastProcessed, through: gapEnd, now: now, cause: .clockJump, catchUp: false,
                                  accounted: accounted) { wildcard.contains($0.name) }
            }
            due.removeAll { wildcard.contains($0.job) && $0.fire.instant < currentMinute }
        }
        lastProcessed = now
        // Even with nothing due: each wake-up is a chance to end a store outage.
        actions.append(.slotsDue(scheduled(due, extra: [:])))
        if now >= nextHeartbeat {
            actions.append(.heartbeat)
            nextHeartbeat = now.adding(seconds: settings.heartbeatSeconds)
        }
        return actions
    }

    /// The `daemon.heartbeat` a `.heartbeat` action asks for, counting the runs in progress now.
    func heartbeat(at now: Instant) -> EventDraft {
        var heartbeat = schedulerDraft(.daemonHeartbeat, at: now)
        heartbeat.details[.runningRuns] = String(active.count)
        return heartbeat
    }

    /// Due slots as runs of the loaded jobs, each with its slot's details.
    private func scheduled(_ due: [DueSlot], extra: [String: String]) -> [JobRun] {
        due.compactMap { slot in
            jobs[slot.job].map { JobRun(job: $0, run: PendingRun(slot: slot.fire.instant, reason: nil,
                                                                  details: SlotKey.details(slot.fire, extra))) }
        }
    }

    /// The wildcard jobs' slots in `(start, end]`, for the stretch repeated after a backward
    /// step (rare, so planned afresh rather than kept).
    private func wildcardSlots(after start: Instant, through end: Instant) -> [DueSlot] {
        var slots = UpcomingSlots(jobs: wildcardDefinitions, defaultZone: settings.defaultZone, after: start)
        return slots.due(after: start, through: end)
    }

    private func nextWildcardSlot(after instant: Instant) -> Instant? {
        var slots = UpcomingSlots(jobs: wildcardDefinitions, defaultZone: settings.defaultZone, after: instant)
        return slots.nextSlot(after: instant)
    }

    /// Jobs whose minute or hour field starts with `*` (Debian's MIN_STAR / HR_STAR).
    private var wildcardDefinitions: [JobDefinition] {
        definitions.filter {
            if case .calendar(let expression) = $0.schedule { return expression.isWildcard }
            return false
        }
    }

    private func clockNote(now: Instant, _ words: String) -> EventDraft {
        var note = schedulerDraft(.daemonHeartbeat, at: now)
        note.reason = "wall clock " + words
        note.details[.clock] = words
        return note
    }

    // MARK: Starting runs

    /// The `@reboot` runs of a start at `now`. They pass the same gate as calendar slots
    /// (`admit`): a disabled job or identity, or a run still in progress (an adopted one), is a
    /// recorded skip, not a silent start.
    func rebootRuns(at now: Instant) -> [JobRun] {
        definitions.filter { $0.schedule == .reboot }.compactMap { job in
            jobs[job.name].map {
                JobRun(job: $0, run: PendingRun(slot: now, reason: "@reboot: the daemon started",
                                                details: EventDetails([.trigger: Trigger.reboot.rawValue])))
            }
        }
    }

    /// The one gate every scheduled run passes — calendar slots and `@reboot` alike: the
    /// decision (`enabled`, what people disabled, overlap) starts, queues or skips it (recorded).
    /// Runs at one instant start as one batch.
    mutating func admit(_ runs: [JobRun], now: Instant) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        var skipped: [EventDraft] = []
        var batch: [JobRun] = []
        var batchInstant: Instant?
        for request in runs {
            let job = request.job
            // A job's second slot at this instant (docs/SCHEDULES.md) must see its first as
            // running: start the batch so far, then apply the overlap policy.
            if batchInstant != request.run.slot || batch.contains(where: { $0.job.definition.name == job.definition.name }) {
                if !batch.isEmpty { actions.append(launch(batch)) }
                batch = []
                batchInstant = request.run.slot
            }
            switch decide(job) {
            case .start: batch.append(request)
            case .enqueue(let behind):
                var queued = request.run
                queued.details[.queuedBehind] = behind
                pending[job.definition.name, default: []].append(queued)
            case .skip(let refusal):
                skipped.append(skipDraft(job: job, slot: request.run.slot, reason: refusal.reason,
                                         details: request.run.details.merging(refusal.details) { $1 }, at: now))
            }
        }
        if !skipped.isEmpty { actions.append(.record(skipped)) }
        if !batch.isEmpty { actions.append(launch(batch)) }
        return actions
    }

    /// What a slot of `job` (or a manual run of it) may do now: `RunDecision`, fed with what
    /// the scheduler knows — the runs in progress and the queue.
    func decide(_ job: LoadedJob) -> RunDecision {
        let name = job.definition.name
        return RunDecision.decide(job.definition, disablements: disablements, running: active.of(name),
                                  queued: !(pending[name]?.isEmpty ?? true))
    }

    /// Counts `runs` as running from now (each given its run id) and asks for them to start as
    /// one batch. Used for runs already decided: an admitted batch, a queued run whose turn
    /// came, a catch-up, a manual run.
    mutating func launch(_ runs: [JobRun]) -> SchedulerAction {
        var launched: [JobRun] = []
        for var request in runs {
            let runID = request.run.runID ?? newRunID()
            request.run.runID = runID
            active.insert(ActiveRun(runID: runID, job: request.job.definition.name, slot: request.run.slot,
                                    manual: request.run.principal != nil))
            launched.append(request)
        }
        return .launch(launched)
    }

    /// The shell could not start these runs (the store cannot record): they are not running.
    /// Nothing queued behind them starts now; that waits for a run's end, as before they were asked for.
    mutating func launchRefused(_ runIDs: [String]) {
        for runID in runIDs { active.remove(runID) }
    }

    /// Run `runID` ended (its terminal event is written or held): forgotten, and when it was
    /// its job's last run in progress, the job's first queued run starts — or, if the job was
    /// disabled meanwhile, its queue is skipped.
    mutating func runEnded(_ runID: String, now: Instant) -> [SchedulerAction] {
        guard let run = active.remove(runID), active.of(run.job).isEmpty else { return [] }
        let name = run.job
        guard !stopping, let job = jobs[name], var queue = pending[name], !queue.isEmpty else { return [] }
        guard disablements.blocking(job.definition) == nil else {
            return skipQueued(of: [job.definition], now: now)
        }
        let next = queue.removeFirst()
        pending[name] = queue.isEmpty ? nil : queue
        return [launch([JobRun(job: job, run: next)])]
    }

    /// Queued slots of jobs that were just disabled are skipped now rather than started later.
    mutating func skipQueued(of affected: [JobDefinition], now: Instant) -> [SchedulerAction] {
        var skipped: [EventDraft] = []
        for definition in affected {
            guard let job = jobs[definition.name], let queue = pending.removeValue(forKey: definition.name),
                  let blocked = disablements.blocking(definition) else { continue }
            for run in queue {
                skipped.append(skipDraft(job: job, slot: run.slot, reason: blocked.skipReason,
                                         details: run.details.merging(blocked.skipDetails) { $1 }, at: now))
            }
        }
        return skipped.isEmpty ? [] : [.record(skipped)]
    }

    /// Queues `runs` behind a run about to start (a catch-up's later slots).
    mutating func enqueue(_ runs: some Sequence<PendingRun>, of job: JobName) {
        pending[job, default: []] += runs
    }

    /// Jobs removed by a reload lose their queue.
    mutating func dropQueue(of job: JobName) {
        pending[job] = nil
    }

    // MARK: Stopping

    /// The drain: queued runs that never started, each as `run.skipped` (`daemon-stopping`);
    /// the queue is emptied.
    mutating func drainQueue(now: Instant) -> [EventDraft] {
        var skipped: [EventDraft] = []
        for (name, runs) in pending.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let job = jobs[name] else { continue }
            for run in runs {
                skipped.append(skipDraft(job: job, slot: run.slot, reason: "the daemon stopped before this queued run could start",
                                         details: EventDetails([.skipReason: SkipReason.daemonStopping.rawValue]), at: now))
            }
        }
        pending = [:]
        return skipped
    }

    /// The drain is about to signal every run this daemon started: marks them (their terminal
    /// events say the shutdown ended them) and returns their process groups.
    mutating func signalledByShutdown() -> [Int32] {
        let started = active.byID.values.filter { $0.processGroup != nil }
        for run in started { active.update(run.runID) { $0.stoppedByShutdown = true } }
        return started.compactMap(\.processGroup)
    }

    /// The process groups of the runs this daemon started that are still running.
    var processGroups: [Int32] { active.byID.values.compactMap(\.processGroup) }

    // MARK: Drafts

    func schedulerDraft(_ type: EventType, at time: Instant) -> EventDraft {
        EventDraft(time: EventTime(time), host: settings.host, type: type, actor: actor, development: settings.development)
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

    /// The `run.lost` that closes `fired` (`RunEventDrafts.lost`).
    func lostDraft(closing fired: Event, at now: Instant, reason: String) -> EventDraft {
        runEventDrafts.lost(closing: fired, at: EventTime(now), reason: reason)
    }

    var runEventDrafts: RunEventDrafts {
        RunEventDrafts(host: settings.host, development: settings.development)
    }
}
