import AscribeCore

/// Which slots `ascribe why` accounts for.
public enum WhyWindow: Sendable, Equatable {
    /// Every slot in `[since, until]`.
    case range(since: Instant, until: Instant)
    /// The single slot at or just before the instant.
    case at(Instant)
}

/// An event an answer rests on.
public struct Evidence: Sendable, Equatable {
    public var seq: Int64
    public var eventID: String
    public var type: EventType

    init(_ event: Event) {
        seq = event.seq
        eventID = event.eventID
        type = event.type
    }
}

/// What became of one slot (or one manual run).
public enum SlotOutcome: Sendable, Equatable {
    case succeeded(durationMs: Int64?)
    /// `shutdownRequestedBy`: the daemon's own shutdown ended it (`stopped_by = daemon-shutdown`),
    /// at this request, rather than the job failing by itself.
    case failed(exitCode: Int32?, signal: Int32?, durationMs: Int64?, lastLines: String?, shutdownRequestedBy: String? = nil)
    case timedOut(durationMs: Int64?, signal: Int32?)
    case launchFailed(error: String)
    case lost(recordedAt: EventTime)
    case running(firedAt: EventTime)
    case skipped(because: String)
    /// Missed while the daemon was down (or the clock jumped); `catchUp` is what the catch-up
    /// run became, `catchUpPolicy` the policy when none ran; `ending` how the daemon went down
    /// (crashed, or stopped and by whom), when the event says.
    case missed(cause: String, from: EventTime?, until: EventTime?, catchUp: Box?, catchUpPolicy: String?,
                ending: DaemonEnding? = nil)
    case notYetDefined(addedAt: EventTime?)
    case noRecord(daemonStartedSince: EventTime?)

    /// A catch-up run's own outcome, kept indirect so `missed` can hold one.
    public final class Box: Sendable, Equatable {
        public let outcome: SlotOutcome
        init(_ outcome: SlotOutcome) { self.outcome = outcome }
        public static func == (lhs: Box, rhs: Box) -> Bool { lhs.outcome == rhs.outcome }
    }

    /// A stable name for scripts (`--json` `kind`).
    public var kind: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .timedOut: "timed_out"
        case .launchFailed: "launch_failed"
        case .lost: "lost"
        case .running: "running"
        case .skipped: "skipped"
        case .missed: "missed"
        case .notYetDefined: "not_yet_defined"
        case .noRecord: "no_record"
        }
    }

    /// The outcome in plain words; times as RFC 3339 in `zone`.
    public func words(in zone: ZoneRules) -> String {
        func time(_ value: EventTime) -> String { zone.rfc3339(value.instant) }
        func after(_ ms: Int64?) -> String { ms.map { " after \(Event.duration($0))" } ?? "" }
        switch self {
        case .succeeded(let ms):
            return "ran and succeeded" + (ms.map { " in \(Event.duration($0))" } ?? "")
        case .failed(let exitCode, let signal, let ms, let lastLines, let shutdown):
            var text = exitCode.map { "failed with exit \($0)" }
                ?? signal.map { "failed: killed by \(Self.signalName($0))" } ?? "failed (exit status unavailable)"
            if let shutdown {
                text = "stopped by the daemon's shutdown (requested by \(Event.escaped(shutdown)))"
                    + (exitCode.map { ": exit \($0)" } ?? signal.map { ": \(Self.signalName($0))" } ?? "")
            }
            text += after(ms)
            if let lastLines { text += "; last lines: " + lastLines }
            return text
        case .timedOut(let ms, let signal):
            return "timed out" + after(ms) + (signal.map { " (\(Self.signalName($0)))" } ?? "")
        case .launchFailed(let error):
            return "could not launch: " + error
        case .lost(let recordedAt):
            return "lost: the daemon died while it ran (recorded at next start, \(time(recordedAt)))"
        case .running(let firedAt):
            return "fired at \(time(firedAt)), still running"
        case .skipped(let because):
            return "skipped because " + because
        case .missed(let cause, let from, let until, let catchUp, let policy, let ending):
            var text = "missed because " + cause
            if let from { text += " from \(time(from))" }
            if let until { text += " to \(time(until))" }
            if let ending { text += " (" + ending.words(in: zone) + ")" }
            if let catchUp {
                text += "; caught up: " + catchUp.outcome.words(in: zone)
            } else {
                text += "; not caught up" + (policy.map { " (catch-up = \($0))" } ?? "")
            }
            return text
        case .notYetDefined(let addedAt):
            return addedAt.map { "not yet defined then (added by config change at \(time($0)))" }
                ?? "not yet defined then (no daemon has loaded this job yet)"
        case .noRecord(let started):
            return started.map { "no record, although the daemon started at \(time($0)) after this slot" }
                ?? "no record: the daemon was not running and has not started since"
        }
    }

    static func signalName(_ number: Int32) -> String {
        switch number {
        case 15: "SIGTERM"
        case 9: "SIGKILL"
        case 2: "SIGINT"
        case 1: "SIGHUP"
        default: "signal \(number)"
        }
    }
}

