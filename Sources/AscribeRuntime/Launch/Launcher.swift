import Glibc
import AscribeSystem

/// How the scheduler launches runs on this host.
public struct LauncherConfiguration: Sendable {
    /// Where each run's private credentials directory is made. Its parents must be traversable
    /// by the runs' users; the launcher creates missing directories mode 0711.
    public var credentialsRuntimeDirectory: String
    /// The exec helper; nil: `ascribe-exec` next to the running executable.
    public var helperPath: String?
    /// `--dev`: every run executes as the invoking user, whatever its run-as says, and every
    /// result is marked as a development run. No effect on privilege when the scheduler is
    /// root: run-as is still honoured, never set aside in favour of root.
    public var developmentMode: Bool
    /// After the leader exits, how long to keep reading output that a leftover background
    /// process still holds open.
    public var outputDrainGrace: Duration
    /// A fresh digest for each run's output.
    public var makeDigest: @Sendable () -> any OutputDigest

    public init(
        credentialsRuntimeDirectory: String, helperPath: String? = nil, developmentMode: Bool = false,
        outputDrainGrace: Duration = .seconds(2), makeDigest: @escaping @Sendable () -> any OutputDigest
    ) {
        self.credentialsRuntimeDirectory = credentialsRuntimeDirectory
        self.helperPath = helperPath
        self.developmentMode = developmentMode
        self.outputDrainGrace = outputDrainGrace
        self.makeDigest = makeDigest
    }

    /// `/run/ascribe/credentials` as root (tmpfs: secrets never reach a disk), else
    /// `<state>/run/credentials`.
    public static func defaultCredentialsRuntimeDirectory(stateDirectory: String) -> String {
        SystemCalls.effectiveUID == 0 ? "/run/ascribe/credentials" : stateDirectory + "/run/credentials"
    }
}

/// A run that passed every check and is ready to spawn. The caller makes `run.fired` durable,
/// then calls `start`, or `cancel` if it could not.
public struct PreparedLaunch: Sendable {
    public let request: LaunchRequest
    public let account: ResolvedAccount
    public let developmentRun: Bool
    /// The run-as that development mode set aside, for the event to mention.
    public let ignoredRunAs: RunAsTarget?
    /// Already populated; nil when the run lists no credentials.
    public let credentialsDirectory: String?
    /// `NAME=value`, exactly as the run will get them.
    public let environment: [String]
    let helperArguments: [String]
}

/// What bounds a started run; fixed at start.
struct RunLimits: Sendable {
    var timeout: Duration?
    var killGrace: Duration
    var drainGrace: Duration
    var outputPath: String
    var outputCapBytes: Int
    var makeDigest: @Sendable () -> any OutputDigest
}

/// A run whose job has been exec'd. Hand it to exactly one of `Launcher.wait` or
/// `RunSupervisor.supervise`.
public struct RunningLaunch: Sendable {
    public let runID: String
    public let pid: Int32
    public let account: ResolvedAccount
    public let developmentRun: Bool
    public let loginUIDWarning: String?
    public let credentialsDirectory: String?
    let resources: RunResources
    let limits: RunLimits
    let startedAt: ContinuousClock.Instant
    /// Wall time when `posix_spawn` returned: the terminal event's `spawned_at`.
    public let spawnedAt: EventTime
}

/// Launches runs (PRODUCT.md section 4): `prepare` checks and stages, `start` spawns, `wait` or
/// a `RunSupervisor` sees each run to its end. docs/LAUNCH.md describes what a run gets.
public struct Launcher: Sendable {
    public let configuration: LauncherConfiguration
    /// Whose privileges decide the rules; the effective uid, except in tests of the rules.
    let schedulerUID: UInt32

    public init(configuration: LauncherConfiguration) {
        self.init(configuration: configuration, schedulerUID: SystemCalls.effectiveUID)
    }

    /// For tests of the rules as another scheduler; `package`, not public, so the shared test
    /// harness (built in release builds too, where `@testable` is not available) can call it.
    package init(configuration: LauncherConfiguration, schedulerUID: UInt32) {
        self.configuration = configuration
        self.schedulerUID = schedulerUID
    }

    /// Everything that can be checked before anything runs: the request, the account (root
    /// requires a run-as; otherwise only the scheduler's own user), the helper, the program
    /// (executable by that account), and the credentials, which are copied into the run's
    /// private directory here. Nothing has been spawned when this returns or throws.
    public func prepare(_ request: LaunchRequest) throws(LaunchFailure) -> PreparedLaunch {
        try request.validate()
        let decision = try RunAccounts.decide(request.runAs, schedulerUID: schedulerUID,
                                              developmentMode: configuration.developmentMode)
        let helper = try helperPath()
        try RunAccounts.checkExecutable(request.executable, for: decision.account)
        try Self.checkOutputLocation(request.outputPath)
        let credentialsDirectory: String? = request.credentials.isEmpty && request.generatedCredentials.isEmpty
            ? nil
            : try CredentialStaging.stage(request.credentials, generated: request.generatedCredentials,
                                          under: configuration.credentialsRuntimeDirectory, runID: request.runID,
                                          for: decision.account, storeOwner: schedulerUID)
        return PreparedLaunch(
            request: request, account: decision.account, developmentRun: configuration.developmentMode,
            ignoredRunAs: decision.ignoredRunAs, credentialsDirectory: credentialsDirectory,
            environment: Self.environment(for: request, account: decision.account, credentialsDirectory: credentialsDirectory),
            helperArguments: ExecHelper.arguments(helperPath: helper, decision: decision, workingDirectory: request.workingDirectory,
                                                  executable: request.executable, arguments: request.arguments))
    }

