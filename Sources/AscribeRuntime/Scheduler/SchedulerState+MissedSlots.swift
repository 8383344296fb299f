import AscribeCore

extension SchedulerState {
    /// The most slots of one job recorded one by one, and caught up by `catch-up = all`.
    static let missedLimit = 100

    /// Slots in `(start, end]` that passed unfired, each a `run.missed` (more than
    /// `missedLimit` of one job collapse into one), then the catch-ups their policy asks for.
    /// `inForce`: the definitions that applied during the window (after a downtime, those the
    /// previous daemon had loaded); by default the current ones. Catch-up runs the current
    /// definition, under its current policy. `previous`: how the daemon before this start
    /// ended, said in each `run.missed`. A slot already accounted for (fired, skipped or missed,
    /// e.g. by the previous daemon just before it died; `accounted`) is left out, of a
    /// collapsed event too.
    mutating func missed(after start: Instant, through end: Instant, now: Instant, cause: MissCause, catchUp: Bool,
                         inForce: [LoadedJob]? = nil, previous: PreviousDaemonEnd? = nil, accounted: AccountedSlots,
                         only include: (JobDefinition) -> Bool = { _ in true }) -> [SchedulerAction] {
        var drafts: [EventDraft] = []
        var catchUps: [(JobName, [PendingRun])] = []
        var window = DownWindow(from: EventTime(start), until: EventTime(end)).details
        if let previous { window.merge(previous.details) { $1 } }
        let reason = "\(cause.words) from \(EventTime(start).rfc3339) to \(EventTime(end).rfc3339)"
            + (previous.map { " (\($0.words))" } ?? "")
        let applying = inForce ?? definitions.compactMap { jobs[$0.name] }
        for job in applying.sorted(by: { $0.definition.name < $1.definition.name }) where include(job.definition) {
            let definition = job.definition
            let done = accounted(definition.name, start)
            let slots = SlotPlanner.window(of: definition, defaultZone: settings.defaultZone,
                                           after: start, through: end, keep: Self.missedLimit) { done.contains(SlotKey($0)) }
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
        var actions: [SchedulerAction] = drafts.isEmpty ? [] : [.record(drafts)]
        for (name, runs) in catchUps {
            guard let job = jobs[name], let first = runs.first else { continue }
            if runs.count > 1 { enqueue(runs.dropFirst(), of: name) }
            actions.append(launch([JobRun(job: job, run: first)]))
        }
        return actions
    }

    /// Slots that came due after the loop stopped ticking — while the daemon drained — each
    /// become `run.skipped` (`daemon-stopping`, the stop's words `stopWords`): nothing new
    /// starts, and every slot up to `daemon.stopped` has its account, so the next start's
    /// downtime begins there. Returns the drafts and how many slots they account for.
    mutating func slotsWhileStopping(through end: Instant, stopWords: String) -> (drafts: [EventDraft], count: Int) {
        guard end > lastProcessed else { return ([], 0) }
        let reason = "the daemon was stopping (\(stopWords)); nothing new starts while it drains"
        var drafts: [EventDraft] = []
        var count = 0
        for job in definitions.compactMap({ jobs[$0.name] }) {
            let slots = SlotPlanner.window(of: job.definition, defaultZone: settings.defaultZone,
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
        return (drafts, count)
    }
}