/// How the daemon before a downtime ended, as the `run.missed` events record it.
public enum DaemonEnding: Sendable, Equatable {
    /// No `daemon.stopped`: it died; `lastSignOfLife` is its newest event.
    case crashed(lastSignOfLife: EventTime?)
    /// `daemon.stopped` at `at`; `by`: the stop's words (the signal and its sender).
    case stopped(at: EventTime?, by: String?)

    /// From a `run.missed`'s details (`down_cause`, …); nil for events written before they were recorded.
    init?(details: [String: String]) {
        switch details.downCause {
        case .crashed: self = .crashed(lastSignOfLife: details[.lastSignOfLife].flatMap(SlotHistory.parseTime))
        case .stopped: self = .stopped(at: details[.stoppedAt].flatMap(SlotHistory.parseTime), by: details[.stopReason])
        case nil: return nil
        }
    }

    /// What a `run.missed` records of it (`PreviousDaemonEnd` adds the stop's own fields).
    var details: EventDetails {
        var details = EventDetails()
        switch self {
        case .crashed(let lastSignOfLife):
            details.downCause = .crashed
            details[.lastSignOfLife] = lastSignOfLife?.rfc3339
        case .stopped(let at, let by):
            details.downCause = .stopped
            details[.stoppedAt] = at?.rfc3339
            details[.stopReason] = by
        }
        return details
    }

    public func words(in zone: ZoneRules) -> String {
        func time(_ value: EventTime) -> String { zone.rfc3339(value.instant) }
        switch self {
        case .crashed(let last):
            return "the daemon crashed: no daemon.stopped was recorded" + (last.map { "; its last sign of life was at \(time($0))" } ?? "")
        case .stopped(let at, let by):
            return "the daemon was stopped" + (at.map { " at \(time($0))" } ?? "") + (by.map { ": \(Event.escaped($0))" } ?? "")
        }
    }
}

/// One line of the answer: a scheduled slot, or a manual run in the window.
public struct SlotAccount: Sendable, Equatable {
    /// The slot; nil for a manual run.
    public var slot: Instant?
    /// For a slot daylight saving moved onto `slot`, the wall-clock time it was written for
    /// (`2026-03-29 02:00`): it tells it apart from a regular slot at the same instant.
    public var shiftedFrom: String? = nil
    /// The slot, or when a manual run fired: what the answer is ordered by.
    public var time: Instant
    public var outcome: SlotOutcome
    /// For a manual run: who asked, and why.
    public var manual: (principal: String, reason: String?)?
    public var evidence: [Evidence]

    /// Plain words, a manual run prefixed with who ran it, a moved slot with its written time.
    public func words(in zone: ZoneRules) -> String {
        let outcome = self.outcome.words(in: zone)
        if let shiftedFrom { return "slot of \(shiftedFrom), moved here by daylight saving: " + outcome }
        guard let manual else { return outcome }
        return "manual run by \(manual.principal)" + (manual.reason.map { " (\(Event.escaped($0)))" } ?? "") + ": " + outcome
    }

