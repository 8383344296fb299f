import Glibc
import Synchronization
import AscribeSystem

/// The descriptors of a started run. Exactly one supervisor (the blocking wait or a
/// `RunSupervisor`) claims them and closes them as the run ends.
final class RunResources: Sendable {
    let processDescriptor: Int32
    let standardOutput: Int32
    let standardError: Int32
    private let claimed = Atomic<Bool>(false)

    init(processDescriptor: Int32, standardOutput: Int32, standardError: Int32) {
        self.processDescriptor = processDescriptor
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    /// A second claim would close descriptors that may by then belong to someone else.
    func claim() {
        let (first, _) = claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        precondition(first, "a RunningLaunch can be waited for or supervised only once")
    }

    /// A run dropped without supervision at least gives its descriptors back.
    deinit {
        if !claimed.load(ordering: .acquiring) {
            [processDescriptor, standardOutput, standardError].forEach(SystemCalls.close)
        }
    }
}

/// Run leaders this process has spawned and not yet reaped, so that reaping adopted orphans
/// (as a child subreaper) can never take a leader's exit status from its supervisor.
enum LeaderRegistry {
    private struct State {
        var leaders: [Int32: Int] = [:]
        var spawnsInFlight = 0
        var generation: UInt64 = 0
    }

    private static let state = Mutex(State())

    /// Wraps the spawn: between its start and the registration of the new pid, no orphan is reaped.
    static func spawn(_ body: () throws(SystemError) -> Int32) throws(SystemError) -> Int32 {
        state.withLock { $0.spawnsInFlight += 1; $0.generation &+= 1 }
        do throws(SystemError) {
            let pid = try body()
            state.withLock { $0.leaders[pid, default: 0] += 1; $0.spawnsInFlight -= 1 }
            return pid
        } catch {
            state.withLock { $0.spawnsInFlight -= 1 }
            throw error
        }
    }

    /// After the leader has been reaped. Counted, because its pid may already be reused.
    static func release(_ pid: Int32) {
        state.withLock { state in
            let count = (state.leaders[pid] ?? 1) - 1
            state.leaders[pid] = count > 0 ? count : nil
        }
    }

    /// Reaps ended children that are not run leaders: orphans a subreaper adopted. Stops at
    /// the first ended leader (its supervisor reaps it) and whenever a spawn might be racing.
    static func reapAdoptedOrphans() {
        for _ in 0..<256 {
            let before = state.withLock { ($0.generation, $0.spawnsInFlight) }
            guard before.1 == 0, let pid = (try? SystemCalls.peekEndedChild()) ?? nil else { return }
            let isOrphan = state.withLock { $0.generation == before.0 && $0.spawnsInFlight == 0 && $0.leaders[pid] == nil }
            guard isOrphan else { return }
            _ = try? SystemCalls.reap(pid: pid)
        }
    }
}

/// What a run's supervisor waits on.
enum WatchedRole: Equatable {
    case leader
    case output(OutputStream)
}

/// One run from spawn to completion: reaps the leader through its pidfd, drains output into
/// the capture, enforces the timeout, and removes the credentials at the end. Every handler is
/// non-blocking and safe to call when nothing is ready, so any readiness loop can drive it.
final class SupervisedRun {
    let launch: RunningLaunch
    /// Closes a descriptor the run is done with; a readiness loop unregisters it first.
    private let retire: (Int32) -> Void
    private var capture: OutputCapture
    private var processDescriptor: Int32?
    private var standardOutput: Int32?
    private var standardError: Int32?
    private let timeoutAt: ContinuousClock.Instant?
    private var escalation: TimeoutSignal?
    private var killAt: ContinuousClock.Instant?
    private var leader = Leader.running
    private var leaderEndedAt: ContinuousClock.Instant?
    private var drainUntil: ContinuousClock.Instant?
    private var drainCutShort = false

    init(_ launch: RunningLaunch, retire: @escaping (Int32) -> Void = SystemCalls.close) {
        launch.resources.claim()
        self.launch = launch
        self.retire = retire
        let resources = launch.resources
        capture = OutputCapture(path: launch.limits.outputPath, cap: launch.limits.outputCapBytes,
                                digest: launch.limits.makeDigest())
        processDescriptor = resources.processDescriptor
        standardOutput = resources.standardOutput
        standardError = resources.standardError
        timeoutAt = launch.limits.timeout.map { launch.startedAt + $0 }
    }

    /// The leader's status is nil when something else in this process reaped it.
    private enum Leader {
        case running
        case ended(ChildStatus?)
    }

    private var leaderRunning: Bool {
        if case .running = leader { return true }
        return false
    }

    var isFinished: Bool { !leaderRunning && standardOutput == nil && standardError == nil }

    /// Descriptors still worth waiting on.
    var watched: [(descriptor: Int32, role: WatchedRole)] {
        var result: [(Int32, WatchedRole)] = []
        if let processDescriptor { result.append((processDescriptor, .leader)) }
        if let standardOutput { result.append((standardOutput, .output(.standardOutput))) }
        if let standardError { result.append((standardError, .output(.standardError))) }
        return result
    }

