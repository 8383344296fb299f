import AscribeCore

/// A loaded job and the hash that names its definition in events.
struct LoadedJob {
    var definition: JobDefinition
    var hash: String?
    /// Who could change its file when it loaded; nil for a definition read back from the archive.
    var writers: WriterAccounts? = nil
}

/// A run to start: a slot (possibly waiting for its job's current run to end, with
/// `overlap = queue` or `catch-up`), or a manual run (no slot, a principal).
struct PendingRun {
    var slot: Instant?
    var reason: String?
    var details: [String: String]
    var principal: Principal? = nil
    var runID: String? = nil
}

/// A run of a loaded job: asked for (a due slot, `@reboot`, a manual run), or, in
/// `SchedulerAction.launch`, decided and given its run id.
struct JobRun {
    var job: LoadedJob
    var run: PendingRun
}

/// What the scheduler asks its shell to do, in order. Each action is carried out before the
/// next, as the scheduler decided them one after the other.
enum SchedulerAction {
    /// Append these drafts to the log (kept while the store cannot be written).
    case record([EventDraft])
    /// Start these runs as one batch. The scheduler already counts them as running (so a later
    /// decision sees them); if they cannot start, the shell says so with `launchRefused`.
    case launch([JobRun])
    /// Slots came due: start them through `admit` — unless the store cannot record, then none
    /// starts and each is kept for the outage's account (fail closed).
    case slotsDue([JobRun])
    /// Time for a `daemon.heartbeat`; its count of running runs is taken when it is written.
    case heartbeat
}

/// Who asked for a change through the control socket, as the events record them: the
/// principal's name, the evidence (`ControlPeer.details`, resolved by the shell), the reason given.
struct Requester {
    var principal: String
    var details: [String: String]
    var reason: String? = nil

    /// `draft` attributed to this requester: principal, evidence, and the reason given.
    func attributed(_ draft: EventDraft) -> EventDraft {
        var draft = draft
        draft.principal = principal
        draft.details.merge(details) { current, _ in current }
        if let reason { draft.details[.requestedReason] = reason }
        return draft
    }
}

/// A run a previous daemon started, whose recorder died while its processes live on. Adopted
/// at start instead of being closed as lost at once: a surviving group is still the job
/// running, so overlap, `status`, heartbeats and the drain see it until it ends.
struct Adoption {
    var fired: Event
    /// The processes found carrying its run id when it was adopted.
    var pids: [Int32]
    var adoptedAt: Instant
}

/// A run in progress, as the scheduler knows it: everything about one run id in one place,
/// so a run's end forgets it in one step (`ActiveRuns.remove`).
struct ActiveRun {
    let runID: String
    let job: JobName
    /// The slot it stands for; nil for a manual run.
    var slot: Instant?
    /// Asked for through the control socket (`ascribe run`).
    var manual: Bool
    /// Its process group once started. Never set for an adopted run: the drain never signals
    /// processes this daemon did not start.
    var processGroup: Int32?
    /// Set when a previous daemon started it (Daemon+Adoption.swift).
    var adoption: Adoption?
    /// The drain signalled it: its terminal event says the shutdown ended it (`RunInterruption`).
    var stoppedByShutdown = false
}

/// The runs in progress by run id, with each job's runs in start order — one table, kept
/// consistent by its own two mutations.
struct ActiveRuns {
    private(set) var byID: [String: ActiveRun] = [:]
    /// Run ids of each job in progress, oldest first (what `RunDecision` and `status` read).
    private(set) var byJob: [JobName: [String]] = [:]

    var isEmpty: Bool { byID.isEmpty }
    var count: Int { byID.count }

    subscript(runID: String) -> ActiveRun? { byID[runID] }

    /// Changes what is known of a run in progress (its process group, the drain's signal; its
    /// run id and job are fixed); nothing when it is not running.
    mutating func update(_ runID: String, _ change: (inout ActiveRun) -> Void) {
        guard var run = byID[runID] else { return }
        change(&run)
        byID[runID] = run
    }

    /// Run ids of `job` in progress, oldest first.
    func of(_ job: JobName) -> [String] { byJob[job] ?? [] }

    mutating func insert(_ run: ActiveRun) {
        byID[run.runID] = run
        byJob[run.job, default: []].append(run.runID)
    }

    /// Forgets the run; returns what was known of it (nil when it was not running).
    @discardableResult
    mutating func remove(_ runID: String) -> ActiveRun? {
        guard let run = byID.removeValue(forKey: runID) else { return nil }
        byJob[run.job]?.removeAll { $0 == runID }
        if byJob[run.job]?.isEmpty ?? false { byJob[run.job] = nil }
        return run
    }
}

/// Why slots passed without the daemon firing them.
enum MissCause {
    case daemonDown, clockJump

    var words: String {
        switch self {
        case .daemonDown: "the daemon was down"
        case .clockJump: "the wall clock jumped forward"
        }
    }
}

/// The slots of one job the log already accounts for (fired, skipped or missed) with events
/// written at or after an instant: how the shell lets the scheduler read the log without the
/// scheduler doing I/O.
typealias AccountedSlots = (_ job: JobName, _ since: Instant) -> Set<SlotKey>