    public static func == (lhs: SlotAccount, rhs: SlotAccount) -> Bool {
        lhs.slot == rhs.slot && lhs.shiftedFrom == rhs.shiftedFrom && lhs.time == rhs.time && lhs.outcome == rhs.outcome
            && lhs.manual?.principal == rhs.manual?.principal && lhs.manual?.reason == rhs.manual?.reason
            && lhs.evidence == rhs.evidence
    }
}

/// `ascribe why`'s answer for one job.
public struct SlotHistoryReport: Sendable {
    public var job: JobName
    public var zone: ZoneRules
    /// Slots and manual runs, in time order.
    public var accounts: [SlotAccount]
    /// The schedule's next fire after now, said when the window holds no slot.
    public var nextFire: Instant?
}

/// Accounts for each slot of a job from the event log: the run it fired and how it ended, the
/// skip and its reason, the downtime that missed it, or why nothing covers it. Slots come from
/// the definition in force at each time (replayed from `config.loaded`, read back from the
/// definition archive); before the job first appears, from its current definition.
public enum SlotHistory {
    /// How far back `at` looks for the slot at or before its instant (ten years).
    static let atLookBack: Int64 = 10 * 366 * 86_400

    /// One stretch of a job's history: from `since` until the next stretch, `definition` was in
    /// force (nil: the job was removed).
    public struct DefinitionStretch: Sendable {
        public var since: Instant
        public var definition: JobDefinition?
        /// The 12-digit hash prefix `config.loaded` named.
        public var hash: String?
    }

    /// The job's definitions over time, from every `config.loaded` (oldest first) and the
    /// archive; a definition the archive does not hold is taken to be the current one.
    public static func definitionTimeline(of job: JobDefinition, configEvents: [Event], store: EventStore,
                                          zones: (String) -> ZoneRules?) -> [DefinitionStretch] {
        var stretches: [DefinitionStretch] = []
        var loaded: [JobName: String] = [:]
        var parsed: [String: JobDefinition] = [:]
        for event in configEvents where event.type == .configLoaded {
            ConfigHistory.apply(event, to: &loaded)
            let hash = loaded[job.name]
            // Before its first appearance the current definition stands in ("not yet defined then").
            if stretches.isEmpty && hash == nil { continue }
            if let last = stretches.last, last.hash == hash { continue }
            var definition: JobDefinition?
            if let hash {
                if let known = parsed[hash] {
                    definition = known
                } else if let archived = store.definition(of: job.name, hashPrefix: hash, zones: zones) {
                    definition = archived.definition
                } else {
                    definition = job
                }
                parsed[hash] = definition
            }
            stretches.append(DefinitionStretch(since: event.time.instant, definition: definition, hash: hash))
        }
        return stretches
    }

    /// The slots of `job` in `window`, each from the definition in force at its time when a
    /// `timeline` is given.
    public static func slots(of job: JobDefinition, zone: ZoneRules, window: WhyWindow,
                             timeline: [DefinitionStretch]) -> [Instant] {
        fires(of: job, zone: zone, window: window, timeline: timeline).map(\.instant)
    }

    /// The slots of `job` in `window`.
    public static func slots(of job: JobDefinition, zone: ZoneRules, window: WhyWindow) -> [Instant] {
        fires(of: job, zone: zone, window: window).map(\.instant)
    }

