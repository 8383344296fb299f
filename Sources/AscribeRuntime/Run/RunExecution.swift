import AscribeCore
import Synchronization
import AscribeSystem

/// What a run shares with every other run on this host: where things live and who records.
public struct RunEnvironment: Sendable {
    public var host: String
    public var stateDirectory: String
    public var credentialStore: String
    /// A `--dev` scheduler: every job runs as the invoking user and every event says so.
    public var development: Bool
    /// Signs the identity tokens jobs ask for (`tokens =`); nil: a job asking for one fails to launch.
    public var tokens: TokenAuthority?
    /// The wall clock run events are stamped with: the recorder's own (the daemon's
    /// `DaemonClock`), so a run's events and the scheduler's share one timeline.
    public var now: @Sendable () -> EventTime

    public init(host: String, stateDirectory: String, credentialStore: String, development: Bool,
                tokens: TokenAuthority? = nil, now: @escaping @Sendable () -> EventTime = { EventTime.now() }) {
        self.tokens = tokens
        self.host = host
        self.stateDirectory = stateDirectory
        self.credentialStore = credentialStore
        self.development = development
        self.now = now
    }

    var outputDirectory: String { stateDirectory + "/output" }
}

/// How one run ended, from the recorder's point of view.
public enum RunResult: Sendable {
    /// `run.fired` could not be made durable, so nothing was started (fail closed).
    case notStarted(EventStoreError)
    /// Another host of the fleet holds this slot's claim (`placement = once`, or this host's
    /// own earlier claim): nothing was recorded or started here.
    case claimedElsewhere
    /// Recorded as `run.launch_failed` (after `run.fired`).
    case launchFailed(LaunchFailure)
    /// The process ran; its terminal event is recorded.
    case completed(LaunchCompletion)
    /// The process ran, but its terminal event could not be written.
    case completedUnrecorded(LaunchCompletion, EventStoreError)
    /// Started, but supervision ended without reporting its end (the next daemon start
    /// records such a run as `run.lost`).
    case unaccounted
}

/// One run and its record: `run.fired`, then exactly one terminal event.
public struct RunReport: Sendable {
    public var runID: String
    public var result: RunResult
    /// The events written for this run, in order.
    public var events: [Event]
}

/// One run to start: the job, the slot it stands for, and who asked.
public struct RunOrder: Sendable {
    public var job: JobDefinition
    public var definitionHash: String?
    /// The scheduled slot; nil for a manual run.
    public var scheduledFor: EventTime?
    /// The human behind a manual run; nil when the schedule fired it.
    public var principal: Principal?
    public var reason: String?
    /// The run id, when the caller must know it before the run is recorded (the daemon's
    /// overlap decisions name the run in progress); otherwise a fresh one.
    public var runID: String?
    /// Extra fields for `run.fired` and its terminal event (e.g. `trigger = catch-up`).
    public var details: [String: String]

    public init(job: JobDefinition, definitionHash: String?, scheduledFor: EventTime? = nil,
                principal: Principal? = nil, reason: String? = nil, runID: String? = nil,
                details: [String: String] = [:]) {
        self.runID = runID
        self.details = details
        self.job = job
        self.definitionHash = definitionHash
        self.scheduledFor = scheduledFor
        self.principal = principal
        self.reason = reason
    }
}

/// Who ended a run from outside it, said in its terminal event (instead of only the signal).
public enum RunInterruption: Sendable, Equatable {
    /// The daemon's shutdown drain signalled the run's process group; `requestedBy` says who
    /// asked for the shutdown (the signal and its sender).
    case daemonShutdown(requestedBy: String)

    /// `reason` words.
    public var words: String {
        switch self {
        case .daemonShutdown(let requestedBy): "stopped by the daemon's shutdown (requested by \(requestedBy))"
        }
    }

    /// Typed details: `stopped_by` and whose request.
    public var details: [String: String] {
        switch self {
        case .daemonShutdown(let requestedBy): EventDetails([.stoppedBy: StoppedBy.daemonShutdown.rawValue, .shutdownRequestedBy: requestedBy])
        }
    }
}

