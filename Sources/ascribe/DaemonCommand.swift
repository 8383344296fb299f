import AscribeCommandLine
import AscribeCore
import AscribeRuntime
import AscribeSystem
import Glibc

enum DaemonCommand {
    enum Options {
        static let state = CommonOptions.state("state directory: events.db, daemon.lock, run output")
        static let credentials = CommandOption("--credentials", value: "DIR", help: "credential store",
                                               default: "/etc/ascribe/credentials as root, <state>/credentials otherwise")
        static let controlGroup = CommandOption("--control-group", value: "GROUP", help: "who besides root and the daemon's user may control it; `none` for nobody else",
                                                default: "the group \"ascribe\" when it exists, else none")
        static let trustLoginUID = CommandOption("--trust-login-uid", help: "name every caller by its audit login uid, not only root callers (sudo); only for hosts where no non-root process can run with an unset login uid (pam_loginuid on every login, `auditctl --loginuid-immutable`; docs/CONTROL.md)")
        static let development = CommandOption("--dev", help: "a developer's laptop: not root, run every job as yourself (run-as set aside); as root, run-as still applies; either way every event is marked development")
        static let quiet = CommandOption("--quiet", help: "do not print events")
        static let verbose = CommandOption("--verbose", help: "print every field of each event (as `ascribe log --verbose`)")
        static let syslog = CommandOption("--syslog", value: "PATH", help: "forward every event, once recorded, to the syslog socket PATH as RFC 5424 with structured data",
                                          default: "/dev/log when run as root without --dev and /dev/log exists; see docs/OPERATIONS.md")
        static let noSyslog = CommandOption("--no-syslog", help: "do not forward events to syslog")
        static let noCheckpoints = CommandOption("--no-checkpoints", help: "do not sign checkpoints of the log. By default the daemon signs one (C2SP signed note, Ed25519) every 1,000 events or 60 s with new events, hourly when idle and at shutdown, recorded as checkpoint.signed and so in syslog, with the key store's checkpoint key (--keys; with --dev, <state>/keys); a fleet's log (--store) has none yet; docs/EVENTS.md")
        static let witnessFile = CommandOption("--witness-file", value: "PATH", help: "append each signed checkpoint to PATH: keep it on another disk or host, then `ascribe verify --checkpoint PATH`")
        static let witness = CommandOption("--witness", value: "URL", help: "send each signed checkpoint to the C2SP tlog-witness at URL (http://host:port[/prefix], e.g. `ascribe witness serve` on another host; https through a TLS terminator) and record each cosignature as checkpoint.cosigned", repeatable: true)
        static let store = CommandOption("--store", value: "URI", help: "keep the log in a fleet's shared PostgreSQL database (a libpq URI, postgresql://user@host/db): one hash chain for every host, and each slot claimed once fleet-wide (placement = once) or once per host (every-host); see docs/FLEET.md",
                                         default: "<state>/events.db, this host's own")
        static let hostName = CommandOption("--host-name", value: "NAME", help: "the name every event records as its host; in a fleet each host needs its own",
                                            default: "the system's host name")
        static let metricsFile = CommandOption("--metrics-file", value: "FILE", help: "keep a Prometheus textfile of per-job last success, last outcome, duration, skipped and missed counts and schedule period, rewritten atomically (mode 0644) as events arrive; see docs/OPERATIONS.md")
    }

