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
