import AscribeCommandLine
import AscribeCore
import AscribeRuntime
import AscribeSystem

enum PlanCommand {
    enum Options {
        static let from = CommandOption("--from", value: "TIME", help: "window start: now, RFC 3339, a wall-clock time in the --tz zone, or an age before now such as 12h or 1d",
                                        default: "now")
        static let to = CommandOption("--to", value: "TIME", help: "window end: RFC 3339, a wall-clock time in the --tz zone, or a length after the start such as 12h or 7d",
                                      default: "1d")
        static let zone = CommandOption("--tz", value: "ZONE", help: "the zone times are printed in and wall-clock times read in; each job still runs on its own zone's clock",
                                        default: "the system's")
        static let json = CommandOption("--json", help: "one JSON object per fire (time in the job's zone)")
        static let html = CommandOption("--html", value: "FILE", help: """
            write one self-contained HTML page: day and hour axes in the --tz zone, a timeline per job with every slot \
            coloured by what will happen or, before now, by what the event log says did happen (succeeded, failed, \
            timed out, could not launch, lost, skipped, missed, running, no record), a legend, a "now" line, DST \
            changes labelled on their day, pile-ups marked above the slots, zoom from the whole window to one day, \
            and identity, owner, outcome and its reason on hover
            """)
        static let state = CommonOptions.state("""
            state directory whose events.db --html reads for past slots; when it has none, past slots are shown as \
            "unknown (no event log read)"
            """)
    }

