import AscribeCore

/// Builds the draft of every event about a run, for the daemon (skipped, missed, lost) and for
/// `RunExecution` (fired and its end, also under `ascribe run`): one place decides which fields
/// a run event carries, so the two paths cannot drift apart.
public struct RunEventDrafts: Sendable {
    public var host: String
    /// A `--dev` daemon or `ascribe run --dev` writes them.
    public var development: Bool

    public init(host: String, development: Bool) {
        self.host = host
        self.development = development
    }

    /// The scheduler's name on this host: the actor of what the scheduler records about a run.
    public var scheduler: String { HostName.schedulerActor(host: host) }

    /// The scheduler's event about a run of `job` (skipped, missed, lost): the job's owner,
    /// identity and run-as, and the definition it comes from (the schedule line and its hash).
    public func about(_ type: EventType, job: JobDefinition, definitionHash: String?, slot: Instant?,
                      at time: EventTime) -> EventDraft {
        var draft = EventDraft(time: time, host: host, type: type, actor: scheduler, development: development)
        draft.owner = job.owner.text
        draft.job = job.name.rawValue
        draft.identity = job.identity.rawValue
        draft.scheduledFor = slot.map(EventTime.init)
        draft.runAs = job.runAs?.description
        draft.configSource = "\(job.source.path):\(job.source.line(of: .schedule) ?? 1)"
        draft.configHash = definitionHash
        return draft
    }

    /// A `run.skipped`: why, in words, and the details that say it (`skip_reason` among them).
    public func skipped(job: JobDefinition, definitionHash: String?, slot: Instant?, reason: String,
                        details: EventDetails, at time: EventTime) -> EventDraft {
        var draft = about(.runSkipped, job: job, definitionHash: definitionHash, slot: slot, at: time)
        draft.reason = reason
        draft.details = details
        return draft
    }

    /// A run's own event (`run.fired`, its end): the job's identity acts, on `principal`'s
    /// behalf for a manual run.
    public func run(_ type: EventType, job: JobDefinition, definitionHash: String?, runID: String, principal: String?,
                    reason: String?, argv: [String], at time: EventTime) -> EventDraft {
        var draft = about(type, job: job, definitionHash: definitionHash, slot: nil, at: time)
        draft.actor = job.identity.rawValue
        draft.principal = principal
        draft.runID = runID
        draft.reason = reason
        draft.argv = argv
        return draft
    }

    /// The `run.lost` that closes `fired`: the run's own fields kept, the scheduler as actor,
    /// the dead recorder's fields dropped.
    public func lost(closing fired: Event, at time: EventTime, reason: String) -> EventDraft {
        var draft = fired.content
        draft.type = .runLost
        draft.time = time
        draft.actor = scheduler
        draft.principal = nil
        draft.development = draft.development || development
        draft.reason = reason
        draft.details[.firedSeq] = String(fired.seq)
        draft.details[.recorderPid] = nil
        draft.details[.recorderStart] = nil
        return draft
    }
}
