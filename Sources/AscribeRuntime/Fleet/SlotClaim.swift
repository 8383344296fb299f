import AscribeCore

/// One host's claim on one scheduled slot, made in the transaction that records its
/// `run.fired` (PRODUCT.md §10): the unique key is (job, slot) for `placement = once` and
/// (job, slot, host) for `every-host`, so exactly one claim per key ever commits.
public struct SlotClaim: Equatable, Sendable {
    public var job: String
    public var scheduledFor: EventTime
    public var placement: Placement
    /// The claiming host (part of the key for `every-host`).
    public var host: String
    /// The run the claim is for: its drafts are stored only if the claim wins.
    public var runID: String
    /// The definition the host would run (kept with the claim, so `why` can name it).
    public var configHash: String?

    public init(job: String, scheduledFor: EventTime, placement: Placement, host: String, runID: String,
                configHash: String?) {
        self.job = job
        self.scheduledFor = scheduledFor
        self.placement = placement
        self.host = host
        self.runID = runID
        self.configHash = configHash
    }

    /// The key's host part: empty for `once`, where any host's claim takes the slot.
    var keyHost: String {
        switch placement {
        case .once: ""
        case .everyHost: host
        }
    }
}

/// What `EventLog.append(_:claiming:)` stored, and which runs another host's claim holds.
public struct ClaimedAppend: Equatable, Sendable {
    public var events: [Event]
    /// Run ids whose slot another host (or an earlier claim) already holds: nothing of them was
    /// stored, and they must not start.
    public var claimedElsewhere: Set<String>

    public init(events: [Event], claimedElsewhere: Set<String>) {
        self.events = events
        self.claimedElsewhere = claimedElsewhere
    }
}
