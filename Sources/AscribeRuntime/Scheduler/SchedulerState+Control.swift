import AscribeCore

/// What a disable or enable request comes to.
enum DisablementChange {
    /// Nothing to change (already so); the reply's words.
    case unchanged(String)
    case refused(ControlRefusal, String)
    /// Record `draft`; once it is durable, `applyDisablement` makes it so.
    case record(EventDraft, target: Disablement.Target, affected: [JobDefinition])
}

/// A request naming no job or identity the scheduler can act on.
struct TargetRefusal: Error {
    var code: ControlRefusal
    var message: String
}

extension SchedulerState {
    /// A disable (`disable`) or enable of `target`, asked by `requester` with `reason`: the
    /// event to record, or why there is none. Nothing changes until the event is durable.
    func disablementChange(disable: Bool, _ target: ControlTarget, reason: String, requester: Requester,
                           now: Instant) -> DisablementChange {
        let resolved: Disablement.Target
        switch resolve(target, forEnable: !disable) {
        case .success(let found): resolved = found
        case .failure(let refusal): return .refused(refusal.code, refusal.message)
        }
        let current = disablements.byTarget[resolved]
        if disable, let current {
            return .unchanged("\(resolved) is already disabled by \(current.by) at \(current.at.rfc3339) (\"\(current.reason)\"); nothing recorded")
        }
        if !disable && current == nil {
            return .unchanged("\(resolved) is not disabled; nothing recorded")
        }
        let affected = definitions.filter {
            switch resolved {
            case .job(let name): $0.name.rawValue == name
            case .identity(let name): $0.identity.rawValue == name
            }
        }
        let type: EventType = switch (resolved, disable) {
        case (.identity, true): .identityDisabled
        case (.identity, false): .identityEnabled
        case (.job, true): .jobDisabled
        case (.job, false): .jobEnabled
        }
        var draft = schedulerDraft(type, at: now)
        draft.principal = requester.principal
        draft.reason = reason
        switch resolved {
        case .identity(let name): draft.identity = name
        case .job(let name):
            draft.job = name
            draft.identity = affected.first?.identity.rawValue
        }
        draft.owner = affected.first?.owner.text
        draft.details = requester.details.merging(EventDetails([.jobs: affected.map(\.name.rawValue).joined(separator: ",")])) { $1 }
        if disable {
            let running = affected.flatMap { active.of($0.name) }
            if !running.isEmpty { draft.details[.runningRunsContinue] = running.joined(separator: ",") }
        }
        return .record(draft, target: resolved, affected: affected)
    }

    /// A disable or enable is recorded (`event`): it is in force, and the queued runs of jobs
    /// it disabled are skipped now rather than started later.
    mutating func applyDisablement(_ event: Event, affected: [JobDefinition], now: Instant) -> [SchedulerAction] {
        disablements.apply(event)
        guard event.type == .jobDisabled || event.type == .identityDisabled else { return [] }
        return skipQueued(of: affected, now: now)
    }

    /// The job or identity a request names. Enable also accepts a name that is disabled but
    /// no longer loaded, so a removed job's switch can still be turned back.
    func resolve(_ target: ControlTarget, forEnable: Bool) -> Result<Disablement.Target, TargetRefusal> {
        let name = target.name
        let isJob = (try? JobName(name)).map { jobs[$0] != nil } ?? false
        let isIdentity = jobs.values.contains { $0.definition.identity.rawValue == name }
        let disabledJob = forEnable && disablements.byTarget[.job(name)] != nil
        let disabledIdentity = forEnable && disablements.byTarget[.identity(name)] != nil
        switch target.kind {
        case .job?:
            if isJob || disabledJob { return .success(.job(name)) }
        case .identity?:
            if isIdentity || disabledIdentity { return .success(.identity(name)) }
        case nil:
            let asJob = isJob || disabledJob
            let asIdentity = isIdentity || disabledIdentity
            // The usual layout, one identity per automation: the job and its only identity
            // share the name; the identity is meant (it also covers the job's future runs).
            let identityJobs = jobs.values.filter { $0.definition.identity.rawValue == name }
            if asJob && asIdentity && identityJobs.count == 1 && identityJobs[0].definition.name.rawValue == name {
                return .success(.identity(name))
            }
            if asJob && asIdentity {
                return .failure(TargetRefusal(code: .ambiguousTarget, message:
                    "\"\(name)\" is both a job and an identity; say which with --job or --identity"))
            }
            if asJob { return .success(.job(name)) }
            if asIdentity { return .success(.identity(name)) }
        }
        let kind = target.kind.map { "\($0.rawValue) " } ?? "job or identity "
        return .failure(TargetRefusal(code: .unknownTarget, message: "no \(kind)\"\(name)\" is loaded from \(settings.jobsDirectory)"))
    }

    /// What a manual run of `job` may do: the same rules as a slot (`RunDecision`); a manual
    /// run never waits, so a queue is a refusal too.
    func decideManualRun(of job: LoadedJob) -> RunDecision {
        decide(job).forManualRun(of: job.definition)
    }
}