    /// Abandons a prepared run (its `run.fired` could not be written): removes its credentials.
    @discardableResult
    public func cancel(_ prepared: PreparedLaunch) -> CredentialsCleanup {
        prepared.credentialsDirectory.map(CredentialStaging.remove) ?? .notNeeded
    }

    /// Spawns the exec helper, which drops privilege and execs the job, and waits only until
    /// the job's exec (or the helper's report of the step that failed). On failure nothing is
    /// left running and the credentials directory is gone. The capture file is not made here
    /// but at the run's first byte of output.
    public func start(_ prepared: PreparedLaunch) throws(LaunchFailure) -> RunningLaunch {
        do throws(LaunchFailure) {
            return try awaitExec(try spawnHelper(prepared))
        } catch {
            cancel(prepared)
            throw error
        }
    }

    /// `start` for runs due at the same instant, with the same outcome for each, in order.
    /// Up to `batchWindow` helpers are in flight: each time the oldest one's exec report is
    /// read, the next helper is spawned, so the helpers' privilege drops and the jobs' execs
    /// proceed on other cores while the caller waits, and the pipeline never drains between
    /// windows.
    public func start(_ batch: [PreparedLaunch]) -> [Result<RunningLaunch, LaunchFailure>] {
        var results: [Result<RunningLaunch, LaunchFailure>] = []
        results.reserveCapacity(batch.count)
        start(batch) { results.append($0) }
        return results
    }

    /// The same, handing each run's result to `each` as soon as its exec is confirmed (in
    /// order), so a caller can supervise it at once while later helpers are still starting.
    public func start(_ batch: [PreparedLaunch], each: (Result<RunningLaunch, LaunchFailure>) -> Void) {
        var reported = 0
        var inFlight: [(prepared: PreparedLaunch, helper: Result<SpawnedHelper, LaunchFailure>)] = []
        inFlight.reserveCapacity(Self.batchWindow)
        var next = batch.startIndex
        var oldest = 0
        while reported < batch.count {
            while next < batch.endIndex, inFlight.count - oldest < Self.batchWindow {
                let prepared = batch[next]
                inFlight.append((prepared, Result { () throws(LaunchFailure) in try spawnHelper(prepared) }))
                next += 1
            }
            let (prepared, helper) = inFlight[oldest]
            oldest += 1
            let result = helper.flatMap { helper in Result { () throws(LaunchFailure) in try awaitExec(helper) } }
            if case .failure = result { cancel(prepared) }
            reported += 1
            each(result)
        }
    }

    /// Blocks until the run has ended and its output is drained; no thread besides the caller's.
    public func wait(_ running: RunningLaunch) -> LaunchCompletion {
        let run = SupervisedRun(running)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !run.isFinished {
            let watched = run.watched
            let timeout = ContinuousClock.Instant.milliseconds(until: run.nextDeadline, from: .now)
            let ready = SystemCalls.pollReadable(watched.map(\.descriptor), timeoutMilliseconds: timeout)
            let now = ContinuousClock.now
            for index in ready { run.handle(watched[index].role, buffer: &buffer, now: now) }
            run.handleDeadlines(now: now)
        }
        return run.complete()
    }

    /// The capture file is made at the run's first byte of output, so its location is checked
    /// here, while a bad one can still stop the run: a directory must hold it, and no file may
    /// be there yet (a record is never overwritten).
    static func checkOutputLocation(_ path: String) throws(LaunchFailure) {
        if (try? SystemCalls.status(of: path, in: AT_FDCWD)) != nil {
            throw .outputFileUnavailable(path: path, error: SystemError(code: EEXIST))
        }
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let status: FileStatus
        do throws(SystemError) {
            status = try SystemCalls.status(path: parent)
        } catch {
            throw .outputFileUnavailable(path: path, error: SystemError(code: error.code))
        }
        guard status.kind == .directory else { throw .outputFileUnavailable(path: path, error: SystemError(code: ENOTDIR)) }
    }

    private func helperPath() throws(LaunchFailure) -> String {
        let path: String
        if let configured = configuration.helperPath {
            path = configured
        } else {
            do throws(SystemError) {
                path = try ExecHelper.defaultPath()
            } catch {
                throw .helperMissing(path: "ascribe-exec (\(error))")
            }
        }
        guard let status = try? SystemCalls.status(path: path), status.kind == .regular, status.isExecutableBySomeone else {
            throw .helperMissing(path: path)
        }
        return path
    }

    /// PRODUCT.md section 4's clean environment. `CREDENTIALS_DIRECTORY` is present only when
    /// the run has credentials, so "is it set" means "this run was given secrets".
    static func environment(for request: LaunchRequest, account: ResolvedAccount, credentialsDirectory: String?) -> [String] {
        let attribution = request.attribution
        var variables = [
            "PATH=" + LaunchRequest.searchPath.joined(separator: ":"),
            "HOME=" + account.home, "USER=" + account.user, "LOGNAME=" + account.user, "SHELL=" + account.shell,
        ]
        variables += request.extraEnvironment.map { "\($0.name)=\($0.value)" }
        variables += ["ASCRIBE_JOB=" + attribution.job, "ASCRIBE_IDENTITY=" + attribution.identity, "ASCRIBE_RUN_ID=" + request.runID]
        if let scheduledFor = attribution.scheduledFor { variables.append("ASCRIBE_SCHEDULED_FOR=" + scheduledFor) }
        variables.append("TRACEPARENT=" + attribution.traceparent)
        if let credentialsDirectory { variables.append("CREDENTIALS_DIRECTORY=" + credentialsDirectory) }
        return variables
    }
}
