import AscribeCommandLine
import AscribeCore
import AscribeRuntime

import Glibc

enum NextCommand {
    enum Options {
        static let expression = CommandOption("--expr", value: "EXPR", help: "a cron expression: 5 fields, or @daily, @hourly, ...")
        static let zone = CommandOption("--tz", value: "ZONE", help: "IANA zone for --expr",
                                        default: "the system zone, from TZ or /etc/localtime")
        static let from = CommandOption("--from", value: "TIME", help: "now, RFC 3339 with an offset, or a wall-clock time in the zone",
                                        default: "now")
        static let count = CommandOption("--count", value: "N", help: "how many fire times, 1...10000", default: "5")
        static let json = CommandOption("--json", help: "one JSON object per job")
    }

    static let job = Operand("JOB", optional: true, repeatable: true)

    static let declaration = CommandDeclaration(
        name: "next", summary: "show upcoming fire times of jobs or of an expression",
        discussion: """
            Upcoming fire times, with Debian cron's semantics (daylight saving included).

            With --expr, prints the next N fire times strictly after TIME, one per line, as
            RFC 3339 timestamps with the zone's UTC offset, and nothing else on stdout (a
            plain-English reading of the expression goes to stderr when it is a terminal).
            An invalid expression exits 2 with a message naming the bad field.

            With job names (or none: every job in DIR), prints each job's next fire times.
            """,
        operands: [job],
        options: [Options.expression, Options.zone, Options.from, Options.count, CommonOptions.jobs, Options.json],
        examples: """
            ascribe next --expr '30 2 * * *' --tz Europe/Berlin --from 2026-03-28T12:00:00+01:00 --count 2
              2026-03-29T03:00:00+02:00
              2026-03-30T02:30:00+02:00
            ascribe next --expr '0 9 * * MON-FRI' --count 3
            ascribe next stale-lock-reaper --jobs jobs.d
            """,
        forms: [
            UsageForm(options: [Options.expression, Options.zone, Options.from, Options.count], required: [Options.expression]),
            UsageForm(operands: [job], options: [CommonOptions.jobs, Options.from, Options.count, Options.json]),
        ])

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let host = HostContext()
        let expression = arguments.value(Options.expression)
        let zoneName = arguments.value(Options.zone)
        let fromText = arguments.value(Options.from)
        let count = try arguments.integer(Options.count, range: 1...10_000) ?? 5
        let jobsDirectory = arguments.value(CommonOptions.jobs)
        let json = arguments.flag(Options.json)

        if let expression {
            guard jobsDirectory == nil, !json else {
                throw UsageError(message: "--expr cannot be combined with --jobs or --json")
            }
            _ = try arguments.operands(max: 0)
            return try nextForExpression(expression, zone: host.zone(named: zoneName), fromText: fromText,
                                         count: count, host: host, output: &output)
        }
        if zoneName != nil {
            throw UsageError(message: "--tz applies to --expr; a job's zone comes from its timezone key")
        }
        let names = try arguments.operands()
        let load = try host.loadJobs(jobsDirectory ?? DefaultPaths.jobsDirectory)
        var selected: [JobDefinition] = []
        for name in names {
            guard let job = load.jobs.first(where: { $0.name.rawValue == name }) else {
                let failed = load.diagnostics.contains { $0.severity == .error && $0.path.hasSuffix("/\(name).job") }
                output.error("ascribe next: no loadable job \"\(name)\"\(failed ? " (its file has errors: run ascribe check)" : "")")
                return .badInput
            }
            selected.append(job)
        }
        if names.isEmpty { selected = load.jobs }
        let systemZone = host.systemZone
        let from = try host.time(fromText, option: "--from", zone: systemZone)
        var shortfall = false
        for job in selected {
            let zone = job.timezone ?? systemZone
            var fires: [Instant] = []
            if case .calendar(let cron) = job.schedule {
                // Fire times, each once: two slots at one instant (docs/SCHEDULES.md) start at one time.
                var cursor = from
                while fires.count < count, let fire = cron.nextFire(after: cursor, in: zone),
                      fire.instant < CronExpression.endOfPrintableYears {
                    fires.append(fire.instant)
                    cursor = fire.instant
                }
                if fires.count < count {
                    shortfall = true
                    output.error("ascribe next: \(job.name): " + shortfallNote(found: fires.count, asked: count, after: from, zone: zone))
                }
            }
            if json {
                output.line(JSONValue.object([
                    ("job", .string(job.name.rawValue)), ("schedule", .string(job.schedule.description)),
                    ("description", .string(job.schedule.plainEnglish)), ("timezone", .string(zone.identifier)),
                    ("enabled", .bool(job.enabled)), ("next", .array(fires.map { .string(zone.rfc3339($0)) })),
                ]).rendered)
                continue
            }
            let summary = "\(job.schedule.plainEnglish) (\(zone.identifier))\(job.enabled ? "" : ", disabled")"
            output.line(job.name.rawValue.padding(24) + summary)
            for fire in fires { output.line("  " + zone.rfc3339(fire)) }
            if case .reboot = job.schedule { output.line("  at the next daemon start") }
        }
        return shortfall ? .findings : .ok
    }

    /// Fewer fires than asked for is not silence: the schedule runs past the years Ascribe
    /// computes (a fire must fall before 10000-01-01, and the search start before 9998-12-23).
    private static func shortfallNote(found: Int, asked: Int, after from: Instant, zone: ZoneRules) -> String {
        let what = found == 0 ? "no fire" : "only \(found) of the \(asked) fires asked for"
        return "\(what) after \(zone.rfc3339(from)) within the years Ascribe computes: it searches from instants before "
            + "\(zone.rfc3339(CronExpression.lastSearchStart)) for fires before 10000-01-01"
    }

    private static func nextForExpression(_ text: String, zone: ZoneRules, fromText: String?, count: Int,
                                          host: HostContext, output: inout Output) throws(UsageError) -> ExitCode {
        let schedule: Schedule
        do {
            schedule = try Schedule(parsing: text)
        } catch {
            for each in Schedule.syntaxErrors(in: text) {
                output.error("ascribe next: invalid expression: \(each.description)")
                output.error("  " + text)
                output.error("  " + String(repeating: " ", count: each.offset) + String(repeating: "^", count: max(1, each.token.count)))
            }
            return .badInput
        }
        guard case .calendar(let cron) = schedule else {
            output.error("ascribe next: @reboot has no clock times: it runs once each time the daemon starts")
            return .badInput
        }
        guard cron.canFire else {
            output.error("ascribe next: \"\(text)\" never fires: no calendar date matches its day and month fields")
            return .badInput
        }
        if isatty(2) != 0 { output.error("# \(cron.plainEnglish) (\(zone.identifier))") }
        let from = try host.time(fromText, option: "--from", zone: zone)
        var cursor = from
        var found = 0
        for _ in 0..<count {
            guard let fire = cron.nextFire(after: cursor, in: zone), fire.instant < CronExpression.endOfPrintableYears else { break }
            output.line(zone.rfc3339(fire.instant))
            cursor = fire.instant
            found += 1
        }
        guard found == count else {
            output.error("ascribe next: " + shortfallNote(found: found, asked: count, after: from, zone: zone))
            return .findings
        }
        return .ok
    }
}
