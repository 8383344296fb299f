import AscribeCore
import AscribeRuntime
import Foundation

enum PlanCommand {
    static let help = """
        Usage: ascribe plan [--jobs DIR] [--from TIME] [--to TIME] [--json | --html FILE [--state DIR]]

        Dry-runs a window: every fire between --from (exclusive) and --to (inclusive), in time
        order, with job, identity, run-as and command. Nothing runs. Marks runs that daylight
        saving moved off their written time ("DST: 02:30 moved") and minutes where several jobs
        start together ("pile-up: 3 jobs").

        Options:
          --jobs DIR     jobs directory (default \(DefaultPaths.jobsDirectoryHelp))
          --from TIME    window start: now (default), RFC 3339, or a wall-clock time in the system zone
          --to TIME      window end (default: 24 hours after --from)
          --json         one JSON object per fire
          --html FILE    write one self-contained HTML page: a timeline per job, each slot coloured by
                         what will happen or, before now, by what the event log says did happen
                         (succeeded, failed, skipped, missed); DST shifts and pile-ups marked;
                         identity, owner and time on hover
          --state DIR    state directory whose events.db --html reads for past slots (default
                         \(DefaultPaths.stateDirectoryHelp); when absent, past slots are shown as unknown)

        Examples:
          ascribe plan --jobs jobs.d
          ascribe plan --jobs jobs.d --from 2026-03-28T12:00:00+01:00 --to 2026-03-29T12:00:00+02:00
          ascribe plan --jobs jobs.d --from now --to 2026-12-01T00:00:00Z --json
          ascribe plan --from 2026-11-16T00:00:00Z --to 2026-11-23T00:00:00Z --html week.html
        """

    static func run(_ reader: inout ArgumentReader, output: inout Output) throws(UsageError) -> ExitCode {
        if reader.wantsHelp {
            output.line(help)
            return .ok
        }
        let directory = try reader.option("--jobs") ?? DefaultPaths.jobsDirectory
        let fromText = try reader.option("--from")
        let toText = try reader.option("--to")
        let json = reader.flag("--json")
        let htmlPath = try reader.option("--html")
        let stateOption = try reader.option("--state")
        _ = try reader.positionals(max: 0)
        if json, htmlPath != nil { throw UsageError(message: "--json and --html exclude each other") }
        if stateOption != nil, htmlPath == nil { throw UsageError(message: "--state is only read with --html") }

        let host = HostContext()
        let systemZone = host.systemZone
        let from = try host.time(fromText, option: "--from", zone: systemZone)
        let to = toText == nil ? from.adding(seconds: 86_400) : try host.time(toText, option: "--to", zone: systemZone)
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
                                                systemZone: systemZone, store: store.store, storeNote: store.note)
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
        for fire in plan.fires {
            let job = fire.job
            if json {
                output.line(JSONValue.object([
                    ("time", .string(fire.zone.rfc3339(fire.instant))), ("job", .string(job.name.rawValue)),
                    ("identity", .string(job.identity.rawValue)), ("owner", .string(job.owner.text)),
                    ("run_as", .optional(job.runAs?.description)), ("command", .string(job.command.displayText)),
                    ("timezone", .string(fire.zone.identifier)), ("enabled", .bool(job.enabled)),
                    ("dst_shifted_from", .optional(fire.shiftedFrom.map(\.wallClockText))),
                    ("jobs_in_same_minute", .int(fire.jobsInSameMinute)),
                ]).rendered)
                continue
            }
            var marks: [String] = []
            if let shifted = fire.shiftedFrom { marks.append("DST: \(shifted.wallClockText) moved") }
            if fire.jobsInSameMinute > 1 { marks.append("pile-up: \(fire.jobsInSameMinute) jobs") }
            if !job.enabled { marks.append("disabled: would be skipped") }
            let runAs = job.runAs.map { "run-as \($0)" } ?? "run-as (daemon user)"
            var line = fire.zone.rfc3339(fire.instant) + "  " + job.name.rawValue.padding(22)
                + "identity \(job.identity)  \(runAs)  \(job.command.displayText)"
            if !marks.isEmpty { line += "  [" + marks.joined(separator: "; ") + "]" }
            output.line(line)
        }
        if !json {
            for job in plan.rebootJobs { output.line("at daemon start".padding(27) + job.name.rawValue + " (@reboot)") }
            for job in plan.neverFiring { output.line("never".padding(27) + job.name.rawValue + ": its schedule matches no date") }
            let window = "\(systemZone.rfc3339(from)) → \(systemZone.rfc3339(to))"
            output.line("\(plan.fires.count) run\(plan.fires.count == 1 ? "" : "s") planned for \(load.jobs.count) job\(load.jobs.count == 1 ? "" : "s"), \(window)"
                        + (plan.truncated ? " (truncated: window too large, showing the first \(plan.fires.count))" : ""))
        }
        return failures.isEmpty ? .ok : .findings
    }

    /// The log `--html` reads past slots from: `--state`'s, which must exist, or the default
    /// state directory's when there is one.
    private static func pastStore(_ state: String?) throws(UsageError) -> (store: EventStore?, note: String) {
        let directory = state ?? DefaultPaths.stateDirectory
        let path = DefaultPaths.eventStore(stateDirectory: directory)
        guard state != nil || FileManager.default.fileExists(atPath: path) else {
            return (nil, "no event log at \(path): past slots are shown as unknown")
        }
        return (try HostContext().openStore(state: directory, access: .readOnly), "past slots from the event log \(path)")
    }
}
