import Glibc
import Synchronization
import AscribeSystem

/// Supervises any number of runs on a `Reactor`: every run's pidfd and output pipes are
/// registered on its one epoll set, with a timer for each run's next deadline. Completions
/// arrive on `completions` as runs end, in the order they end. Any number of supervisors
/// (the daemon's batches) share one reactor, and so one thread.
public final class RunSupervisor: Sendable {
    public let completions: AsyncStream<LaunchCompletion>
    private let continuation: AsyncStream<LaunchCompletion>.Continuation
    private let reactor: Reactor
    private let state: ReactorBound<SupervisorState>
    private let finishing = Atomic<Bool>(false)

    /// With `reapOrphans`, the process becomes a child subreaper (PR_SET_CHILD_SUBREAPER):
    /// processes a job leaves behind are re-parented to it instead of to init, and this
    /// supervisor reaps them. Choose it only in a process whose children all come from the
    /// launcher: any other ended child would be reaped too. Internal: no caller outside the
    /// tests chooses it yet (docs/LAUNCH.md).
    init(reactor: Reactor, reapOrphans: Bool) throws(SystemError) {
        if reapOrphans { try SystemCalls.setChildSubreaper(true) }
        let (stream, continuation) = AsyncStream.makeStream(of: LaunchCompletion.self)
        completions = stream
        self.continuation = continuation
        self.reactor = reactor
        state = ReactorBound(SupervisorState(continuation: continuation, reapOrphans: reapOrphans), on: reactor)
        guard reactor.execute(state, { state, loop in state.start(on: loop) }) else {
            continuation.finish()
            throw SystemError(code: ESHUTDOWN, call: "supervise", context: "the event loop has stopped")
        }
    }

    /// A supervisor with a reactor of its own, whose thread ends with the supervisor: for a
    /// process that supervises one batch (`ascribe run`), not for the daemon.
    public convenience init() throws(SystemError) {
        try self.init(reactor: Reactor(), reapOrphans: false)
    }

    /// A supervisor on the daemon's reactor, one per batch of runs.
    public convenience init(reactor: Reactor) throws(SystemError) {
        try self.init(reactor: reactor, reapOrphans: false)
    }

    convenience init(reapOrphans: Bool) throws(SystemError) {
        try self.init(reactor: Reactor(), reapOrphans: reapOrphans)
    }

    /// Hands a started run over. Each `RunningLaunch` goes to exactly one supervisor or wait.
    /// A run handed to a reactor that has shut down is never reported (it stays unaccounted).
    public func supervise(_ running: RunningLaunch) {
        precondition(!finishing.load(ordering: .acquiring), "RunSupervisor.supervise(_:) called after finish()")
        reactor.execute(state) { state, loop in state.admit(running, on: loop) }
    }

    /// Accepts no more runs; `completions` ends once the runs already handed over have ended.
    public func finish() {
        guard !finishing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if !reactor.execute(state, { state, loop in state.finish(on: loop) }) { continuation.finish() }
    }

    deinit { finish() }
}

/// The supervisor's state; it lives on the reactor's thread only.
private final class SupervisorState {
    /// How often ended orphans are looked for, when this supervisor reaps them.
    private static let orphanSweepInterval = Duration.milliseconds(250)

    private struct Supervised {
        var run: SupervisedRun
        /// Each watched descriptor's registration, by its number.
        var registrations: [Int32: ReactorToken] = [:]
        var timer: ReactorToken?
        var timerDeadline: ContinuousClock.Instant?
    }

    private let continuation: AsyncStream<LaunchCompletion>.Continuation
    private let reapOrphans: Bool
    private var runs: [UInt64: Supervised] = [:]
    private var nextRunNumber: UInt64 = 0
    private var finishing = false
    private var ended = false
    private var sweepTimer: ReactorToken?
    private var shutdownHook: ReactorToken?
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(continuation: AsyncStream<LaunchCompletion>.Continuation, reapOrphans: Bool) {
        self.continuation = continuation
        self.reapOrphans = reapOrphans
    }

    func start(on loop: ReactorLoop) {
        // A reactor shutting down with runs still here ends the stream: they stay unaccounted.
        shutdownHook = loop.onShutdown { loop in self.end(on: loop) }
        if reapOrphans { sweep(on: loop) }
    }

    private func sweep(on loop: ReactorLoop) {
        LeaderRegistry.reapAdoptedOrphans()
        sweepTimer = loop.schedule(at: .now + Self.orphanSweepInterval) { loop in self.sweep(on: loop) }
    }

    func admit(_ running: RunningLaunch, on loop: ReactorLoop) {
        guard !ended else { return }
        let number = nextRunNumber
        nextRunNumber += 1
        let run = SupervisedRun(running) { [weak self] descriptor in
            guard let token = self?.runs[number]?.registrations.removeValue(forKey: descriptor) else { return }
            loop.retire(token)
        }
        var supervised = Supervised(run: run)
        for (descriptor, role) in run.watched {
            supervised.registrations[descriptor] = loop.register(FileDescriptor(owning: descriptor)) { loop in
                self.handle(role, of: number, on: loop)
            }
        }
        runs[number] = supervised
        settle(number, on: loop)
    }

    func finish(on loop: ReactorLoop) {
        finishing = true
        if runs.isEmpty { end(on: loop) }
    }

    private func handle(_ role: WatchedRole, of number: UInt64, on loop: ReactorLoop) {
        guard let run = runs[number]?.run else { return }
        run.handle(role, buffer: &buffer, now: .now)
        settle(number, on: loop)
    }

    /// After anything happened to a run: reports it once finished, else sets its timer for
    /// its next deadline.
    private func settle(_ number: UInt64, on loop: ReactorLoop) {
        guard var supervised = runs[number] else { return }
        if supervised.run.isFinished {
            runs[number] = nil
            if let timer = supervised.timer { loop.cancel(timer) }
            continuation.yield(supervised.run.complete())
            if finishing && runs.isEmpty { end(on: loop) }
            return
        }
        let deadline = supervised.run.nextDeadline
        guard deadline != supervised.timerDeadline else { return }
        if let timer = supervised.timer { loop.cancel(timer) }
        supervised.timer = deadline.map { deadline in
            loop.schedule(at: deadline) { loop in
                guard let run = self.runs[number]?.run else { return }
                self.runs[number]?.timer = nil
                self.runs[number]?.timerDeadline = nil
                run.handleDeadlines(now: .now)
                self.settle(number, on: loop)
            }
        }
        supervised.timerDeadline = deadline
        runs[number] = supervised
    }

    /// Ends the stream and lets go of everything on the reactor.
    private func end(on loop: ReactorLoop) {
        guard !ended else { return }
        ended = true
        for supervised in runs.values {
            if let timer = supervised.timer { loop.cancel(timer) }
            for token in supervised.registrations.values { loop.retire(token) }
        }
        runs = [:]
        for token in [sweepTimer, shutdownHook].compactMap({ $0 }) { loop.cancel(token) }
        sweepTimer = nil
        shutdownHook = nil
        continuation.finish()
    }
}