    /// When the run next needs attention without any descriptor becoming ready.
    var nextDeadline: ContinuousClock.Instant? {
        guard !leaderRunning else {
            switch escalation {
            case nil: return timeoutAt
            case .terminate: return killAt
            case .kill: return nil
            }
        }
        return standardOutput == nil && standardError == nil ? nil : drainUntil
    }

    func handle(_ role: WatchedRole, buffer: inout [UInt8], now: ContinuousClock.Instant) {
        switch role {
        case .leader: leaderMayHaveEnded(now: now)
        case .output(let stream): readOutput(stream, buffer: &buffer)
        }
    }

    /// Reaps the leader if it has ended. A timed-out run's group is SIGKILLed first, while the
    /// unreaped leader still pins the group id: what is left of it must not outlive the run.
    private func leaderMayHaveEnded(now: ContinuousClock.Instant) {
        guard leaderRunning, let descriptor = processDescriptor else { return }
        do throws(SystemError) {
            if escalation != nil {
                guard try SystemCalls.hasEnded(processDescriptor: descriptor) else { return }
                try SystemCalls.signalGroup(launch.pid, SIGKILL)
            }
            guard let status = try SystemCalls.reap(processDescriptor: descriptor, blocking: false) else { return }
            leader = .ended(status)
        } catch {
            // Someone else in this process reaped it (SIGCHLD ignored, a stray waitpid(-1)).
            leader = .ended(nil)
        }
        LeaderRegistry.release(launch.pid)
        retire(descriptor)
        processDescriptor = nil
        leaderEndedAt = now
        drainUntil = now + launch.limits.drainGrace
    }

    /// A few reads per call, so one chatty run cannot starve the others in a shared loop.
    private func readOutput(_ stream: OutputStream, buffer: inout [UInt8]) {
        guard let descriptor = stream == .standardOutput ? standardOutput : standardError else { return }
        for _ in 0..<4 {
            switch (try? SystemCalls.read(descriptor, into: &buffer)) ?? .endOfFile {
            case .bytes(let count):
                capture.append(buffer[..<count], from: stream)
            case .wouldBlock:
                return
            case .endOfFile:
                closeOutput(stream)
                return
            }
        }
    }

    private func closeOutput(_ stream: OutputStream) {
        switch stream {
        case .standardOutput: standardOutput.map(retire); standardOutput = nil
        case .standardError: standardError.map(retire); standardError = nil
        }
    }

    /// Timeout: SIGTERM to the group, SIGKILL after the grace. After the leader: stop waiting
    /// for output that something outside the run still holds open.
    func handleDeadlines(now: ContinuousClock.Instant) {
        if leaderRunning {
            if escalation == nil, let timeoutAt, now >= timeoutAt {
                _ = try? SystemCalls.signalGroup(launch.pid, SIGTERM)
                escalation = .terminate
                killAt = now + launch.limits.killGrace
            }
            if escalation == .terminate, let killAt, now >= killAt {
                _ = try? SystemCalls.signalGroup(launch.pid, SIGKILL)
                escalation = .kill
            }
        } else if let drainUntil, now >= drainUntil, standardOutput != nil || standardError != nil {
            drainCutShort = true
            closeOutput(.standardOutput)
            closeOutput(.standardError)
        }
    }

    /// Once `isFinished`: summarises, and removes the credentials however the run ended.
    func complete() -> LaunchCompletion {
        let status: ChildStatus? = if case .ended(let status) = leader { status } else { nil }
        let outcome: RunOutcome = switch (escalation, status) {
        case (let signal?, _): .timedOut(signalUsed: signal)
        case (nil, .exited(let code)?): .exited(code: code)
        case (nil, .signaled(let signal)?): .signaled(signal: signal)
        case (nil, nil): .statusUnavailable
        }
        let ended = leaderEndedAt ?? .now
        let elapsed = (ended - launch.startedAt).components
        let milliseconds = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        let credentials = launch.credentialsDirectory.map(CredentialStaging.remove) ?? .notNeeded
        return LaunchCompletion(runID: launch.runID, pid: launch.pid, outcome: outcome, durationMilliseconds: milliseconds,
                                spawnedAt: launch.spawnedAt,
                                output: capture.finish(drainCutShort: drainCutShort), account: launch.account,
                                developmentRun: launch.developmentRun, loginUIDWarning: launch.loginUIDWarning,
                                credentials: credentials)
    }
}

extension ContinuousClock.Instant {
    /// For poll and epoll: rounded up, so a wait never ends just before its deadline and spins.
    static func milliseconds(until deadline: ContinuousClock.Instant?, from now: ContinuousClock.Instant) -> Int32 {
        guard let deadline else { return -1 }
        guard deadline > now else { return 0 }
        let parts = (deadline - now).components
        let milliseconds = parts.seconds * 1000 + (parts.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }
}
