import AscribeCommandLine
import AscribeCore
import AscribeRuntime

enum WhyCommand {
    enum Options {
        static let state = CommonOptions.state()
        static let at = CommandOption("--at", value: "T", help: "only the slot at or just before T")
        static let since = CommandOption("--since", value: "T", help: "slots from T on: RFC 3339, now, or an age such as 90m, 2h, 7d",
                                         default: "24h ago")
        static let until = CommandOption("--until", value: "T", help: "slots up to T (same forms)", default: "now")
        static let json = CommandOption("--json", help: "one JSON object per slot: slot, kind, words, evidence")
    }

    static let declaration = CommandDeclaration(
        name: "why", summary: "every slot of a job in a window and what became of it, with evidence",
        discussion: """
            Every scheduled slot of JOB in the window and what became of it, in plain words, with
            the events that show it: ran and succeeded, failed (exit code, last lines), timed out,
            could not launch, lost, still running, skipped (and why), missed (the daemon's downtime,
            and whether it crashed or was stopped, by whom),
            not yet defined then, or no record. Manual runs in the window are listed too. Slots come
            from the job's current definition. Times are in the job's zone.
            """,
        operands: [Operand("JOB")],
        options: [CommonOptions.jobs, Options.state, Options.at, Options.since, Options.until, Options.json],
        exclusive: [[Options.at, Options.since], [Options.at, Options.until]],
        examples: """
            ascribe why stale-lock-reaper
            ascribe why stale-lock-reaper --at 2026-11-23T02:55:00Z
            ascribe why failure-drill --since 7d --json
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let host = HostContext()
        let jobsDirectory = arguments.value(CommonOptions.jobs) ?? DefaultPaths.jobsDirectory
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let atText = arguments.value(Options.at)
        let sinceText = arguments.value(Options.since)
        let untilText = arguments.value(Options.until)
        let json = arguments.flag(Options.json)
        let names = try arguments.operands(max: 1)
        guard let name = names.first else { throw UsageError(message: "name the job to explain") }
        let now = SystemClock.now()
        let window: WhyWindow
        if let atText {
            window = .at(try host.pastTime(atText, option: "--at"))
        } else {
            let since = try sinceText.map { (text) throws(UsageError) in try host.pastTime(text, option: "--since") }
                ?? now.adding(seconds: -86_400)
            let until = try untilText.map { (text) throws(UsageError) in try host.pastTime(text, option: "--until") } ?? now
            try requireOrderedWindow(start: ("--since", sinceText ?? "24h", since), end: ("--until", untilText ?? "now", until))
            window = .range(since: since, until: until)
        }
        let load = try host.loadJobs(jobsDirectory)
        var kept: (definition: KeptDefinition, problems: [JobFileDiagnostic])?
        if load.jobs.first(where: { $0.name.rawValue == name }) == nil, let jobName = try? JobName(name),
           let problems = KeptDefinition.rejectedJobs(in: load)[jobName] {
            // A file broken by an edit: the daemon keeps its last good definition in force.
            let found = (try? host.openStore(state: state, access: .readOnly)).flatMap {
                try? KeptDefinition.find([jobName], store: $0, zones: { host.zones.rules(for: $0) })[jobName]
            }
            guard let found else {
                let first = problems.first.map { " (\($0.path):\($0.line): \($0.message))" } ?? ""
                output.error("ascribe why: no loadable job \"\(name)\" in \(jobsDirectory): its file is rejected\(first) "
                    + "and the log holds no earlier definition of it")
                return .badInput
            }
            kept = (found, problems)
        }
        guard let job = kept?.definition.definition ?? load.jobs.first(where: { $0.name.rawValue == name }) else {
            output.error("ascribe why: no loadable job \"\(name)\" in \(jobsDirectory)")
            return .badInput
        }
        let store = try host.openStore(state: state, access: .readOnly)
        let zone = job.timezone ?? host.systemZone
        if let kept {
            let words = kept.definition.words(problems: kept.problems, in: zone)
            if json {
                output.line(JSONValue.object([
                    ("slot", .null), ("kind", .string("definition_rejected")), ("words", .string(words)),
                    ("kept_hash", .string(kept.definition.hash)),
                    ("rejected_since", .optional(kept.definition.rejectedSince.map { zone.rfc3339($0.instant) })),
                ]).rendered)
            } else {
                output.line(words)
            }
        }
        let report: SlotHistoryReport
        do throws(EventStoreError) {
            report = try SlotHistory.answer(job: job, zone: zone, window: window, now: now, store: store,
                                            zones: { host.zones.rules(for: $0) })
        } catch {
            output.error("ascribe why: \(error.description)")
            return .findings
        }
        if report.accounts.isEmpty {
            let next = report.nextFire.map { "the schedule's next fire is \(zone.rfc3339($0))" }
                ?? "the schedule (\(job.schedule)) has no next fire time"
            let words = "no slot of \(name) in the window; \(next)"
            if json {
                output.line(JSONValue.object([
                    ("slot", .null), ("kind", .string("no_slot")), ("words", .string(words)),
                    ("next", .optional(report.nextFire.map { zone.rfc3339($0) })), ("evidence", .array([])),
                ]).rendered)
            } else {
                output.line(words)
            }
            return .ok
        }
        for account in report.accounts {
            let words = account.words(in: zone)
            let evidence = account.evidence
            if json {
                output.line(JSONValue.object([
                    ("slot", .optional(account.slot.map { zone.rfc3339($0) })),
                    ("time", .string(zone.rfc3339(account.time))),
                    ("dst_shifted_from", .optional(account.shiftedFrom)),
                    ("kind", .string(account.outcome.kind)),
                    ("manual", .bool(account.manual != nil)),
                    ("words", .string(words)),
                    ("evidence", .array(evidence.map {
                        .object([("seq", .int($0.seq)), ("event_id", .string($0.eventID)), ("type", .string($0.type.rawValue))])
                    })),
                ]).rendered)
                continue
            }
            output.line(zone.rfc3339(account.time) + "  " + words)
            if !evidence.isEmpty {
                output.line("    evidence: " + evidence.map { "#\($0.seq) \($0.type.rawValue)" }.joined(separator: ", "))
            }
        }
        return .ok
    }
}
