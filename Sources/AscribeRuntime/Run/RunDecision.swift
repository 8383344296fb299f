import AscribeCore

/// Why a run of a job did not start, as `run.skipped` records it (`skip_reason`).
public enum SkipReason: String, Sendable {
    case jobDisabled = "job-disabled"
    case identityDisabled = "identity-disabled"
    case overlap
    case daemonStopping = "daemon-stopping"
    case storeUnwritable = "store-unwritable"
}

/// A run that may not start now: the kind, the words for `reason`, and the details its
/// `run.skipped` carries (`skip_reason` among them).
public struct RunRefusal: Sendable, Equatable {
    public var skipReason: SkipReason
    public var reason: String
    public var details: [String: String]

    init(_ skipReason: SkipReason, reason: String, details: [String: String] = [:]) {
        self.skipReason = skipReason
        self.reason = reason
        self.details = details.merging(EventDetails([.skipReason: skipReason.rawValue])) { $1 }
    }

    /// What a forced run records on its `run.fired`: that it was forced, and what it overrode.
    public var overriddenDetails: [String: String] {
        EventDetails([.forced: DetailFlag.yes.rawValue, .overrode: skipReason.rawValue, .overrodeReason: reason])
    }
}

/// What a run of a job may do now. One rule for the daemon's slots, manual runs through the
/// daemon and `ascribe run` without a daemon, so no path can start what another would refuse:
/// the job file's `enabled`, then what people disabled (the log's `*.disabled` events), then the
/// overlap policy against the runs in progress.
public enum RunDecision: Sendable, Equatable {
    case start
    /// `overlap = queue`: wait for the named run to end.
    case enqueue(behind: String)
    case skip(RunRefusal)

    /// `running`: run ids of the job in progress, oldest first; `queued`: a run of the job
    /// already waits behind them.
    public static func decide(_ definition: JobDefinition, disablements: Disablements, running: [String],
                              queued: Bool) -> RunDecision {
        guard definition.enabled else {
            let source = enabledSource(of: definition)
            return .skip(RunRefusal(.jobDisabled, reason: "job \(definition.name) is disabled by its job file \(source)",
                                    details: DisabledDetails(by: source, at: nil, reason: nil, seq: nil).details))
        }
        if let blocked = disablements.blocking(definition) {
            return .skip(RunRefusal(blocked.target.kind == .identity ? .identityDisabled : .jobDisabled,
                                    reason: blocked.skipReason, details: blocked.skipDetails))
        }
        guard let current = running.first else { return .start }
        switch definition.overlap {
        case .allow:
            return .start
        case .skip:
            return .skip(RunRefusal(.overlap, reason: "run \(current) of \(definition.name) is still in progress",
                                    details: EventDetails([.runningRunId: current])))
        case .queue:
            guard !queued else {
                return .skip(RunRefusal(.overlap,
                                        reason: "run \(current) of \(definition.name) is still in progress and one run is already queued",
                                        details: EventDetails([.runningRunId: current])))
            }
            return .enqueue(behind: current)
        }
    }

    /// A manual run of `definition` never waits: where a slot would queue, it is refused.
    public func forManualRun(of definition: JobDefinition) -> RunDecision {
        guard case .enqueue(let running) = self else { return self }
        return .skip(RunRefusal(.overlap, reason: "run \(running) of \(definition.name) is still in progress (overlap = queue)",
                                details: EventDetails([.runningRunId: running])))
    }

    public var refusal: RunRefusal? {
        if case .skip(let refusal) = self { return refusal }
        return nil
    }

    /// The job file line that says `enabled = no`.
    public static func enabledSource(of definition: JobDefinition) -> String {
        "\(definition.source.path):\(definition.source.line(of: .enabled) ?? 1)"
    }
}

/// The runs of one job in progress, as a process other than the daemon can tell from the log
/// and the kernel: an open `run.fired` whose recorder (the daemon or an `ascribe run`) is
/// still alive, or whose processes still carry its run id.
public enum RunsInProgress {
    /// Run ids, oldest first.
    public static func of(job: JobName, store: EventStore) throws(EventStoreError) -> [String] {
        let open = try store.openRuns().filter { $0.job == job.rawValue }
        guard !open.isEmpty else { return [] }
        let survivors = RunProcesses.find(Set(open.compactMap(\.runID)))
        return open.sorted { $0.seq < $1.seq }.compactMap { event in
            guard let runID = event.runID else { return nil }
            if RecorderProcess(details: event.details)?.isAlive == true || survivors[runID] != nil { return runID }
            return nil
        }
    }
}

/// `ascribe run` without a daemon: the same `RunDecision` as the daemon's manual runs (what the
/// job file and the log disable, the runs in progress), refused runs recorded the same way:
/// `run.skipped`, `trigger = manual`, the caller as principal.
public enum LocalRunGate {
    public enum Verdict {
        /// Run it; `details` go on its `run.fired` (a forced run says so, and what it overrode).
        case start(details: [String: String])
        /// Refused, and recorded as this `run.skipped`.
        case refused(Event)
    }

    /// `force`: root's override (the caller checks the caller is root); the run starts whatever
    /// the rules say, and its `run.fired` records what they said.
    public static func check(_ job: JobDefinition, definitionHash: String?, store: EventStore, principal: Principal,
                             reason: String?, force: Bool, host: String, development: Bool,
                             now: Instant) throws(EventStoreError) -> Verdict {
        let disablements = try Disablements(store: store)
        let running = try RunsInProgress.of(job: job.name, store: store)
        let decision = RunDecision.decide(job, disablements: disablements, running: running, queued: false)
            .forManualRun(of: job)
        if force {
            return .start(details: decision.refusal?.overriddenDetails ?? EventDetails([.forced: DetailFlag.yes.rawValue]))
        }
        guard let refusal = decision.refusal else { return .start(details: [:]) }
        // The recorder: this `ascribe run`, not a daemon (a daemon's downtime accounting tells them apart).
        let details = EventDetails([.trigger: Trigger.manual.rawValue, .principalSource: principal.source.rawValue])
            .merging(RecorderProcess.current()?.details ?? [:]) { $1 }
            .merging(refusal.details) { $1 }
        var draft = RunEventDrafts(host: host, development: development)
            .skipped(job: job, definitionHash: definitionHash, slot: nil, reason: "manual run not started: " + refusal.reason,
                     details: details, at: EventTime(now))
        draft.principal = principal.name
        return .refused(try store.append(draft))
    }
}