/// Observers of `runTogether`, called in the caller's isolation: each run's process id when
/// it starts, and each run's report as soon as that run is accounted for (not when the whole
/// batch is), so a scheduler knows which job is still running. `interruption` is asked as a
/// run's end is recorded: whether the caller itself ended it (the daemon's shutdown).
public struct RunProgress {
    public var started: (_ runID: String, _ pid: Int32) -> Void
    public var ended: (RunReport) -> Void
    public var interruption: (_ runID: String) -> RunInterruption?

    public init(started: @escaping (_ runID: String, _ pid: Int32) -> Void = { _, _ in },
                ended: @escaping (RunReport) -> Void = { _ in },
                interruption: @escaping (_ runID: String) -> RunInterruption? = { _ in nil }) {
        self.started = started
        self.ended = ended
        self.interruption = interruption
    }
}

/// Runs jobs now through the launcher and records them in the event store, never starting a
/// process whose `run.fired` is not durable.
///
/// Not `Sendable`: it owns the single-owner event log.
public struct RunExecution {
    let store: any EventLog
    let launcher: Launcher
    let environment: RunEnvironment
    let recorder = RecorderProcess.current()
    /// Where runs are supervised: the daemon's one reactor; nil for a reactor per batch (one
    /// batch per process: `ascribe run`).
    let reactor: Reactor?

    public init(store: any EventLog, environment: RunEnvironment, helperPath: String? = nil, reactor: Reactor? = nil) {
        self.store = store
        self.environment = environment
        self.reactor = reactor
        self.launcher = Launcher(configuration: LauncherConfiguration(
            credentialsRuntimeDirectory: LauncherConfiguration.defaultCredentialsRuntimeDirectory(
                stateDirectory: environment.stateDirectory),
            helperPath: helperPath, developmentMode: environment.development,
            makeDigest: { SHA256OutputDigest() }))
    }

    /// A claim for each scheduled run (a manual run belongs to no slot and claims nothing),
    /// made in the transaction that records its `run.fired`.
    private func claims(for orders: [RunOrder], runIDs: [String]) -> [SlotClaim] {
        zip(orders, runIDs).compactMap { order, runID in
            order.scheduledFor.map {
                SlotClaim(job: order.job.name.rawValue, scheduledFor: $0, placement: order.job.placement,
                          host: environment.host, runID: runID, configHash: order.definitionHash)
            }
        }
    }

    /// How many runs `runTogether` starts before handing them to the supervisor.
    static let startSlice = 64

