import AscribeCore

/// A terminal run event as the registry cites it: what happened, when, to which job, and the
/// event that says so.
public struct RecordedOutcome: Sendable, Equatable {
    public var type: EventType
    public var time: EventTime
    public var job: String
    public var seq: Int64

    public init(type: EventType, time: EventTime, job: String, seq: Int64) {
        self.type = type
        self.time = time
        self.job = job
        self.seq = seq
    }

    init(_ event: Event) {
        self.init(type: event.type, time: event.time, job: event.job ?? "", seq: event.seq)
    }

    /// Later time wins; the later write breaks a tie.
    func isNewer(than other: RecordedOutcome?) -> Bool {
        guard let other else { return true }
        return (time, seq) > (other.time, other.seq)
    }
}

/// What the log holds about one job under its current identity.
public struct JobRecord: Sendable, Equatable {
    /// The newest terminal event (`run.succeeded`, `run.failed`, `run.timed_out`,
    /// `run.launch_failed`, `run.lost`).
    public var lastOutcome: RecordedOutcome?
    public var lastSuccess: RecordedOutcome?
    /// `run.fired` events (every run, scheduled or manual, starts with one); counted only when
    /// there is no success, where it is what the registry reports.
    public var runs: Int?

    public init(lastOutcome: RecordedOutcome?, lastSuccess: RecordedOutcome?, runs: Int?) {
        self.lastOutcome = lastOutcome
        self.lastSuccess = lastSuccess
        self.runs = runs
    }

    /// "no runs recorded", "1 run recorded", "N runs recorded".
    public static func runsRecorded(_ runs: Int) -> String {
        runs == 0 ? "no runs recorded" : runs == 1 ? "1 run recorded" : "\(runs) runs recorded"
    }
}

/// Why one of an identity's jobs does not run now.
public enum DisabledMark: Sendable, Equatable {
    /// A person disabled the identity or the job (the log's latest `*.disabled` not followed
    /// by an enable).
    case byPerson(Disablement)
    /// The job file says `enabled = no`, at `source` (`path:line`).
    case byJobFile(job: String, source: String)

    public var words: String {
        switch self {
        case .byPerson(let disablement):
            "\(disablement.skipReason) [seq \(disablement.seq)]"
        case .byJobFile(let job, let source):
            "job \(job) has enabled = no in \(source)"
        }
    }
}

/// Something about an identity that breaks a principle or shows it is not doing its work.
public enum IdentityFinding: Sendable, Equatable {
    /// More than one job runs as the identity (PRODUCT.md 1.1).
    case sharedIdentity(jobs: [String])
    /// An owner with no e-mail address or URL to reach.
    case noOwnerContact(owner: String, jobs: [String])
    case disabled(DisabledMark)
    /// No `run.succeeded` for any of its jobs; `runs` were recorded.
    case neverSucceeded(runs: Int)
    /// Two or more of the job's slots have passed since its last success (`slotsCapped`: the
    /// count stopped at the registry's limit).
    case overdue(job: String, schedule: String, lastSuccess: RecordedOutcome, slots: Int, slotsCapped: Bool)
    /// The job's file does not load; the daemon keeps its last good definition in force
    /// (`KeptDefinition`), which is what the entry lists.
    case definitionRejected(job: String, source: String, message: String, keptHash: String, since: EventTime?)

    /// A stable name for scripts (`--json` `kind`).
    public var kind: String {
        switch self {
        case .sharedIdentity: "shared_identity"
        case .noOwnerContact: "no_owner_contact"
        case .disabled: "disabled"
        case .neverSucceeded: "never_succeeded"
        case .overdue: "overdue"
        case .definitionRejected: "definition_rejected"
        }
    }

    /// The finding in plain words; times as RFC 3339 in `zone`.
    public func words(in zone: ZoneRules) -> String {
        switch self {
        case .sharedIdentity(let jobs):
            return "shared identity: jobs \(jobs.joined(separator: ", ")) all run as it, so their events cannot be told apart; give each automation its own identity"
        case .noOwnerContact(let owner, let jobs):
            return "no owner contact: owner `\(owner)` (job \(jobs.joined(separator: ", "))) has no e-mail address or URL; write it like `storage-team <storage-oncall@example.com>`"
        case .disabled(let mark):
            return "disabled: " + mark.words
        case .neverSucceeded(let runs):
            return "never succeeded: no run.succeeded in the log for any of its jobs (\(JobRecord.runsRecorded(runs)))"
        case .overdue(let job, let schedule, let lastSuccess, let slots, let capped):
            return "job \(job) last succeeded at \(zone.rfc3339(lastSuccess.time.instant)) [seq \(lastSuccess.seq)]; "
                + "\(slots)\(capped ? " or more" : "") slots since (schedule \(schedule))"
        case .definitionRejected(let job, let source, let message, let hash, let since):
            return "definition rejected: the file of job \(job) does not load"
                + (since.map { " since \(zone.rfc3339($0.instant))" } ?? "") + " (\(source): \(message)); "
                + "the daemon keeps its last good definition in force (\(JobHashList.abbreviated(hash))), listed here"
        }
    }
}

