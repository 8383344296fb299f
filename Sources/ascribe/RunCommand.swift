import AscribeCommandLine
import AscribeCore
import AscribeRuntime

enum RunCommand {
    enum Options {
        static let state = CommonOptions.state("state directory: events.db and run output")
        static let credentials = CommandOption("--credentials", value: "DIR", help: "credential store",
                                               default: "/etc/ascribe/credentials as root, <state>/credentials otherwise")
        static let reason = CommandOption("--reason", value: "TEXT", help: "why you are running it; recorded with the events")
        static let force = CommandOption("--force", help: "root only: run despite those rules; run.fired records forced = yes and the rule it overrode (overrode, overrode_reason)")
        static let development = CommandOption("--dev", help: "a developer's laptop: not root, run as yourself (run-as set aside); as root, run-as still applies; either way the events are marked development")
        static let verbose = CommandOption("--verbose", help: "print every field of the recorded events (as `ascribe log --verbose`)")
        static let json = CommandOption("--json", help: "print the recorded events as JSON lines")
    }

    static let declaration = CommandDeclaration(
        name: "run", summary: "run one job now, recorded with you as the principal",
        discussion: """
            Runs one job now and waits for it: `run.fired` is made durable before anything starts
            (if it cannot be written, nothing runs), then exactly one terminal event. The actor is
            the job's identity; the principal is you, as the kernel knows you (your uid; under sudo,
            your audit login uid) — never a flag or an environment variable. A login uid a non-root
            caller carries is only recorded as a claim (login_user_claimed): anyone may set their own.
            When a daemon is running on the state directory, the run goes through it (its control
            socket): the daemon's jobs and credentials apply. Otherwise the run starts here, through
            the same launcher and log. Either way the same rules apply: a job with enabled = no, a job
            or identity disabled with `ascribe disable`, or a run of the job in progress (overlap =
            skip or queue; a run whose recorder is alive or whose processes survive) refuses the run,
            records run.skipped (trigger manual, you as principal) and exits 1 saying why.
            Without a daemon, a job with `tokens` gets them signed here when --issuer names the issuer
            (the daemon's keys, --keys); otherwise it fails to launch saying so (docs/TOKENS.md).
            """,
        operands: [Operand("JOB")],
        options: [CommonOptions.jobs, Options.state, Options.credentials, Options.reason, Options.force, Options.development,
                  Options.verbose, Options.json, TokenOptions.issuer, TokenOptions.keys, TokenOptions.lifetime],
        exclusive: [[Options.verbose, Options.json]],
        exitStatus: "0 the run succeeded, 1 it was refused, failed, timed out, could not launch or could not be recorded, "
            + "2 bad usage or input (--force by anyone but root; a --reason with control, line-breaking or "
            + "direction-changing characters, or over 1,000 characters).",
        examples: """
            ascribe run stale-lock-reaper --jobs jobs.d --reason "locks piling up after deploy"
            ascribe run failure-drill --jobs jobs.d --state ./.ascribe --dev   # exits 1: the drill fails on purpose
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let directory = arguments.value(CommonOptions.jobs) ?? DefaultPaths.jobsDirectory
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let credentials = arguments.value(Options.credentials) ?? DefaultPaths.credentialStore(stateDirectory: state)
        let reason = try ControlExchange.reason(arguments.value(Options.reason), required: false)
        let development = arguments.flag(Options.development)
        let force = arguments.flag(Options.force)
        let verbose = arguments.flag(Options.verbose)
        let json = arguments.flag(Options.json)
        let issuer = try TokenOptions.issuer(arguments)
        let keySettings = try TokenOptions.settings(arguments, state: state)
        let tokenLifetime = try TokenOptions.lifetime(arguments)
        let names = try arguments.operands(max: 1)
        guard let name = names.first else { throw UsageError(message: "name the job to run") }
        guard !force || DefaultPaths.runningAsRoot else {
            throw UsageError(message: "--force is for root only: it overrides what the job file and the log disable, and the overlap rule")
        }
        if let code = ControlExchange.perform(.run(job: name, reason: reason, force: force), state: state, command: "run", json: json,
                                              verbose: verbose, orLocally: true, output: &output) {
            return code
        }

        let host = HostContext()
        let load = try host.loadJobs(directory)
        guard let job = load.jobs.first(where: { $0.name.rawValue == name }) else {
            let failures = load.diagnostics.filter { $0.severity == .error && $0.path.hasSuffix("/\(name).job") }
            for failure in failures { output.error(failure.description) }
            throw UsageError(message: failures.isEmpty ? "no job \"\(name)\" in \(directory)" : "job \"\(name)\" does not load")
        }
        if let refused = host.applyStateDirectoryRules(state, command: "run", output: &output) { return refused }
        let store = try host.openStore(state: state, access: .readWrite)
        let hostName = HostName.current()
        let principal = Principal.current()
        let verdict: LocalRunGate.Verdict
        do throws(EventStoreError) {
            verdict = try LocalRunGate.check(job, definitionHash: load.definitionHashes[job.name], store: store,
                                             principal: principal, reason: reason, force: force, host: hostName,
                                             development: development, now: SystemClock.now())
        } catch {
            output.error("ascribe run: \(job.name) was not started: the rules for it could not be read or its refusal recorded: \(error.description)")
            return .findings
        }
        let forced: [String: String]
        switch verdict {
        case .refused(let skipped):
            output.line(json ? skipped.jsonObject.rendered : verbose ? skipped.verboseLogLine : skipped.logLine)
            output.error("ascribe run: \(skipped.reason ?? "manual run not started")")
            return .findings
        case .start(let details):
            forced = details
        }
        var environment = RunEnvironment(host: hostName, stateDirectory: state,
                                         credentialStore: credentials, development: development)
        if let issuer, !job.tokens.isEmpty {
            // The keys the daemon signs with; made here (and recorded) when this is the first use.
            do {
                var keys = try KeyStore.open(keySettings, create: true)
                let now = SystemClock.now()
                let made = try keys.prepare(.token, now: now)
                let events = KeyEvents(host: hostName, development: development)
                try store.append(made.map { events.created($0, principal: principal.name, reason: "first use of this key directory", at: EventTime(now)) })
                environment.tokens = TokenAuthority(issuer: issuer, lifetime: tokenLifetime, store: keys)
            } catch {
                output.error("ascribe run: \(job.name): \(error)")
                return .findings
            }
        }
        let execution = RunExecution(store: store, environment: environment)
        let order = RunOrder(job: job, definitionHash: load.definitionHashes[job.name], principal: principal,
                             reason: reason, details: forced.merging(load.writers[job.name]?.eventDetails ?? [:]) { current, _ in current })
        // The same path the daemon takes for due slots, waited for in the foreground.
        guard let report = waitFor({ await execution.runTogether([order]) })?.first else {
            output.error("ascribe run: \(job.name): no report came back")
            return .findings
        }

        if json {
            for event in report.events { output.line(event.jsonObject.rendered) }
        } else {
            for event in report.events { output.line(verbose ? event.verboseLogLine : event.logLine) }
        }
        switch report.result {
        case .completed:
            if !json { output.line(report.summary(job: job.name)) }
        default:
            output.error("ascribe run: " + report.summary(job: job.name))
        }
        return report.succeeded ? .ok : .findings
    }
}
