import AscribeCore

/// Per-job figures for the Prometheus textfile (`daemon --metrics-file`), so an alert can say
/// "reaper has not succeeded in 2 schedule periods": counted from the whole log once, then
/// kept current from each event. Counts are by job name; the labels come from the job's
/// current definition.
public struct JobMetrics: Sendable {
    /// What the log says about one job.
    struct Record: Sendable {
        var lastSuccess: EventTime?
        /// The type of the latest terminal run event.
        var lastOutcome: EventType?
        var lastEnd: EventTime?
        var lastDurationMs: Int64?
        var skipped: Int64 = 0
        var missed: Int64 = 0
    }

    /// The terminal outcomes, each a series of `ascribe_job_last_outcome` (1 for the latest).
    static let outcomes: [EventType] = [.runSucceeded, .runFailed, .runTimedOut, .runLaunchFailed, .runLost]

    private var records: [String: Record] = [:]
    /// Jobs whose file the daemon's latest load rejected (`config.loaded` `rejected`).
    private var rejected: [String] = []
    /// The highest seq applied: events at or below it are already counted.
    public private(set) var lastSeq: Int64 = 0

    public init() {}

    /// Counts `event` unless an event with its seq or a later one was already applied
    /// (`force` applies it anyway: a time-ordered scan of the log is not in seq order).
    public mutating func apply(_ event: Event, force: Bool = false) {
        guard force || event.seq > lastSeq else { return }
        lastSeq = max(lastSeq, event.seq)
        if event.type == .configLoaded {
            rejected = ConfigLoadDetails(event.details).rejected.sorted()
        }
        guard event.type.isRun, let job = event.job else { return }
        var record = records[job] ?? Record()
        switch event.type {
        case .runSkipped:
            record.skipped += 1
        case .runMissed:
            // A long outage is one event standing for `count` slots.
            record.missed += CollapsedSlots.count(in: event.details)
        case let type where type.isRunTerminal:
            if record.lastEnd.map({ event.time >= $0 }) ?? true {
                record.lastEnd = event.time
                record.lastOutcome = type
                record.lastDurationMs = event.durationMs
            }
            if type == .runSucceeded, record.lastSuccess.map({ event.time > $0 }) ?? true { record.lastSuccess = event.time }
        default:
            break
        }
        records[job] = record
    }

    /// The schedule's current period (from the slot at or before `now` to the next one; the
    /// gap between the next two when it has no earlier slot) and its next fire.
    static func schedule(of job: JobDefinition, zone: ZoneRules, now: Instant) -> (period: Int64?, next: Instant?) {
        guard case .calendar(let cron) = job.schedule, let next = cron.nextFire(after: now, in: zone)?.instant else { return (nil, nil) }
        let previous = SlotHistory.slots(of: job, zone: zone, window: .at(now)).first
            ?? cron.nextFire(after: next, in: zone).map { Instant(secondsSinceEpoch: 2 * next.secondsSinceEpoch - $0.instant.secondsSinceEpoch) }
        return (previous.map { next.secondsSinceEpoch - $0.secondsSinceEpoch }, next)
    }

    /// The textfile for `jobs` at `now`.
    public func exposition(jobs: [JobDefinition], defaultZone: ZoneRules, now: Instant) -> String {
        typealias Sample = PrometheusText.Sample
        var lastSuccess: [Sample] = [], lastOutcome: [Sample] = [], lastEnd: [Sample] = [], duration: [Sample] = []
        var skipped: [Sample] = [], missed: [Sample] = [], period: [Sample] = [], next: [Sample] = [], enabled: [Sample] = []
        for job in jobs.sorted(by: { $0.name.rawValue < $1.name.rawValue }) {
            let labels = [("job", job.name.rawValue), ("identity", job.identity.rawValue), ("owner", job.owner.text)]
            let record = records[job.name.rawValue] ?? Record()
            func seconds(_ time: EventTime) -> String { PrometheusText.seconds(milliseconds: time.millisecondsSinceEpoch) }
            if let time = record.lastSuccess { lastSuccess.append(Sample(labels, seconds(time))) }
            if let outcome = record.lastOutcome {
                for type in Self.outcomes {
                    lastOutcome.append(Sample(labels + [("outcome", SyslogMessage.outcome(of: type) ?? type.rawValue)], type == outcome ? "1" : "0"))
                }
            }
            if let time = record.lastEnd { lastEnd.append(Sample(labels, seconds(time))) }
            if let ms = record.lastDurationMs { duration.append(Sample(labels, PrometheusText.seconds(milliseconds: ms))) }
            skipped.append(Sample(labels, String(record.skipped)))
            missed.append(Sample(labels, String(record.missed)))
            enabled.append(Sample(labels, job.enabled ? "1" : "0"))
            let schedule = Self.schedule(of: job, zone: job.timezone ?? defaultZone, now: now)
            if let seconds = schedule.period { period.append(Sample(labels, String(seconds))) }
            if let instant = schedule.next { next.append(Sample(labels, String(instant.secondsSinceEpoch))) }
        }
        var text = PrometheusText()
        text.metric("ascribe_job_last_success_timestamp_seconds", .gauge,
                    help: "When the job's latest successful run ended (Unix time).", samples: lastSuccess)
        text.metric("ascribe_job_last_outcome", .gauge,
                    help: "1 for how the job's latest run ended, 0 for the other outcomes.", samples: lastOutcome)
        text.metric("ascribe_job_last_run_end_timestamp_seconds", .gauge,
                    help: "When the job's latest run ended, whatever its outcome (Unix time).", samples: lastEnd)
        text.metric("ascribe_job_last_run_duration_seconds", .gauge,
                    help: "How long the job's latest run took.", samples: duration)
        text.metric("ascribe_job_skipped_total", .counter,
                    help: "Slots of the job that were skipped (overlap, job disabled, daemon stopping), over the whole log.",
                    samples: skipped)
        text.metric("ascribe_job_missed_total", .counter,
                    help: "Slots of the job missed while the daemon was down or the clock jumped, over the whole log.",
                    samples: missed)
        text.metric("ascribe_job_enabled", .gauge, help: "1 when the job's definition is enabled.", samples: enabled)
        text.metric("ascribe_job_schedule_period_seconds", .gauge,
                    help: "Seconds from the schedule's latest slot to its next one (calendar schedules).", samples: period)
        text.metric("ascribe_job_next_fire_timestamp_seconds", .gauge,
                    help: "The schedule's next slot (Unix time).", samples: next)
        text.metric("ascribe_job_definition_rejected", .gauge,
                    help: "1 while the job's file does not load (the daemon keeps its last good definition in force, if any).",
                    samples: rejected.map { Sample([("job", $0)], "1") })
        return text.text
    }
}