/// One identity in the registry: who it is for, what runs as it, how its runs went, and what
/// is wrong with it.
public struct IdentityEntry: Sendable, Equatable {
    public var identity: IdentityName
    /// Its jobs, sorted by name.
    public var jobs: [JobDefinition]
    /// From the log; nil when the log could not be read (then so are the fields below).
    public var record: JobRecord?
    public var disabled: [DisabledMark]
    public var findings: [IdentityFinding]

    /// Distinct purposes of its jobs, in job order (one, unless jobs share the identity).
    public var purposes: [String] { Self.distinct(jobs.compactMap(\.purpose)) }
    public var owners: [Owner] { Self.distinct(jobs.map(\.owner)) }
    public var runbooks: [String] { Self.distinct(jobs.compactMap(\.runbook)) }
    public var runAs: [String] { Self.distinct(jobs.compactMap { $0.runAs?.description }) }
    public var credentials: [CredentialName] { Set(jobs.flatMap(\.credentials)).sorted() }

    static func distinct<Value: Hashable>(_ values: [Value]) -> [Value] {
        var seen: Set<Value> = []
        return values.filter { seen.insert($0).inserted }
    }
}

/// The registry (`ascribe identities`, PRODUCT.md principle 3): one entry per identity the
/// jobs directory names, with the log's last outcome and the findings that need a person.
public enum IdentityRegistry {
    /// Slots counted since a last success before the count stops (years of a minutely job).
    static let slotCountLimit = 100_000

    /// Reads each job's record from `store` (nil: outcomes unknown) and builds the registry.
    /// A job whose file does not load but whose last good definition the daemon keeps in force
    /// (read back from the log with `zones`) is listed from that definition, flagged
    /// `definition_rejected`.
    public static func entries(load: JobDirectoryLoad, store: EventStore?, disablements: Disablements,
                               now: Instant, defaultZone: ZoneRules,
                               zones: (String) -> ZoneRules? = { _ in nil }) throws(EventStoreError) -> [IdentityEntry] {
        var read: [JobName: JobRecord]?
        var kept: [JobName: (KeptDefinition, [JobFileDiagnostic])] = [:]
        if let store {
            let rejected = KeptDefinition.rejectedJobs(in: load)
            for (name, found) in try KeptDefinition.find(Array(rejected.keys), store: store, zones: zones) {
                kept[name] = (found, rejected[name] ?? [])
            }
        }
        let jobs = load.jobs + kept.values.map(\.0.definition)
        if let store { read = try records(of: jobs, store: store) }
        var result = entries(jobs: jobs, records: read, disablements: disablements, now: now, defaultZone: defaultZone)
        for index in result.indices {
            for job in result[index].jobs {
                guard let (definition, problems) = kept[job.name] else { continue }
                let first = problems.first
                result[index].findings.append(.definitionRejected(
                    job: job.name.rawValue, source: first.map { "\($0.path):\($0.line)" } ?? job.source.path,
                    message: first?.message ?? "errors", keptHash: definition.hash, since: definition.rejectedSince))
            }
        }
        return result
    }

    /// What the log holds about each job under its current identity (a job that changed
    /// identity is not credited with the old one's runs). Runs are counted only for a job that
    /// never succeeded: counting walks all of a job's events. `wholeTypeLimit`: see `newestEvents`.
    public static func records(of jobs: [JobDefinition], store: EventStore,
                               wholeTypeLimit: Int = wholeTypeLimit) throws(EventStoreError) -> [JobName: JobRecord] {
        var records: [JobName: JobRecord] = [:]
        for job in jobs { records[job.name] = JobRecord(lastOutcome: nil, lastSuccess: nil, runs: nil) }
        for type in EventType.allCases where type.isRunTerminal {
            for (name, event) in try newestEvents(of: type, jobs: jobs, store: store, wholeTypeLimit: wholeTypeLimit) {
                let outcome = RecordedOutcome(event)
                if type == .runSucceeded { records[name]?.lastSuccess = outcome }
                if outcome.isNewer(than: records[name]?.lastOutcome) { records[name]?.lastOutcome = outcome }
            }
        }
        for job in jobs where records[job.name]?.lastSuccess == nil {
            records[job.name]?.runs = try store.count(matching: EventFilter(
                job: job.name.rawValue, identity: job.identity.rawValue, type: .runFired))
        }
        return records
    }

    /// How many events of one type the log may hold for `newestEvents` to read them all at once.
    public static let wholeTypeLimit = 1_000

