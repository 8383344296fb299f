import AscribeCore

/// What started a run, as its events record it (`details.trigger`).
public enum Trigger: String, Sendable, CaseIterable {
    /// A slot of the job's schedule, on time.
    case schedule
    /// A person: `ascribe run`, or a run request to the daemon.
    case manual
    /// A slot missed while the daemon was down, run by `catch-up = once | all`.
    case catchUp = "catch-up"
    /// `@reboot`: the daemon started.
    case reboot
}

/// How the daemon before a downtime ended (`details.down_cause` on `daemon.started` and `run.missed`).
public enum DownCause: String, Sendable, CaseIterable {
    /// It recorded `daemon.stopped`.
    case stopped
    /// It did not: it died, and its last event is its last sign of life.
    case crashed
}

/// Who ended a run that did not end by itself (`details.stopped_by` on its terminal event).
public enum StoppedBy: String, Sendable, CaseIterable {
    /// The daemon's shutdown terminated it (`shutdown_requested_by` says at whose request).
    case daemonShutdown = "daemon-shutdown"
}

/// `yes`/`no` in details (`forced`, `dev`, `output_capped`, …).
public enum DetailFlag: String, Sendable {
    case yes, no

    public init(_ value: Bool) { self = value ? .yes : .no }
}

extension Dictionary where Key == String, Value == String {
    /// `trigger`, typed; nil when absent or not one this version knows.
    public var trigger: Trigger? {
        get { self[.trigger].flatMap(Trigger.init(rawValue:)) }
        set { self[.trigger] = newValue?.rawValue }
    }

    /// `skip_reason`, typed; nil when absent or not one this version knows.
    public var skipReason: SkipReason? {
        get { self[.skipReason].flatMap(SkipReason.init(rawValue:)) }
        set { self[.skipReason] = newValue?.rawValue }
    }

    public var downCause: DownCause? {
        get { self[.downCause].flatMap(DownCause.init(rawValue:)) }
        set { self[.downCause] = newValue?.rawValue }
    }

    public var stoppedBy: StoppedBy? {
        get { self[.stoppedBy].flatMap(StoppedBy.init(rawValue:)) }
        set { self[.stoppedBy] = newValue?.rawValue }
    }
}

/// `down_from` / `down_until` on `run.missed`: the window in which no daemon fired the slots.
public struct DownWindow: Sendable, Equatable {
    public var from: EventTime?
    public var until: EventTime?

    public init(from: EventTime?, until: EventTime?) {
        self.from = from
        self.until = until
    }

    /// As recorded; a bound that is absent or unreadable is nil.
    public init(_ details: EventDetails) {
        from = details[.downFrom].flatMap(SlotHistory.parseTime)
        until = details[.downUntil].flatMap(SlotHistory.parseTime)
    }

    public var details: EventDetails {
        var details = EventDetails()
        details[.downFrom] = from?.rfc3339
        details[.downUntil] = until?.rfc3339
        return details
    }
}

/// The `disabled_*` fields of a `run.skipped` that a person's disablement caused, as recorded
/// (text: `why` prints them as written).
public struct DisabledDetails: Sendable, Equatable {
    public var by: String?
    public var at: String?
    public var reason: String?
    public var seq: String?

    public init(by: String?, at: String?, reason: String?, seq: String?) {
        self.by = by
        self.at = at
        self.reason = reason
        self.seq = seq
    }

    public init(_ details: EventDetails) {
        self.init(by: details[.disabledBy], at: details[.disabledAt], reason: details[.disabledReason],
                  seq: details[.disabledSeq])
    }

    public var details: EventDetails {
        var details = EventDetails()
        details[.disabledBy] = by
        details[.disabledAt] = at
        details[.disabledReason] = reason
        details[.disabledSeq] = seq
        return details
    }
}

/// `count`, `first`, `last`: several slots of one job recorded as one `run.missed` or
/// `run.skipped` (collapsed), the event's `scheduled_for` being the last.
public struct CollapsedSlots: Sendable, Equatable {
    public var count: Int
    public var first: EventTime
    public var last: EventTime

    public init(count: Int, first: EventTime, last: EventTime) {
        self.count = count
        self.first = first
        self.last = last
    }

    /// The `first`–`last` range as recorded; nil for an event about one slot.
    public static func range(in details: EventDetails) -> (first: EventTime, last: EventTime)? {
        guard let first = details[.first].flatMap(SlotHistory.parseTime),
              let last = details[.last].flatMap(SlotHistory.parseTime) else { return nil }
        return (first, last)
    }

    /// How many slots an event stands for: `count`, at least 1.
    public static func count(in details: EventDetails) -> Int64 {
        details[.count].flatMap { Int64($0) }.map { max($0, 1) } ?? 1
    }

    public var details: EventDetails {
        EventDetails([.count: String(count), .first: first.rfc3339, .last: last.rfc3339])
    }
}
