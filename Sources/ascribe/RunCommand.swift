import AscribeCore
import AscribeRuntime

enum RunCommand {
    static let help = """
        Usage: ascribe run JOB [--jobs DIR] [--state DIR] [--credentials DIR] [--reason TEXT] [--dev] [--json]

        Runs one job now and waits for it: `run.fired` is made durable before anything starts
        (if it cannot be written, nothing runs), then exactly one terminal event. The actor is
        the job's identity; the principal is you, as the kernel knows you (your audit login uid,
        which survives sudo, else your real uid) — never a flag or an environment variable.
        When a daemon is running on the state directory, the run goes through it (its control
        socket): the daemon's jobs and credentials apply, and so do its rules — a disabled job
        or identity, or a run in progress with overlap = skip or queue, refuses the run and
        records run.skipped. Otherwise the run starts here, through the same launcher and log.

        Options:
          --jobs DIR          jobs directory (default \(DefaultPaths.jobsDirectoryHelp))
          --state DIR         state directory: events.db and run output (default \(DefaultPaths.stateDirectoryHelp))
          --credentials DIR   credential store (default /etc/ascribe/credentials as root,
                              <state>/credentials otherwise)
          --reason TEXT       why you are running it; recorded with the events
          --dev               a developer's laptop: run as yourself, mark the events as a development run
          --json              print the recorded events as JSON lines

        Exit status: 0 the run succeeded, 1 it failed, timed out, could not launch or could not
        be recorded, 2 bad usage or input.

        Examples:
          ascribe run stale-lock-reaper --jobs jobs.d --reason "locks piling up after deploy"
          ascribe run failure-drill --jobs jobs.d --state ./.ascribe --dev
        """

    static func run(_ reader: inout ArgumentReader, output: inout Output) throws(UsageError) -> ExitCode {
        if reader.wantsHelp {
            output.line(help)
            return .ok
        }
        let directory = try reader.option("--jobs") ?? DefaultPaths.jobsDirectory
        let state = try reader.option("--state") ?? DefaultPaths.stateDirectory
        let credentials = try reader.option("--credentials") ?? DefaultPaths.credentialStore(stateDirectory: state)
        let reason = try reader.option("--reason")
        let development = reader.flag("--dev")
        let json = reader.flag("--json")
        let names = try reader.positionals(max: 1)
        guard let name = names.first else { throw UsageError(message: "name the job to run") }
        if let code = ControlExchange.perform(.run(job: name, reason: reason), state: state, command: "run", json: json,
                                              orLocally: true, output: &output) {
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
        let environment = RunEnvironment(host: HostName.current(), stateDirectory: state,
                                         credentialStore: credentials, development: development)
        let execution = RunExecution(store: store, environment: environment)
        let order = RunOrder(job: job, definitionHash: load.definitionHashes[job.name], principal: .current(),
                             reason: reason)
        // The same path the daemon takes for due slots, waited for in the foreground.
        guard let report = waitFor({ await execution.runTogether([order]) })?.first else {
            output.error("ascribe run: \(job.name): no report came back")
            return .findings
        }

        if json {
            for event in report.events { output.line(event.jsonObject.rendered) }
        } else {
            for event in report.events { output.line(event.logLine) }
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