    /// The slots of `job` in `window` as fires (two slots at one instant are both listed, the
    /// moved one first), each from the definition in force at its time when a `timeline` is given.
    public static func fires(of job: JobDefinition, zone: ZoneRules, window: WhyWindow,
                             timeline: [DefinitionStretch]) -> [Fire] {
        guard !timeline.isEmpty else { return fires(of: job, zone: zone, window: window) }
        let stretches = [DefinitionStretch(since: Instant(secondsSinceEpoch: .min / 2), definition: job)] + timeline
        func inForce(at instant: Instant) -> JobDefinition? {
            stretches.last { $0.since < instant }?.definition
        }
        switch window {
        case .at(let instant):
            guard let definition = inForce(at: instant) else { return [] }
            return fires(of: definition, zone: definition.timezone ?? zone, window: window)
        case .range(let since, let until):
            var result: [Fire] = []
            for (index, stretch) in stretches.enumerated() {
                guard let definition = stretch.definition else { continue }
                // A slot at the instant of a reload was handled before it: each stretch holds
                // the slots in (since, next since].
                let end = index + 1 < stretches.count ? stretches[index + 1].since : until
                let from = max(since, stretch.since.adding(seconds: 1))
                let to = min(until, end)
                guard from <= to else { continue }
                result += fires(of: definition, zone: definition.timezone ?? zone, window: .range(since: from, until: to))
            }
            return result
        }
    }

    /// The slots of `job` in `window` as fires; `at` gives every slot of the latest instant.
    public static func fires(of job: JobDefinition, zone: ZoneRules, window: WhyWindow) -> [Fire] {
        guard case .calendar(let cron) = job.schedule else { return [] }
        switch window {
        case .range(let since, let until):
            return cron.fires(after: since.adding(seconds: -1), until: until, in: zone)
        case .at(let instant):
            var span: Int64 = 86_400
            while span <= atLookBack {
                let found = cron.fires(after: instant.adding(seconds: -span), until: instant, in: zone)
                if let last = found.last {
                    return found.filter { $0.instant == last.instant }
                }
                span *= 8
            }
            return []
        }
    }

    /// Reads what the answer needs from `store` and builds it.
    /// With `zones`, slots follow the definitions in force over time; without, the current one.
    public static func answer(job: JobDefinition, zone: ZoneRules, window: WhyWindow, now: Instant,
                              store: EventStore, zones: ((String) -> ZoneRules?)? = nil) throws(EventStoreError) -> SlotHistoryReport {
        let configEvents = try store.events(matching: EventFilter(type: .configLoaded, order: .oldestFirst))
        let timeline = zones.map { definitionTimeline(of: job, configEvents: configEvents, store: store, zones: $0) } ?? []
        let slots = fires(of: job, zone: zone, window: window, timeline: timeline)
        // Manual runs have no slot, so only a range lists them.
        let manualWindow: (Instant, Instant)?
        let start: Instant
        let end: Instant
        switch window {
        case .range(let since, let until): (start, end, manualWindow) = (since, until, (since, until))
        case .at: (start, end, manualWindow) = (slots.first?.instant ?? now, slots.first?.instant ?? now, nil)
        }
        let from = EventTime(min(start, slots.first?.instant ?? start))
        let jobEvents = try store.events(matching: EventFilter(job: job.name.rawValue, since: from, order: .oldestFirst))
        var daemonEvents: [Event] = []
        for type in [EventType.daemonStarted, .daemonHeartbeat, .daemonStopped] {
            daemonEvents += try store.events(matching: EventFilter(type: type, until: from, limit: 1))
            let until = type == .daemonStarted ? nil : EventTime(end.adding(seconds: 1))
            daemonEvents += try store.events(matching: EventFilter(type: type, since: from, until: until, order: .oldestFirst))
        }
        daemonEvents.sort { ($0.time, $0.seq) < ($1.time, $1.seq) }
        return answer(job: job, zone: zone, slots: slots, manualWindow: manualWindow,
                      now: now, jobEvents: jobEvents, daemonEvents: daemonEvents, configEvents: configEvents)
    }