    static let declaration = CommandDeclaration(
        name: "daemon", summary: "the scheduler: fire every slot, record every outcome",
        discussion: """
            The scheduler. Sleeps until the next slot of any job, fires it, and records every slot in
            the event log: fired (then succeeded, failed, timed out), skipped with a reason (overlap,
            job disabled), missed while the daemon was down (then `catch-up` applies), or lost (fired
            by a daemon that died before recording its end). Prints each event as it is written, and
            once started, when each job runs next (the soonest 20, in the job's zone and as "in 4 min").
            One daemon per state directory (<state>/daemon.lock). SIGHUP: reload the jobs directory
            (valid files swap in; a broken file is rejected and its previous definition stays).
            SIGTERM or SIGINT: stop firing, give running jobs 30 s, terminate the rest (their end
            says the shutdown stopped them), record each slot due meanwhile as run.skipped
            (daemon-stopping), then daemon.stopped naming the signal's sender (pid, uid, command),
            exit 0. Control socket <state>/control.sock (mode 0660, the control group):
            `ascribe run`, `disable`, `enable` and `status` talk to the daemon through it; callers are
            identified by the kernel (SO_PEERCRED) and only root, the daemon's user and members of the
            control group are served; refusals are recorded as control.refused.
            With --issuer, jobs may ask for identity tokens (`tokens =`): the daemon opens its key
            directory (--keys; made mode 0700 with a first key pair, recorded as key.created), and each
            run finds $CREDENTIALS_DIRECTORY/NAME.jwt, signed for its audience and replaced at 80 % of
            its lifetime while the run lasts, each issue recorded as credential.issued (docs/TOKENS.md).
            """,
        options: [CommonOptions.jobs, Options.state, Options.credentials, Options.controlGroup, Options.trustLoginUID,
                  Options.development, Options.quiet, Options.verbose, Options.syslog, Options.noSyslog, Options.metricsFile,
                  TokenOptions.issuer, TokenOptions.keys, TokenOptions.lifetime, TokenOptions.algorithm,
                  Options.noCheckpoints, Options.witnessFile, Options.witness, Options.store, Options.hostName],
        exclusive: [[Options.quiet, Options.verbose], [Options.syslog, Options.noSyslog], [Options.noCheckpoints, Options.witnessFile],
                    [Options.noCheckpoints, Options.witness]],
        exitStatus: "0 stopped cleanly, 1 could not start, 2 bad usage or another daemon holds the state directory.",
        examples: """
            ascribe daemon                                   # as root: /etc/ascribe/jobs.d, /var/lib/ascribe
            ascribe daemon --jobs jobs.d --state ./.ascribe --dev
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let jobs = arguments.value(CommonOptions.jobs) ?? DefaultPaths.jobsDirectory
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let credentials = arguments.value(Options.credentials) ?? DefaultPaths.credentialStore(stateDirectory: state)
        let controlGroup = arguments.value(Options.controlGroup)
        let development = arguments.flag(Options.development)
        let trustLoginUID = arguments.flag(Options.trustLoginUID)
        let quiet = arguments.flag(Options.quiet)
        let verbose = arguments.flag(Options.verbose)
        let syslogPath = arguments.value(Options.syslog)
        let noSyslog = arguments.flag(Options.noSyslog)
        let metricsPath = arguments.value(Options.metricsFile)
        let issuer = try TokenOptions.issuer(arguments)
        var keySettings = try TokenOptions.settings(arguments, state: state, makesKeys: true)
        // A development daemon (a laptop, a test) keeps its keys with its state, never in /etc.
        if development, arguments.value(TokenOptions.keys) == nil { keySettings.directory = state + "/keys" }
        let tokenLifetime = try TokenOptions.lifetime(arguments)
        let witnessFile = arguments.value(Options.witnessFile)
        let witnesses = arguments.values(Options.witness)
        let store = try DaemonStore(parsing: arguments.value(Options.store))
        let hostName = try arguments.value(Options.hostName).map(checkedHostName) ?? HostName.current()
        if case .postgreSQL = store, witnessFile != nil || !witnesses.isEmpty {
            throw UsageError(message: "--witness-file and --witness send this host's own log's checkpoints; a fleet's log in PostgreSQL has no checkpoints yet (docs/FLEET.md)")
        }
        // On by default for this host's own log (PRODUCT.md section 9); a fleet's has no tree yet.
        let checkpoints: Bool
        if case .local = store { checkpoints = !arguments.flag(Options.noCheckpoints) } else { checkpoints = false }
        _ = try arguments.operands(max: 0)

        var access: ControlAccess
        do {
            switch controlGroup {
            case "none"?: access = ControlAccess(group: nil)
            case let name?: access = try ControlAccess.resolve(groupName: name)
            case nil: access = (try? ControlAccess.resolve(groupName: ControlAccess.defaultGroupName)) ?? ControlAccess(group: nil)
            }
        } catch {
            throw UsageError(message: error.description)
        }
        if trustLoginUID { access.loginUIDTrust = .everyCaller }
        let lock: DaemonLock
        do {
            lock = try DaemonLock(stateDirectory: state)
        } catch {
            output.error("ascribe daemon: \(error.description)")
            if case .held = error { return .badInput }
            return .findings
        }
        announce(lock.stateDirectory, command: "daemon")
        let host = HostContext()
        var configuration = DaemonConfiguration(
            jobsDirectory: jobs, stateDirectory: state, credentialStore: credentials, development: development,
            host: hostName, zones: host.zones, defaultZone: host.systemZone, control: access)
        // Said at once: a schedule silently in UTC because tzdata is missing would run hours off.
        if let problem = host.zones.systemZoneProblem(environment: SystemCalls.environment) {
            SystemCalls.write("ascribe daemon: \(problem)\n", to: SystemCalls.standardError)
        }
        configuration.stateDirectoryRemovals = lock.stateDirectory.removed
        if let issuer {
            do {
                var keys = try KeyStore.open(keySettings, create: true)
                configuration.keysMadeAtStart = try keys.prepare(.token, now: SystemClock.now())
                configuration.tokens = TokenAuthority(issuer: issuer, lifetime: tokenLifetime, store: keys)
                configuration.keys = keySettings
            } catch {
                output.error("ascribe daemon: \(error.description)")
                return .findings
            }
        }
        if checkpoints {
            do throws(CheckpointKeyError) {
                let (signer, made) = try CheckpointPublishing.keyStoreSigner(
                    directory: keySettings.directory, host: configuration.host, now: SystemClock.now())
                configuration.keysMadeAtStart += made
                configuration.checkpoints = CheckpointPublishing(signer: signer, witnessFile: witnessFile, witnesses: witnesses)
                configuration.keys = keySettings
            } catch {
                output.error("ascribe daemon: cannot sign checkpoints: \(error.description)")
                return .findings
            }
        }
        configuration.store = store
        let syslog: SyslogForwarder?
        do throws(SystemError) {
            syslog = try syslogForwarder(path: syslogPath, disabled: noSyslog, development: development)
        } catch {
            output.error("ascribe daemon: cannot forward to syslog: \(error.description)")
            return .findings
        }
        let metrics = metricsPath.map { path in
            MetricsTextfile(path: path, stateDirectory: state, jobsDirectory: jobs, zones: host.zones,
                            defaultZone: host.systemZone) { message in
                SystemCalls.write("ascribe daemon: \(message)\n", to: SystemCalls.standardError)
            }
        }
        // The first config.loaded means the daemon has its jobs: then it says when each runs next.
        let (loaded, loadedSignal) = AsyncStream<Void>.makeStream()
        let daemon = Daemon(configuration: configuration) { line in
            switch line {
            case .event(let event):
                if event.type == .configLoaded { loadedSignal.yield() }
                if !quiet { SystemCalls.write((verbose ? event.verboseLogLine : event.logLine) + "\n", to: SystemCalls.standardOutput) }
                syslog?.forward(event)
                metrics?.record(event)
            case .problem(let text):
                SystemCalls.write("ascribe daemon: \(text)\n", to: SystemCalls.standardError)
            }
        }
        // Registered before the daemon starts anything that could raise them.
        let signals: DaemonSignals
        do throws(SystemError) {
            signals = try DaemonSignals([SIGTERM, SIGINT, SIGHUP]) { delivery in
                Task {
                    if delivery.signal == SIGHUP {
                        await daemon.reload(signal: delivery.signal)
                    } else {
                        await daemon.stop(signal: delivery.signal, from: delivery.origin)
                    }
                }
            }
        } catch {
            output.error("ascribe daemon: cannot catch signals: \(error.description)")
            return .findings
        }
        if !quiet {
            Task {
                for await _ in loaded {
                    let next = await daemon.nextSlots()
                    let lines = NextSlotsText.lines(next.slots, now: SystemClock.now(), limit: nextSlotsShown,
                                                    notScheduled: next.notScheduled)
                    SystemCalls.write(lines.map { $0 + "\n" }.joined(), to: SystemCalls.standardOutput)
                    break
                }
            }
        }
        let outcome = waitFor { await daemon.run() }
        metrics?.finish()
        withExtendedLifetime((lock, signals)) {}
        switch outcome {
        case .stopped:
            return .ok
        case .failedToStart(let message):
            output.error("ascribe daemon: \(message)")
            return .findings
        case nil:
            return .findings
        }
    }

    /// How many jobs' next slots the daemon prints when it starts; the rest are counted.
    static let nextSlotsShown = 20

    /// `--syslog PATH`, or by default `/dev/log` for a root daemon that is not `--dev` when the
    /// socket exists: a production host's daemon feeds the system log unless told not to.
    private static func syslogForwarder(path: String?, disabled: Bool, development: Bool) throws(SystemError) -> SyslogForwarder? {
        let defaultPath = "/dev/log"
        guard !disabled else { return nil }
        let chosen = path ?? (DefaultPaths.runningAsRoot && !development && (try? FileStatus(path: defaultPath, followingLinks: true)) != nil
            ? defaultPath : nil)
        guard let chosen else { return nil }
        return try SyslogForwarder(path: chosen, processID: getpid()) { message in
            SystemCalls.write("ascribe daemon: \(message)\n", to: SystemCalls.standardError)
        }
    }
}

extension DaemonCommand {
    /// `--host-name`: what every event calls this host, so it must say one name plainly.
    static func checkedHostName(_ name: String) throws(UsageError) -> String {
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_")
        }
        guard !name.isEmpty, name.utf8.count <= 253, allowed else {
            throw UsageError(message: "--host-name: \(name.debugDescription) is not a host name; use letters, digits, '-', '.' and '_' (at most 253)")
        }
        return name
    }
}

extension DaemonStore {
    /// `--store`: absent for this host's own SQLite store; a PostgreSQL URI for a fleet's.
    init(parsing value: String?) throws(UsageError) {
        guard let value else {
            self = .local
            return
        }
        guard value.hasPrefix("postgresql://") || value.hasPrefix("postgres://") else {
            throw UsageError(message: "--store: expected a PostgreSQL URI such as postgresql://ascribe@db.example.com/ascribe (the default store is <state>/events.db)")
        }
        self = .postgreSQL(value)
    }
}
