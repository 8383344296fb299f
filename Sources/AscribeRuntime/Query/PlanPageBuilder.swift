import AscribeCore

/// Fills `ascribe plan --html`'s page: the plan's fires per job, each slot before `now`
/// coloured by what `SlotHistory` finds in the log (the same account `ascribe why` gives).
public enum PlanPageBuilder {
    /// The mark for a past slot's outcome.
    static func status(of outcome: SlotOutcome) -> PlanPage.Status {
        switch outcome {
        case .succeeded: .succeeded
        case .failed: .failed
        case .timedOut: .timedOut
        case .launchFailed: .launchFailed
        case .lost: .lost
        case .skipped: .skipped
        case .missed: .missed
        case .running: .running
        case .notYetDefined, .noRecord: .noRecord
        }
    }

    /// `displayZone`: the zone of the page's axes; each job's slots stay on its own zone's clock.
    public static func page(plan: SchedulePlan, jobs: [JobDefinition], from: Instant, to: Instant, now: Instant,
                            systemZone: ZoneRules, displayZone: ZoneRules, store: EventStore?,
                            storeNote: String) throws(EventStoreError) -> PlanPage {
        var fires: [JobName: [PlannedFire]] = [:]
        for fire in plan.fires { fires[fire.job.name, default: []].append(fire) }
        var rows: [PlanPage.Row] = []
        for job in jobs.sorted(by: { $0.name.rawValue < $1.name.rawValue }) {
            let zone = job.timezone ?? systemZone
            let jobFires = fires[job.name] ?? []
            var outcomes: [Instant: SlotOutcome] = [:]
            if let store, let first = jobFires.first, first.instant <= now {
                let report = try SlotHistory.answer(job: job, zone: zone, window: .range(since: from.adding(seconds: 1), until: min(to, now)),
                                                    now: now, store: store)
                for account in report.accounts { if let slot = account.slot { outcomes[slot] = account.outcome } }
            }
            let slots = jobFires.map { fire -> PlanPage.Slot in
                let status: PlanPage.Status
                var detail: String?
                if fire.instant > now {
                    status = job.enabled ? .planned : .disabled
                    if !job.enabled { detail = "the job is disabled: this slot would be skipped" }
                } else if let outcome = outcomes[fire.instant] {
                    status = Self.status(of: outcome)
                    detail = outcome.words(in: zone)
                } else {
                    status = store == nil ? .unknown : .noRecord
                    detail = store == nil ? "no event log was read (--state)" : "not in the event log's account of this job"
                }
                return PlanPage.Slot(time: fire.zone.rfc3339(fire.instant), secondsSinceEpoch: fire.instant.secondsSinceEpoch,
                                     status: status, detail: detail, dst: PlanText.dstWords(fire),
                                     jobsInSameMinute: fire.jobsInSameMinute)
            }
            rows.append(PlanPage.Row(job: job.name.rawValue, identity: job.identity.rawValue, owner: job.owner.text,
                                     schedule: job.schedule.description, zone: zone.identifier, slots: slots))
        }
        var notes = [from < now ? storeNote : "the whole window is after now: every slot shows what is planned"]
        if plan.truncated { notes.append("the window holds too many slots: only the first \(plan.fires.count) are shown") }
        return PlanPage(from: from, to: to, zone: displayZone, now: now, rows: rows, notes: notes,
                        jobZones: jobs.map { $0.timezone ?? systemZone })
    }
}