    /// The answer from events already read: `jobEvents` oldest first, `daemonEvents` the
    /// scheduler's started/heartbeat/stopped events in time order, `configEvents` every `config.loaded`.
    public static func answer(job: JobDefinition, zone: ZoneRules, slots: [Fire], manualWindow: (Instant, Instant)?,
                              now: Instant, jobEvents: [Event], daemonEvents: [Event],
                              configEvents: [Event]) -> SlotHistoryReport {
        var bySlot: [SlotKey: [Event]] = [:]
        var terminal: [String: Event] = [:]
        var collapsed: [(first: EventTime, last: EventTime, event: Event)] = []
        var collapsedSkips: [(first: EventTime, last: EventTime, event: Event)] = []
        for event in jobEvents {
            if event.type.isRunTerminal, let runID = event.runID { terminal[runID] = event }
            guard let key = SlotKey(event) else { continue }
            bySlot[key, default: []].append(event)
            if event.type == .runMissed || event.type == .runSkipped, let (first, last) = CollapsedSlots.range(in: event.details) {
                if event.type == .runMissed {
                    collapsed.append((first, last, event))
                } else {
                    collapsedSkips.append((first, last, event))
                }
            }
        }
        let addedAt = configEvents.first { lists(job.name.rawValue, $0) }?.time

        var accounts: [SlotAccount] = []
        for fire in slots {
            let slot = fire.instant
            let slotTime = EventTime(slot)
            let events = bySlot[SlotKey(fire)] ?? []
            let fired = events.last { $0.type == .runFired }
            var evidence: [Evidence] = []
            var ran: SlotOutcome?
            if let fired {
                let end = fired.runID.flatMap { terminal[$0] }
                evidence += [Evidence(fired)] + (end.map { [Evidence($0)] } ?? [])
                ran = outcome(of: fired, end: end)
            }
            let outcome: SlotOutcome
            if let missed = events.first(where: { $0.type == .runMissed })
                ?? collapsed.first(where: { $0.first <= slotTime && slotTime <= $0.last })?.event {
                let (cause, down, downEvidence) = downtime(for: slot, missed: missed, daemonEvents: daemonEvents)
                evidence = [Evidence(missed)] + downEvidence + evidence
                outcome = .missed(cause: cause, from: down.from, until: down.until, catchUp: ran.map(SlotOutcome.Box.init),
                                  catchUpPolicy: missed.details[.catchUp], ending: DaemonEnding(details: missed.details))
            } else if let ran {
                outcome = ran
            } else if let skipped = events.last(where: { $0.type == .runSkipped })
                        ?? collapsedSkips.first(where: { $0.first <= slotTime && slotTime <= $0.last })?.event {
                evidence = [Evidence(skipped)]
                outcome = .skipped(because: skipWords(skipped))
            } else if addedAt.map({ slotTime < $0 }) ?? true {
                outcome = .notYetDefined(addedAt: addedAt)
                if let added = configEvents.first(where: { lists(job.name.rawValue, $0) }) { evidence = [Evidence(added)] }
            } else {
                let started = daemonEvents.first { $0.type == .daemonStarted && $0.time >= slotTime }
                evidence = started.map { [Evidence($0)] } ?? []
                outcome = .noRecord(daemonStartedSince: started?.time)
            }
            accounts.append(SlotAccount(slot: slot, shiftedFrom: fire.shiftedFrom?.wallClockText, time: slot, outcome: outcome,
                                        manual: nil, evidence: evidence))
        }
        if let (start, end) = manualWindow {
            for event in jobEvents where event.type == .runFired && event.scheduledFor == nil
                && event.details.trigger == .manual && event.time.instant >= start && event.time.instant <= end {
                let endEvent = event.runID.flatMap { terminal[$0] }
                accounts.append(SlotAccount(
                    slot: nil, time: event.time.instant, outcome: outcome(of: event, end: endEvent),
                    manual: (event.principal ?? event.actor, event.reason),
                    evidence: [Evidence(event)] + (endEvent.map { [Evidence($0)] } ?? [])))
            }
        }
        // Stable: two slots at one instant stay in the order cron starts them.
        accounts = accounts.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        var nextFire: Instant?
        if slots.isEmpty, case .calendar(let cron) = job.schedule { nextFire = cron.nextFire(after: now, in: zone)?.instant }
        return SlotHistoryReport(job: job.name, zone: zone, accounts: accounts, nextFire: nextFire)
    }