    /// Runs that are due together (a scheduler minute, a burst): every `run.fired` in one
    /// durable transaction before any of them starts, then each terminal event as its run ends.
    /// Reports come back in the order of `orders`.
    nonisolated(nonsending) public func runTogether(_ orders: [RunOrder],
                                                    progress: RunProgress = RunProgress()) async -> [RunReport] {
        var runIDs: [String] = []
        var results: [RunResult] = []
        var events: [[Event]] = Array(repeating: [], count: orders.count)
        var fired: [EventDraft] = []
        var prepared: [(index: Int, launch: PreparedLaunch)] = []
        var drafts: [EventDraft] = []
        let refresh = environment.tokens.map(TokenRefresh.init)
        let planned = orders.map { order in
            let runID = order.runID ?? RandomIdentifier.hex128()
            let request = Self.launchRequest(for: order.job, runID: runID, environment: environment,
                                             scheduledFor: order.scheduledFor?.rfc3339)
            return (runID: runID, request: request, draft: firedDraft(for: order, runID: runID, argv: request.arguments))
        }
        let issued = issueTokens(for: zip(orders, planned).map { (job: $0.job, fired: $1.draft) })
        for (index, order) in orders.enumerated() {
            let runID = planned[index].runID
            var request = planned[index].request
            var draft = planned[index].draft
            do {
                try makeOutputDirectories(for: order.job)
                let tokens = try issued[index].get()
                request.generatedCredentials = tokens.files
                let launch = try launcher.prepare(request)
                draft.runAs = launch.account.description
                if launch.developmentRun { draft.development = true }
                prepared.append((index, launch))
                drafts.append(draft)
                drafts += tokens.events(draft)
                if let entry = tokens.refreshEntry(fired: draft, launch: launch) { refresh?.add(runID: runID, entry) }
            } catch {
                drafts += [draft, launchFailedDraft(from: draft, failure: error)]
                results.append(.launchFailed(error))
                runIDs.append(runID)
                fired.append(draft)
                continue
            }
            results.append(.unaccounted)
            runIDs.append(runID)
            fired.append(draft)
        }
        var reported = Set<Int>()
        func report(_ index: Int) {
            guard reported.insert(index).inserted else { return }
            progress.ended(RunReport(runID: runIDs[index], result: results[index], events: events[index]))
        }
        func reports() -> [RunReport] {
            for index in orders.indices { report(index) }
            return (0..<orders.count).map { RunReport(runID: runIDs[$0], result: results[$0], events: events[$0]) }
        }
        let written: [Event]
        do {
            let claimed = try store.append(drafts, claiming: claims(for: orders, runIDs: runIDs))
            written = claimed.events
            // Another host fires these: release what was prepared, start nothing.
            for item in prepared where claimed.claimedElsewhere.contains(runIDs[item.index]) { _ = launcher.cancel(item.launch) }
            prepared.removeAll { claimed.claimedElsewhere.contains(runIDs[$0.index]) }
            for (index, runID) in runIDs.enumerated() where claimed.claimedElsewhere.contains(runID) {
                results[index] = .claimedElsewhere
                report(index)
            }
        } catch {
            for item in prepared { _ = launcher.cancel(item.launch) }
            results = runIDs.map { _ in .notStarted(error) }
            return reports()
        }
        let indexOfRun = Dictionary(uniqueKeysWithValues: runIDs.enumerated().map { ($1, $0) })
        for event in written {
            guard let runID = event.content.runID, let index = indexOfRun[runID] else { continue }
            events[index].append(event)
        }
        for (index, result) in results.enumerated() {
            if case .launchFailed = result { report(index) }
        }

        let supervisor: RunSupervisor
        do throws(SystemError) {
            if let reactor {
                supervisor = try RunSupervisor(reactor: reactor)
            } else {
                supervisor = try RunSupervisor()
            }
        } catch {
            // Fired is durable but nothing can be watched: record each as a launch failure.
            for item in prepared {
                let failure = LaunchFailure.spawnFailed(error)
                results[item.index] = .launchFailed(failure)
                _ = launcher.cancel(item.launch)
                if let event = try? store.append(launchFailedDraft(from: fired[item.index], failure: failure)) {
                    events[item.index].append(event)
                }
            }
            return reports()
        }
        // Started in slices, each handed to the supervisor at once, so a large burst never
        // holds more than a slice of not-yet-watched pipes (each run holds 3–4 descriptors).
        // (Handing each run over as it starts measured slower: the supervisor's thread then
        // competes with the spawns, BENCHMARKS.md.)
        var started: [Result<RunningLaunch, LaunchFailure>] = []
        for first in stride(from: 0, to: prepared.count, by: Self.startSlice) {
            let slice = prepared[first..<min(prepared.count, first + Self.startSlice)]
            for result in launcher.start(slice.map(\.launch)) {
                if case .success(let running) = result { supervisor.supervise(running) }
                started.append(result)
            }
        }
        var byRunID: [String: Int] = [:]
        for (item, result) in zip(prepared, started) {
            switch result {
            case .success(let running):
                byRunID[running.runID] = item.index
                progress.started(running.runID, running.pid)
            case .failure(let failure):
                results[item.index] = .launchFailed(failure)
                if let event = try? store.append(launchFailedDraft(from: fired[item.index], failure: failure)) {
                    events[item.index].append(event)
                }
                report(item.index)
            }
        }
        supervisor.finish()
        // Group commit: completions collect while a commit is in flight, and the next commit
        // takes all of them at once, so a burst pays one fsync per group rather than per run,
        // and no terminal event waits for anything but the commit before it.
        let arrived = CompletionQueue()
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let pump = Task {
            for await completion in supervisor.completions {
                arrived.push(completion)
                wake.yield()
            }
            wake.finish()
        }
        let refreshing = refresh.flatMap { $0.isEmpty ? nil : Self.keepFresh($0, now: environment.now, wake: wake) }
        let caps = Dictionary(prepared.map { ($0.index, Int64($0.launch.request.outputCapBytes)) }) { first, _ in first }
        func commit(_ completions: [LaunchCompletion]) {
            let indices = completions.map { byRunID[$0.runID] }
            var drafts: [EventDraft] = []
            for (completion, index) in zip(completions, indices) {
                guard let index else { continue }
                refresh?.remove(runID: completion.runID)
                var terminal = terminalDraft(from: fired[index], completion: completion,
                                             interruption: progress.interruption(completion.runID))
                terminal.outputCapBytes = caps[index]
                terminal.details[.tokenRefreshFailed] = refresh?.takeProblem(runID: completion.runID)
                drafts.append(terminal)
            }
            let written: Result<[Event], EventStoreError>
            do {
                written = .success(try store.append(drafts))
            } catch {
                written = .failure(error)
            }
            var position = 0
            for (completion, index) in zip(completions, indices) {
                guard let index else { continue }
                switch written {
                case .success(let stored):
                    events[index].append(stored[position])
                    results[index] = .completed(completion)
                case .failure(let error):
                    results[index] = .completedUnrecorded(completion, error)
                }
                position += 1
                report(index)
            }
        }
        /// Refreshed tokens' `credential.issued`, as they come (best effort: a run's end is not held up by them).
        func recordRefreshes() {
            guard let drafts = refresh?.takeDrafts(), !drafts.isEmpty, let stored = try? store.append(drafts) else { return }
            for event in stored {
                if let runID = event.content.runID, let index = indexOfRun[runID] { events[index].append(event) }
            }
        }
        for await _ in wakeups {
            recordRefreshes()
            let batch = arrived.takeAll()
            if !batch.isEmpty { commit(batch) }
        }
        refreshing?.cancel()
        recordRefreshes()
        await pump.value
        let rest = arrived.takeAll()
        if !rest.isEmpty { commit(rest) }
        return reports()
    }

