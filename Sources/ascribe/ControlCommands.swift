import AscribeCommandLine
import AscribeCore
import AscribeRuntime

/// `ascribe disable` and `ascribe enable`: surgical switches, carried out and recorded by the
/// running daemon, with the caller (as the kernel knows them) as principal.
enum SwitchCommand {
    enum Verb: String, Sendable {
        case disable, enable
    }

    enum Options {
        static let reason = CommandOption("--reason", value: "TEXT", help: "why, in words; recorded with the event", required: true)
        static let job = CommandOption("--job", help: "NAME is a job (only needed when a job and an identity share the name)")
        static let identity = CommandOption("--identity", help: "NAME is an identity")
        static let state = CommonOptions.state("the daemon's state directory")
        static let json = CommandOption("--json", help: "print the daemon's reply as JSON")
    }

    static func declaration(_ verb: Verb) -> CommandDeclaration {
        let disabling = verb == .disable
        return CommandDeclaration(
            name: verb.rawValue,
            summary: disabling ? "turn one job or identity off through the daemon, attributed and recorded"
                : "turn a disabled job or identity back on, attributed and recorded",
            discussion: """
                \(disabling ? "Turns one job, or every job of one identity, off" : "Turns a disabled job or identity back on"), at once, through the running
                daemon's control socket (<state>/control.sock). The daemon records \(disabling ? "job.disabled or\nidentity.disabled" : "job.enabled or\nidentity.enabled") with you as principal — taken from the kernel (SO_PEERCRED; under sudo,
                your audit login uid), never from a flag. \(disabling ? "Every slot while it is off is recorded as\nrun.skipped naming who disabled it, when and why; a run in progress finishes." : "Slots from now on fire again;\nslots while it was off stay recorded as skipped.") Only root, the
                daemon's user and members of its control group may do this; a refused request is recorded.
                """,
            operands: [Operand("NAME")],
            options: [Options.reason, Options.job, Options.identity, Options.state, Options.json],
            exclusive: [[Options.job, Options.identity]],
            exitStatus: "0 done (or nothing to do), 1 refused or no daemon running, 2 bad usage or input (a --reason with "
                + "control, line-breaking or direction-changing characters, or over 1,000 characters).",
            examples: """
                ascribe \(verb.rawValue) stale-lock-reaper --reason "\(disabling ? "rotating db creds, INC-4312" : "creds rotated, INC-4312")"
                ascribe \(verb.rawValue) disk-usage-report --job --state ./.ascribe --reason "\(disabling ? "report server down" : "report server back")"
                """)
    }

    static func run(_ verb: Verb, _ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let given = arguments.required(Options.reason)
        let asJob = arguments.flag(Options.job)
        let asIdentity = arguments.flag(Options.identity)
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let json = arguments.flag(Options.json)
        let names = try arguments.operands(max: 1)
        guard let name = names.first else { throw UsageError(message: "name the job or identity to \(verb.rawValue)") }
        guard !given.trimmingWhitespace.isEmpty else {
            throw UsageError(message: "--reason is required: say why, in words (it is recorded with the event)")
        }
        let reason = try ControlExchange.reason(given, required: true) ?? given
        let target = ControlTarget(name: name, kind: asJob ? .job : asIdentity ? .identity : nil)
        let request: ControlRequest = verb == .disable ? .disable(target, reason: reason) : .enable(target, reason: reason)
        return ControlExchange.perform(request, state: state, command: verb.rawValue, json: json, output: &output) ?? .findings
    }
}

/// `ascribe status`: what the running daemon is doing, what comes next, and what is off.
enum StatusCommand {
    enum Options {
        static let state = CommonOptions.state("the daemon's state directory")
        static let json = CommandOption("--json", help: "the daemon's answer as one JSON object")
    }