    /// How a fired run ended, or that it has not.
    static func outcome(of fired: Event, end: Event?) -> SlotOutcome {
        guard let end else { return .running(firedAt: fired.time) }
        switch end.type {
        case .runSucceeded: return .succeeded(durationMs: end.durationMs)
        case .runTimedOut: return .timedOut(durationMs: end.durationMs, signal: end.signal)
        case .runLaunchFailed: return .launchFailed(error: Event.escaped(end.details[.error] ?? end.reason ?? "no error recorded"))
        case .runLost: return .lost(recordedAt: end.time)
        default:
            let shutdown = end.details.stoppedBy == .daemonShutdown ? end.details[.shutdownRequestedBy] ?? "unknown" : nil
            return .failed(exitCode: end.exitCode, signal: end.signal, durationMs: end.durationMs,
                           lastLines: end.outputTail.flatMap(lastLines), shutdownRequestedBy: shutdown)
        }
    }

    /// The last three non-blank lines of a tail, escaped and joined with ` | `.
    static func lastLines(_ tail: String) -> String? {
        let lines = tail.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }.suffix(3)
        guard !lines.isEmpty else { return nil }
        return lines.map { Event.escaped($0.count > 120 ? String($0.prefix(119)) + "…" : String($0)) }.joined(separator: " | ")
    }

    static func skipWords(_ skipped: Event) -> String {
        switch skipped.details.skipReason {
        case .overlap:
            return "run \(skipped.details[.runningRunId] ?? "(unnamed)") was still in progress (overlap)"
        case .jobDisabled, .identityDisabled:
            let what = skipped.details.skipReason == .identityDisabled
                ? "identity \(skipped.identity ?? "(unnamed)")" : "the job"
            let disabled = DisabledDetails(skipped.details)
            let by = Event.escaped(disabled.by ?? "its job file")
            guard let at = disabled.at else { return "\(what) was disabled by \(by)" }
            let why = disabled.reason.map { " (\"\(Event.escaped($0))\")" } ?? ""
            let seq = disabled.seq.map { " [seq \($0)]" } ?? ""
            return "\(what) was disabled by \(by) at \(at)\(why)\(seq)"
        case .daemonStopping:
            return Event.escaped(skipped.reason ?? "the daemon stopped before this run could start")
        case .storeUnwritable, nil:
            return Event.escaped(skipped.reason ?? skipped.details[.skipReason] ?? "no reason recorded")
        }
    }

    /// The cause of a miss, and its window: for a daemon outage, the last sign of life before
    /// the slot and the next `daemon.started` after it, found in the log.
    static func downtime(for slot: Instant, missed: Event, daemonEvents: [Event])
        -> (String, (from: EventTime?, until: EventTime?), [Evidence]) {
        let recorded = DownWindow(missed.details)
        let recordedFrom = recorded.from
        let recordedUntil = recorded.until
        if missed.reason?.hasPrefix("the wall clock") == true {
            return ("the wall clock jumped forward", (recordedFrom, recordedUntil), [])
        }
        let slotTime = EventTime(slot)
        let before = daemonEvents.last { $0.time < slotTime }
        let after = daemonEvents.first { $0.type == .daemonStarted && $0.time >= slotTime }
        let evidence = [before, after].compactMap { $0.map(Evidence.init) }
        // A miss that records how the daemon ended also records its window exactly: from the
        // previous daemon's newest event, which may be later than its last heartbeat.
        if missed.details[.downCause] != nil, let recordedFrom {
            return ("the daemon was down", (recordedFrom, recordedUntil ?? after?.time), evidence)
        }
        return ("the daemon was down", (before?.time ?? recordedFrom, after?.time ?? recordedUntil), evidence)
    }

    /// Whether a `config.loaded` names `job` among its loaded (`jobs`) or `added` entries.
    static func lists(_ job: String, _ event: Event) -> Bool {
        ConfigLoadDetails(event.details).lists(job)
    }

    static func parseTime(_ text: String) -> EventTime? {
        guard let parsed = RFC3339.parse(text) else { return nil }
        return EventTime(ZoneRules.utc.instant(for: parsed))
    }
}
