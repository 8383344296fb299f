import AscribeCore

/// One identity or job turned off by a person: who, when, why, and the event that says so.
public struct Disablement: Sendable, Equatable {
    public enum Target: Hashable, Sendable, CustomStringConvertible {
        case identity(String)
        case job(String)

        public var kind: ControlTarget.Kind {
            switch self {
            case .identity: .identity
            case .job: .job
            }
        }

        public var name: String {
            switch self {
            case .identity(let name), .job(let name): name
            }
        }

        public var description: String { "\(kind.rawValue) \(name)" }
    }

    public var target: Target
    /// The principal who disabled it, as the kernel reported them.
    public var by: String
    public var at: EventTime
    public var reason: String
    /// The `identity.disabled` / `job.disabled` event.
    public var seq: Int64

    /// Fields for a `run.skipped` that this disablement caused.
    public var skipDetails: [String: String] {
        var details = DisabledDetails(by: by, at: at.rfc3339, reason: reason, seq: String(seq)).details
        details.skipReason = target.kind == .identity ? .identityDisabled : .jobDisabled
        return details
    }

    public var skipReason: String {
        "\(target) was disabled by \(by) at \(at.rfc3339) (\"\(reason)\")"
    }
}

/// What is disabled now, rebuilt from the log's `*.disabled` / `*.enabled` events: the log is
/// the only state, so a disable survives restarts and a daemon cannot forget one.
public struct Disablements: Sendable {
    public private(set) var byTarget: [Disablement.Target: Disablement] = [:]

    public init() {}

    /// Every disable and enable in the log, oldest first.
    public init(store: any EventLog) throws(EventStoreError) {
        var events: [Event] = []
        for type in [EventType.identityDisabled, .identityEnabled, .jobDisabled, .jobEnabled] {
            try store.forEachEvent(matching: EventFilter(type: type, order: .oldestFirst)) { events.append($0) }
        }
        for event in events.sorted(by: { $0.seq < $1.seq }) { apply(event) }
    }

    public mutating func apply(_ event: Event) {
        switch event.type {
        case .identityDisabled, .jobDisabled:
            guard let target = Self.target(of: event) else { return }
            byTarget[target] = Disablement(target: target, by: event.principal ?? event.actor, at: event.time,
                                           reason: event.reason ?? "", seq: event.seq)
        case .identityEnabled, .jobEnabled:
            guard let target = Self.target(of: event) else { return }
            byTarget[target] = nil
        default:
            return
        }
    }

    static func target(of event: Event) -> Disablement.Target? {
        switch event.type {
        case .identityDisabled, .identityEnabled: event.identity.map(Disablement.Target.identity)
        case .jobDisabled, .jobEnabled: event.job.map(Disablement.Target.job)
        default: nil
        }
    }

    /// Why `job` must not run now, if anything a person disabled stops it: the job itself
    /// first, then its identity.
    public func blocking(_ job: JobDefinition) -> Disablement? {
        byTarget[.job(job.name.rawValue)] ?? byTarget[.identity(job.identity.rawValue)]
    }

    /// Oldest first.
    public var all: [Disablement] { byTarget.values.sorted { $0.seq < $1.seq } }
}