    private func firedDraft(for order: RunOrder, runID: String, argv: [String]) -> EventDraft {
        var draft = draft(.runFired, job: order.job, runID: runID, definitionHash: order.definitionHash,
                          principal: order.principal, reason: order.reason, argv: argv)
        draft.scheduledFor = order.scheduledFor
        draft.details.trigger = order.principal == nil ? .schedule : .manual
        draft.details.merge(order.details) { $1 }
        if let principal = order.principal { draft.details.merge(principal.details) { $1 } }
        // Who will record the end: a daemon starting later must not call a run it owns lost.
        if let recorder { draft.details.merge(recorder.details) { $1 } }
        return draft
    }

    /// Output lives beside the log, private to the scheduler (0700). `output` and its job
    /// directory must be real directories of the scheduler's user that nobody else can write:
    /// a planted link would send root's writes anywhere, so the location is unavailable.
    private func makeOutputDirectories(for job: JobDefinition) throws(LaunchFailure) {
        for directory in [environment.outputDirectory, "\(environment.outputDirectory)/\(job.name.rawValue)"] {
            do throws(SystemError) {
                try FileSystem.makePrivateDirectory(directory)
            } catch {
                throw .outputFileUnavailable(path: directory, error: error)
            }
        }
    }

    /// The launcher's view of a job: argv or shell script, account, environment, credentials.
    /// A bare program name is looked up in the runs' PATH; a relative path is taken from the
    /// job's working directory, where the run starts.
    public static func launchRequest(for job: JobDefinition, runID: String, environment: RunEnvironment,
                                     scheduledFor: String? = nil) -> LaunchRequest {
        let executable: String
        let arguments: [String]
        switch job.command {
        case .argv(let words):
            let program = words.first ?? ""
            executable = program.contains("/") && !program.hasPrefix("/")
                ? JobDirectory.joined(job.workingDirectory, program)
                : LaunchRequest.resolveProgram(program) ?? program
            arguments = words
        case .shell(let program, let script):
            executable = program
            arguments = [program, "-c", script]
        }
        return LaunchRequest(
            runID: runID, executable: executable, arguments: arguments,
            runAs: job.runAs.map { RunAsTarget(user: $0.user, group: $0.group) },
            workingDirectory: job.workingDirectory,
            extraEnvironment: job.environment.map { LaunchRequest.Variable(name: $0.name, value: $0.value) },
            attribution: AttributionEnvironment(job: job.name.rawValue, identity: job.identity.rawValue,
                                                runID: runID, scheduledFor: scheduledFor),
            credentials: job.credentials.map {
                LaunchRequest.Credential(name: $0.rawValue,
                                         source: "\(environment.credentialStore)/\(job.identity.rawValue)/\($0.rawValue)")
            },
            timeout: job.timeout.map { .seconds($0.seconds) },
            killGrace: .seconds(job.killGrace.seconds),
            outputPath: "\(environment.outputDirectory)/\(job.name.rawValue)/\(runID).log")
    }