    /// The newest event of `type` for each job under its current identity. A type the log holds
    /// at most `wholeTypeLimit` of (lost, timed out, launch failed, as a rule) is read once for
    /// every job; a common one is looked up job by job, newest first, which stops at the first
    /// it finds (a job that has none of a common type is walked to its start).
    static func newestEvents(of type: EventType, jobs: [JobDefinition], store: EventStore,
                             wholeTypeLimit: Int) throws(EventStoreError) -> [JobName: Event] {
        var newest: [JobName: Event] = [:]
        let few = try store.events(matching: EventFilter(type: type, limit: wholeTypeLimit + 1))
        guard few.count > wholeTypeLimit else {
            var byName: [String: JobDefinition] = [:]
            for job in jobs { byName[job.name.rawValue] = job }
            for event in few {
                guard let job = event.job.flatMap({ byName[$0] }), event.identity == job.identity.rawValue,
                      newest[job.name] == nil else { continue }
                newest[job.name] = event
            }
            return newest
        }
        for job in jobs {
            let filter = EventFilter(job: job.name.rawValue, identity: job.identity.rawValue, type: type, limit: 1)
            if let event = try store.events(matching: filter).first { newest[job.name] = event }
        }
        return newest
    }

    /// The registry from records already read: `records` nil when the log is unknown, so only
    /// the findings the job files show are reported.
    public static func entries(jobs: [JobDefinition], records: [JobName: JobRecord]?, disablements: Disablements,
                               now: Instant, defaultZone: ZoneRules) -> [IdentityEntry] {
        var byIdentity: [IdentityName: [JobDefinition]] = [:]
        for job in jobs { byIdentity[job.identity, default: []].append(job) }
        return byIdentity.keys.sorted().map { identity in
            let jobs = byIdentity[identity, default: []].sorted { $0.name < $1.name }
            var disabled: [DisabledMark] = []
            if let person = disablements.byTarget[.identity(identity.rawValue)] { disabled.append(.byPerson(person)) }
            for job in jobs {
                if let person = disablements.byTarget[.job(job.name.rawValue)] { disabled.append(.byPerson(person)) }
                if !job.enabled {
                    let line = job.source.line(of: .enabled).map { ":\($0)" } ?? ""
                    disabled.append(.byJobFile(job: job.name.rawValue, source: job.source.path + line))
                }
            }
            let record = records.map { records in combined(jobs.compactMap { records[$0.name] }) }

            var findings: [IdentityFinding] = []
            if jobs.count > 1 { findings.append(.sharedIdentity(jobs: jobs.map(\.name.rawValue))) }
            for owner in IdentityEntry.distinct(jobs.map(\.owner)) where !owner.hasContactAddress {
                findings.append(.noOwnerContact(owner: owner.text,
                                                jobs: jobs.filter { $0.owner == owner }.map(\.name.rawValue)))
            }
            findings += disabled.map(IdentityFinding.disabled)
            if let record, let records {
                if record.lastSuccess == nil {
                    findings.append(.neverSucceeded(runs: record.runs ?? 0))
                }
                for job in jobs {
                    guard let finding = overdue(job, record: records[job.name], disablements: disablements,
                                                now: now, defaultZone: defaultZone) else { continue }
                    findings.append(finding)
                }
            }
            return IdentityEntry(identity: identity, jobs: jobs, record: record, disabled: disabled, findings: findings)
        }
    }

    /// The identity's record across its jobs: the newest outcome and success of any, runs summed.
    /// Runs are summed when every job's were counted, and otherwise not given.
    static func combined(_ records: [JobRecord]) -> JobRecord {
        var combined = JobRecord(lastOutcome: nil, lastSuccess: nil, runs: 0)
        for record in records {
            if let outcome = record.lastOutcome, outcome.isNewer(than: combined.lastOutcome) { combined.lastOutcome = outcome }
            if let success = record.lastSuccess, success.isNewer(than: combined.lastSuccess) { combined.lastSuccess = success }
            combined.runs = combined.runs.flatMap { total in record.runs.map { total + $0 } }
        }
        return combined
    }

    /// Two or more slots of `job` since its last success. Not for `@reboot` jobs, disabled
    /// ones, or a job that never succeeded (the identity's own finding covers that).
    static func overdue(_ job: JobDefinition, record: JobRecord?, disablements: Disablements,
                        now: Instant, defaultZone: ZoneRules) -> IdentityFinding? {
        guard case .calendar = job.schedule, job.enabled, disablements.blocking(job) == nil,
              let lastSuccess = record?.lastSuccess else { return nil }
        let window = SlotPlanner.window(of: job, defaultZone: defaultZone, after: lastSuccess.time.instant,
                                        through: now, keep: 0, countLimit: slotCountLimit)
        guard window.count >= 2 else { return nil }
        return .overdue(job: job.name.rawValue, schedule: job.schedule.description, lastSuccess: lastSuccess,
                        slots: window.count, slotsCapped: window.count >= slotCountLimit)
    }
}