    static let declaration = CommandDeclaration(
        name: "plan", summary: "dry-run a window: every fire, in order, nothing runs",
        discussion: """
            Dry-runs a window: every fire between --from (exclusive) and --to (inclusive). Nothing
            runs. Lists each job once (identity, run-as, zone, schedule, command), then the window
            day by day with every time in one zone (--tz) so jobs in different zones read in order:
            a job's evenly spaced slots of a day on one line ("every 5 min (288 slots)"), other
            slots one per line. Marks runs that daylight saving moved off their written time
            ("DST: 02:30 moved to 03:00 (Europe/Berlin)"), minutes where several jobs start together
            ("pile-up: 3 jobs") and disabled jobs.
            """,
        options: [CommonOptions.jobs, Options.from, Options.to, Options.zone, Options.json, Options.html, Options.state],
        exclusive: [[Options.json, Options.html]],
        examples: """
            ascribe plan --jobs jobs.d
            ascribe plan --jobs jobs.d --from now --to 7d --tz Europe/Berlin
            ascribe plan --jobs jobs.d --from 2026-03-28T12:00:00+01:00 --to 2026-03-29T12:00:00+02:00
            ascribe plan --jobs jobs.d --from now --to 2d --json
            ascribe plan --jobs jobs.d --from now --to 7d --html week.html
            ascribe plan --jobs jobs.d --state ./.ascribe --from 1d --to 2d --html days.html
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let directory = arguments.value(CommonOptions.jobs) ?? DefaultPaths.jobsDirectory
        let fromText = arguments.value(Options.from)
        let toText = arguments.value(Options.to)
        let zoneName = arguments.value(Options.zone)
        let json = arguments.flag(Options.json)
        let htmlPath = arguments.value(Options.html)
        let stateOption = arguments.value(Options.state)
        _ = try arguments.operands(max: 0)
        if stateOption != nil, htmlPath == nil { throw UsageError(message: "--state is only read with --html") }

        let host = HostContext()
        let systemZone = host.systemZone
        let displayZone = try host.zone(named: zoneName)
        let from = try windowStart(fromText, host: host, zone: displayZone)
        let to = try windowEnd(toText, from: from, host: host, zone: displayZone)
        guard from < to else { throw UsageError(message: "--to must be after --from") }
        let load = try host.loadJobs(directory)
        let failures = load.diagnostics.filter { $0.severity == .error }
        for failure in failures { output.error(failure.description) }
        if !failures.isEmpty {
            output.error("ascribe plan: files with errors are left out of the plan (run ascribe check \(directory))")
        }

        let plan = SchedulePlan(jobs: load.jobs, defaultZone: systemZone, after: from, through: to)
        if let htmlPath {
            let store = try pastStore(stateOption)
            let page: PlanPage
            do throws(EventStoreError) {
                page = try PlanPageBuilder.page(plan: plan, jobs: load.jobs, from: from, to: to, now: SystemClock.now(),
                                                systemZone: systemZone, displayZone: displayZone, store: store.store,
                                                storeNote: store.note)
            } catch {
                output.error("ascribe plan: \(error.description)")
                return .findings
            }
            do throws(SystemError) {
                try UserFile.write(Array(page.html.utf8), to: htmlPath)
            } catch {
                output.error("ascribe plan: cannot write \(htmlPath): \(error.description)")
                return .findings
            }
            let slots = page.rows.reduce(0) { $0 + $1.slots.count }
            output.line("wrote \(htmlPath): \(slots) slot\(slots == 1 ? "" : "s") of \(page.rows.count) job\(page.rows.count == 1 ? "" : "s")")
            return failures.isEmpty ? .ok : .findings
        }
        if json {
            for fire in plan.fires {
                let job = fire.job
                output.line(JSONValue.object([
                    ("time", .string(fire.zone.rfc3339(fire.instant))), ("job", .string(job.name.rawValue)),
                    ("identity", .string(job.identity.rawValue)), ("owner", .string(job.owner.text)),
                    ("run_as", .optional(job.runAs?.description)), ("command", .string(job.command.displayText)),
                    ("timezone", .string(fire.zone.identifier)), ("enabled", .bool(job.enabled)),
                    ("dst_shifted_from", .optional(fire.shiftedFrom.map(\.wallClockText))),
                    ("jobs_in_same_minute", .int(fire.jobsInSameMinute)),
                ]).rendered)
            }
            return failures.isEmpty ? .ok : .findings
        }
        let text = PlanText(plan: plan, jobs: load.jobs, zone: displayZone, from: from, to: to) { job in
            let runAs = job.runAs.map { "run-as \($0)" } ?? "run-as (daemon user)"
            let zone = (job.timezone ?? systemZone).identifier
            return "identity \(job.identity)  \(runAs)  \(job.schedule.description) (\(zone))  \(job.command.displayText)"
        }
        for line in text.lines { output.line(line) }
        for job in plan.rebootJobs { output.line("at daemon start".padding(15) + job.name.rawValue + " (@reboot)") }
        for job in plan.neverFiring { output.line("never".padding(15) + job.name.rawValue + ": its schedule matches no date") }
        let window = "\(displayZone.rfc3339(from)) → \(displayZone.rfc3339(to))"
        output.line("\(plan.fires.count) run\(plan.fires.count == 1 ? "" : "s") planned for \(load.jobs.count) job\(load.jobs.count == 1 ? "" : "s"), \(window)"
                    + (plan.truncated ? " (truncated: window too large, showing the first \(plan.fires.count))" : ""))
        return failures.isEmpty ? .ok : .findings
    }

    /// `--from`: now, RFC 3339, a wall-clock reading in `zone`, or an age before now (`1d`).
    private static func windowStart(_ text: String?, host: HostContext, zone: ZoneRules) throws(UsageError) -> Instant {
        if let text, let age = try? TimeSpan(parsing: text) { return SystemClock.now().adding(seconds: -Int64(age.seconds)) }
        guard text == nil || text == "now" || text.flatMap(RFC3339.parse) != nil else {
            throw UsageError(message: "--from \"\(text ?? "")\" is not a time: use now, an age before now such as 1d, or RFC 3339 such as 2026-11-23T08:00:00Z")
        }
        return try host.time(text, option: "--from", zone: zone)
    }

    /// `--to`: RFC 3339, a wall-clock reading in `zone`, or a length after `from` (`7d`); a day by default.
    private static func windowEnd(_ text: String?, from: Instant, host: HostContext, zone: ZoneRules) throws(UsageError) -> Instant {
        guard let text else { return from.adding(seconds: 86_400) }
        if let length = try? TimeSpan(parsing: text) { return from.adding(seconds: Int64(length.seconds)) }
        guard text == "now" || RFC3339.parse(text) != nil else {
            throw UsageError(message: "--to \"\(text)\" is not a time: use now, a length after --from such as 7d, or RFC 3339 such as 2026-11-30T00:00:00Z")
        }
        return try host.time(text, option: "--to", zone: zone)
    }

    /// The log `--html` reads past slots from: `--state`'s, which must exist, or the default
    /// state directory's when there is one.
    private static func pastStore(_ state: String?) throws(UsageError) -> (store: EventStore?, note: String) {
        let directory = state ?? DefaultPaths.stateDirectory
        let path = DefaultPaths.eventStore(stateDirectory: directory)
        guard state != nil || (try? FileStatus(path: path, followingLinks: true)) != nil else {
            return (nil, "no event log at \(path): past slots are shown as unknown")
        }
        return (try HostContext().openStore(state: directory, access: .readOnly), "past slots from the event log \(path)")
    }
}
