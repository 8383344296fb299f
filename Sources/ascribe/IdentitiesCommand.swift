import AscribeCommandLine
import AscribeCore
import AscribeRuntime

enum IdentitiesCommand {
    enum Options {
        static let state = CommonOptions.state()
        static let json = CommandOption("--json", help: "one JSON document: outcomes_known, findings, identities")
    }

    static let declaration = CommandDeclaration(
        name: "identities", summary: "the registry: each identity's owner, jobs, last outcome and findings",
        discussion: """
            The registry: one entry per identity the job files name, with its purpose, owner,
            runbook, jobs, run-as user, credentials, the last outcome of any of its runs and its last
            success (from the event log), whether it or one of its jobs is disabled and by whom, and
            findings: a shared identity (more than one job runs as it), an owner with no contact
            address, disabled (by a person, or by `enabled = no`), never succeeded, and a last success
            two or more scheduled slots ago (not for @reboot or disabled jobs). Exits 1 when there is
            any finding. When the log cannot be read (none yet, or another user's state directory),
            the registry is listed from the job files alone, with a note that outcomes are unknown.
            Times are in the host's zone.
            """,
        options: [CommonOptions.jobs, Options.state, Options.json],
        examples: """
            ascribe identities                                    # exits 1 while any identity has findings
            ascribe identities --jobs jobs.d --state ./.ascribe   # exits 1: failure-drill never succeeds
            ascribe identities --json | jq '.identities[] | select(.findings != [])'
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let host = HostContext()
        let jobsDirectory = arguments.value(CommonOptions.jobs) ?? DefaultPaths.jobsDirectory
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let json = arguments.flag(Options.json)
        _ = try arguments.operands(max: 0)
        let load = try host.loadJobs(jobsDirectory)
        let unloaded = Set(load.diagnostics.filter { $0.severity == .error }.map(\.path)).count
        if unloaded > 0 {
            output.error("ascribe identities: \(unloaded) job file(s) in \(jobsDirectory) did not load; run `ascribe check \(jobsDirectory)` (a job whose last good definition the daemon keeps in force is listed with a definition_rejected finding)")
        }
        let zone = host.systemZone
        let now = SystemClock.now()
        var entries: [IdentityEntry]
        var outcomesKnown = true
        do throws(EventStoreError) {
            let store = try EventStore.open(path: DefaultPaths.eventStore(stateDirectory: state), access: .readOnly)
            entries = try IdentityRegistry.entries(load: load, store: store, disablements: try Disablements(store: store),
                                                   now: now, defaultZone: zone, zones: { host.zones.rules(for: $0) })
        } catch {
            outcomesKnown = false
            output.error("ascribe identities: outcomes unknown, listing from the job files only: cannot read the event log: \(error.description)")
            entries = IdentityRegistry.entries(jobs: load.jobs, records: nil, disablements: Disablements(),
                                               now: now, defaultZone: zone)
        }
        let findings = entries.reduce(0) { $0 + $1.findings.count }
        if json {
            output.line(JSONValue.object([
                ("outcomes_known", .bool(outcomesKnown)),
                ("findings", .int(findings)),
                ("identities", .array(entries.map { document($0, zone: zone) })),
            ]).rendered)
        } else {
            for entry in entries { describe(entry, zone: zone, output: &output) }
            let flagged = entries.filter { !$0.findings.isEmpty }.count
            output.line("\(entries.count) identit\(entries.count == 1 ? "y" : "ies") from \(load.jobs.count) job(s); "
                        + "\(flagged) with findings (\(findings) in all)")
        }
        return findings == 0 ? .ok : .findings
    }

    private static func describe(_ entry: IdentityEntry, zone: ZoneRules, output: inout Output) {
        func field(_ name: String, _ values: [String], none: String) {
            let shown = values.isEmpty ? [none] : values
            for (index, value) in shown.enumerated() {
                output.line("  " + (index == 0 ? name : "").padding(14) + Event.escaped(value))
            }
        }
        func cited(_ outcome: RecordedOutcome) -> String {
            "\(zone.rfc3339(outcome.time.instant)) (job \(outcome.job)) [seq \(outcome.seq)]"
        }
        output.line(entry.identity.rawValue)
        field("purpose", entry.purposes, none: "(none given)")
        field("owner", entry.owners.map(\.text), none: "(none)")
        field("runbook", entry.runbooks, none: "(none given)")
        field("jobs", entry.jobs.map { "\($0.name.rawValue) (\($0.schedule))" }, none: "(none)")
        field("run-as", entry.runAs, none: "(not set)")
        field("credentials", entry.credentials.map(\.rawValue), none: "(none)")
        if let record = entry.record {
            field("last outcome", record.lastOutcome.map { ["\($0.type.rawValue) at " + cited($0)] } ?? [],
                  none: "none recorded")
            field("last success", record.lastSuccess.map { [cited($0)] } ?? [], none: "never (\(JobRecord.runsRecorded(record.runs ?? 0)))")
        } else {
            output.line("  " + "last outcome".padding(14) + "unknown (no readable event log)")
        }
        field("disabled", entry.disabled.map(\.words), none: entry.record == nil ? "not by its job files (log unknown)" : "no")
        field("findings", entry.findings.map { "- " + $0.words(in: zone) }, none: "none")
        output.line("")
    }

    private static func document(_ entry: IdentityEntry, zone: ZoneRules) -> JSONValue {
        func outcome(_ outcome: RecordedOutcome?) -> JSONValue {
            guard let outcome else { return .null }
            return .object([("type", .string(outcome.type.rawValue)), ("time", .string(zone.rfc3339(outcome.time.instant))),
                            ("job", .string(outcome.job)), ("seq", .int(outcome.seq))])
        }
        let strings = { (values: [String]) in JSONValue.array(values.map(JSONValue.string)) }
        return .object([
            ("identity", .string(entry.identity.rawValue)),
            ("purposes", strings(entry.purposes)),
            ("owners", strings(entry.owners.map(\.text))),
            ("runbooks", strings(entry.runbooks)),
            ("jobs", .array(entry.jobs.map { job in
                .object([("job", .string(job.name.rawValue)), ("schedule", .string(job.schedule.description)),
                         ("file", .string(job.source.path)), ("enabled", .bool(job.enabled))])
            })),
            ("run_as", strings(entry.runAs)),
            ("credentials", strings(entry.credentials.map(\.rawValue))),
            ("last_outcome", outcome(entry.record?.lastOutcome)),
            ("last_success", outcome(entry.record?.lastSuccess)),
            ("runs", entry.record?.runs.map { .int($0) } ?? .null),
            ("disabled", .array(entry.disabled.map { mark in
                switch mark {
                case .byPerson(let disablement):
                    .object([("kind", .string("person")), ("target", .string(disablement.target.description)),
                             ("by", .string(disablement.by)), ("at", .string(zone.rfc3339(disablement.at.instant))),
                             ("reason", .string(disablement.reason)), ("seq", .int(disablement.seq)),
                             ("words", .string(mark.words))])
                case .byJobFile(let job, let source):
                    .object([("kind", .string("job_file")), ("target", .string("job \(job)")),
                             ("by", .string(source)), ("at", .null), ("reason", .null), ("seq", .null),
                             ("words", .string(mark.words))])
                }
            })),
            ("findings", .array(entry.findings.map {
                .object([("kind", .string($0.kind)), ("words", .string($0.words(in: zone)))])
            })),
        ])
    }
}