    static let declaration = CommandDeclaration(
        name: "status", summary: "ask the running daemon what runs, what is next, and what is disabled",
        discussion: """
            Asks the running daemon, through its control socket (<state>/control.sock), for its runs in
            progress (job, run id, pid, slot), queued slots, the next slots of its jobs, and everything
            that is disabled: by whom, when and why (or by which job file).
            """,
        options: [Options.state, Options.json],
        exitStatus: "0 the daemon answered, 1 no daemon running or not allowed, 2 bad usage.",
        examples: """
            ascribe status
            ascribe status --state ./.ascribe --json
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let json = arguments.flag(Options.json)
        _ = try arguments.operands(max: 0)
        return ControlExchange.perform(.status, state: state, command: "status", json: json, output: &output) ?? .findings
    }

    static func render(_ status: JSONValue) -> [String] {
        func text(_ value: JSONValue?) -> String { value?.stringValue ?? "-" }
        var lines = ["daemon pid \(status["pid"]?.intValue.map(String.init) ?? "-") on \(text(status["host"])), started \(text(status["started"]))"
                        + ((status["development"]?.boolValue ?? false) ? ", development" : "")
                        + ", \(status["jobs"]?.intValue ?? 0) job(s) from \(text(status["jobs_directory"]))"
                        + ", control group \(status["control_group"]?.stringValue ?? "none")"]
        if status["stopping"]?.boolValue ?? false { lines.append("stopping: no new runs start") }
        if let problem = status["store_problem"], problem["since"] != nil {
            lines.append("STORE PROBLEM since \(text(problem["since"])): \(text(problem["error"]))")
            lines.append("  nothing starts until the event store can be written; \(problem["unrecorded_slots"]?.intValue ?? 0) slot(s) "
                + "will be recorded as skipped (store-unwritable) when it can")
        }
        let running = status["running"]?.arrayValue ?? []
        lines.append("running: \(running.isEmpty ? "nothing" : String(running.count))")
        for run in running {
            let pid = run["pid"]?.intValue.map { "pid \($0)" } ?? "starting"
            let slot = run["scheduled_for"]?.stringValue.map { "slot \($0)" } ?? "manual"
            let adopted = run["adopted_at"]?.stringValue.map { at in
                ", adopted at \(at) from a daemon that died (pids "
                    + (run["adopted_pids"]?.arrayValue ?? []).compactMap { $0.intValue.map(String.init) }.joined(separator: ", ") + ")"
            } ?? ""
            lines.append("  \(text(run["job"])) (\(text(run["identity"]))) run \(text(run["run_id"])) \(pid), \(slot)\(adopted)")
        }
        let queued = status["queued"]?.arrayValue ?? []
        if !queued.isEmpty {
            lines.append("queued:")
            for run in queued { lines.append("  \(text(run["job"])) slot \(text(run["scheduled_for"]))") }
        }
        let disabled = status["disabled"]?.arrayValue ?? []
        lines.append("disabled: \(disabled.isEmpty ? "nothing" : String(disabled.count))")
        for entry in disabled {
            let when = entry["at"]?.stringValue.map { " at \($0)" } ?? ""
            let seq = entry["seq"]?.intValue.map { " [seq \($0)]" } ?? ""
            lines.append("  \(text(entry["kind"])) \(text(entry["name"])) by \(text(entry["by"]))\(when): \(text(entry["reason"]))\(seq)")
        }
        let rejected = status["rejected_files"]?.arrayValue ?? []
        if !rejected.isEmpty { lines.append("rejected job files: \(rejected.count)") }
        for file in rejected {
            let runs = file["kept_hash"]?.stringValue.map { "its last good definition \($0) stays in force" } ?? "not loaded"
            lines.append("  \(text(file["file"])):\(file["line"]?.intValue.map(String.init) ?? "-") since \(text(file["since"])): "
                + "\(text(file["message"])); \(runs)")
        }
        let next = status["next"]?.arrayValue ?? []
        lines.append("next:")
        if next.isEmpty { lines.append("  nothing scheduled") }
        for slot in next { lines.append("  \(text(slot["at"]))  \(text(slot["job"])) (\(text(slot["identity"])))") }
        return lines
    }
}

/// `ascribe reload`: SIGHUP's reload, but recorded with the caller as principal.
enum ReloadCommand {
    enum Options {
        static let state = CommonOptions.state("the daemon's state directory")
        static let reason = CommandOption("--reason", value: "TEXT", help: "why; recorded with the events")
        static let json = CommandOption("--json", help: "the daemon's reply as JSON")
    }

    static let declaration = CommandDeclaration(
        name: "reload", summary: "make the running daemon re-read its jobs directory, recorded with you as principal",
        discussion: """
            Asks the running daemon, through its control socket, to re-read its jobs directory now:
            valid files swap in, a broken file is rejected (config.rejected) and its previous
            definition stays. Unlike SIGHUP, the config.loaded event names you as principal, as the
            kernel knows you (SO_PEERCRED; under sudo, your audit login uid). The daemon also reloads by
            itself when job files change.
            """,
        options: [Options.state, Options.reason, Options.json],
        exitStatus: "0 reloaded, 1 no daemon running or not allowed, 2 bad usage or input (a bad --reason).",
        examples: """
            ascribe reload --reason "added nightly-report.job, CHG-1182"
            ascribe reload --state ./.ascribe
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let reason = try ControlExchange.reason(arguments.value(Options.reason), required: false)
        let json = arguments.flag(Options.json)
        _ = try arguments.operands(max: 0)
        return ControlExchange.perform(.reload(reason: reason), state: state, command: "reload", json: json,
                                       output: &output) ?? .findings
    }
}