    private func draft(_ type: EventType, job: JobDefinition, runID: String, definitionHash: String?,
                       principal: Principal?, reason: String?, argv: [String]) -> EventDraft {
        RunEventDrafts(host: environment.host, development: environment.development)
            .run(type, job: job, definitionHash: definitionHash, runID: runID, principal: principal?.name, reason: reason,
                 argv: argv, at: environment.now())
    }

    private func launchFailedDraft(from fired: EventDraft, failure: LaunchFailure) -> EventDraft {
        var failed = fired
        failed.time = environment.now()
        failed.type = .runLaunchFailed
        failed.details[.failure] = failure.reasonCode
        failed.details[.error] = failure.description
        return failed
    }

    /// The terminal event of a run that ended (the daemon writes it late after a store outage).
    /// `interruption`: the recorder ended it itself (its reason then says so; a manual run's
    /// own reason is kept in front).
    func terminalDraft(from fired: EventDraft, completion: LaunchCompletion, interruption: RunInterruption? = nil) -> EventDraft {
        var terminal = fired
        terminal.time = environment.now()
        terminal.runAs = completion.account.description
        terminal.development = fired.development || completion.developmentRun
        terminal.pid = completion.pid
        terminal.durationMs = completion.durationMilliseconds
        // When the process actually started: the gap from `run.fired` is the launch's own delay.
        terminal.details[.spawnedAt] = completion.spawnedAt.rfc3339
        switch completion.outcome {
        case .exited(let code):
            terminal.type = code == 0 ? .runSucceeded : .runFailed
            terminal.exitCode = code
        case .signaled(let signal):
            terminal.type = .runFailed
            terminal.signal = signal
        case .timedOut(let signalUsed):
            terminal.type = .runTimedOut
            terminal.signal = signalUsed.signalNumber
        case .statusUnavailable:
            terminal.type = .runFailed
            terminal.details[.status] = "unavailable"
        }
        let output = completion.output
        terminal.stdoutBytes = Int64(output.stdoutBytes)
        terminal.stderrBytes = Int64(output.stderrBytes)
        terminal.outputSHA256 = output.sha256
        terminal.outputTail = output.tail.isEmpty ? nil : output.tail
        terminal.outputPath = output.path
        if output.capped { terminal.details[.outputCapped] = DetailFlag.yes.rawValue }
        if output.drainCutShort { terminal.details[.outputDrain] = "cut short: a process kept the pipe open" }
        if let fileError = output.fileError { terminal.details[.outputFileError] = fileError.description }
        if let warning = completion.loginUIDWarning { terminal.details[.loginuid] = warning }
        if case .failed(let path, let error) = completion.credentials {
            terminal.details[.credentialsCleanup] = "\(path): \(error)"
        }
        if let interruption {
            terminal.reason = (fired.reason.map { "\($0); " } ?? "") + interruption.words
            terminal.details.merge(interruption.details) { $1 }
        }
        return terminal
    }
}

/// Completions handed from the supervisor's stream to the committing loop.
private final class CompletionQueue: Sendable {
    private let items = Mutex<[LaunchCompletion]>([])

    func push(_ completion: LaunchCompletion) {
        items.withLock { $0.append(completion) }
    }

    func takeAll() -> [LaunchCompletion] {
        items.withLock { items in
            defer { items.removeAll() }
            return items
        }
    }
}