/// One request to the daemon and its replies, printed; shared by every control command.
enum ControlExchange {
    /// `--reason` checked by the daemon's own rule before anything is sent: a reason the daemon
    /// would refuse is bad input here (exit 2), with or without a daemon.
    static func reason(_ given: String?, required: Bool) throws(UsageError) -> String? {
        do {
            return try ControlRequest.validatedReason(given, required: required)
        } catch {
            throw UsageError(message: "--reason: \(error.description)")
        }
    }

    /// Exit status from the replies: 0 when the final reply is success. With `orLocally`,
    /// nil when no daemon listens, so the caller can do the work itself.
    static func perform(_ request: ControlRequest, state: String, command: String, json: Bool,
                        verbose: Bool = false, orLocally: Bool = false, output: inout Output) -> ExitCode? {
        var code = ExitCode.findings
        var lines: [String] = []
        var errors: [String] = []
        do throws(ControlClientError) {
            try ControlClient.exchange(stateDirectory: state, request) { reply in
                if json {
                    // A run prints its events exactly as a local `ascribe run --json` does.
                    switch reply {
                    case .runEvent(let event): lines.append(event.object.rendered)
                    case .runStarted, .runEnded: break
                    default: lines.append(reply.json.rendered)
                    }
                }
                switch reply {
                case .refused(let refusal, let message):
                    errors.append("ascribe \(command): \(message)")
                    // The daemon found the request itself malformed: bad input, as the help says.
                    if refusal == .badRequest { code = .badInput }
                case .done(let message, let events):
                    if !json {
                        lines += events.map { verbose ? $0.verboseLine : $0.line }
                        lines.append(message)
                    }
                    code = .ok
                case .runStarted(let runID, let pid):
                    if !json { lines.append("started run \(runID) (pid \(pid)) through the daemon") }
                case .runEvent(let event):
                    if !json { lines.append(verbose ? event.verboseLine : event.line) }
                case .runEnded(let succeeded, let message):
                    if succeeded {
                        if !json { lines.append(message) }
                        code = .ok
                    } else {
                        errors.append("ascribe \(command): \(message)")
                    }
                case .status(let status):
                    if !json { lines += StatusCommand.render(status) }
                    code = .ok
                }
            }
        } catch {
            if orLocally, case .noDaemon = error { return nil }
            errors.append("ascribe \(command): \(error.description)")
            code = .findings
        }
        // The daemon's words quote reasons people typed: escaped, they cannot fake a line.
        for line in lines { output.line(json ? line : Event.escaped(line)) }
        for error in errors { output.error(Event.escaped(error)) }
        return code
    }
}
