import Dispatch
import Synchronization
import AscribeSystem

/// Supervises any number of runs on one thread: a single epoll loop over every run's pidfd
/// and output pipes, with timeouts from the runs' deadlines. Completions arrive on
/// `completions` as runs end, in the order they end.
public final class RunSupervisor: Sendable {
    public let completions: AsyncStream<LaunchCompletion>
    private let mailbox: SupervisorMailbox

    public convenience init() throws(SystemError) {
        try self.init(reapOrphans: false)
    }

    /// With `reapOrphans`, the process becomes a child subreaper (PR_SET_CHILD_SUBREAPER):
    /// processes a job leaves behind are re-parented to it instead of to init, and this
    /// supervisor reaps them. Choose it only in a process whose children all come from the
    /// launcher: any other ended child would be reaped too. Internal: no caller outside the
    /// tests chooses it yet (docs/LAUNCH.md).
    init(reapOrphans: Bool) throws(SystemError) {
        let epoll = try EventPoll.makeDescriptor()
        let wake: Int32
        do throws(SystemError) {
            wake = try SystemCalls.makeEventDescriptor()
            if reapOrphans { try SystemCalls.setChildSubreaper(true) }
        } catch {
            SystemCalls.close(epoll)
            throw error
        }
        let mailbox = SupervisorMailbox(wake: wake)
        let (stream, continuation) = AsyncStream.makeStream(of: LaunchCompletion.self)
        completions = stream
        self.mailbox = mailbox
        // The loop's state is built on its own thread and never leaves it.
        DispatchQueue(label: "ascribe.run-supervisor").async {
            SupervisorLoop(poll: EventPoll(descriptor: epoll), mailbox: mailbox, continuation: continuation,
                           reapOrphans: reapOrphans).run()
        }
    }

    /// Hands a started run over. Each `RunningLaunch` goes to exactly one supervisor or wait.
    public func supervise(_ running: RunningLaunch) {
        let accepted = mailbox.state.withLock { state in
            guard !state.finishing else { return false }
            state.pending.append(running)
            return true
        }
        precondition(accepted, "RunSupervisor.supervise(_:) called after finish()")
        SystemCalls.signalEvent(mailbox.wake)
    }

    /// Accepts no more runs; `completions` ends once the runs already handed over have ended.
    public func finish() {
        mailbox.state.withLock { $0.finishing = true }
        SystemCalls.signalEvent(mailbox.wake)
    }

    deinit { finish() }
}

/// What other threads hand to the loop: new runs, and the request to finish.
final class SupervisorMailbox: Sendable {
    struct State {
        var pending: [RunningLaunch] = []
        var finishing = false
    }

    let wake: Int32
    let state = Mutex(State())

    init(wake: Int32) { self.wake = wake }

    /// The loop keeps the mailbox alive, so the eventfd outlives every use of it.
    deinit { SystemCalls.close(wake) }
}

/// The loop itself; confined to its thread.
private final class SupervisorLoop {
    private static let wakeToken = UInt64.max
    /// How often ended orphans are looked for, when this loop reaps them.
    private static let orphanSweepInterval = Duration.milliseconds(250)
    /// How often runs epoll could not watch are polled.
    private static let unwatchedPollInterval = Duration.milliseconds(20)

    private let poll: EventPoll
    private let mailbox: SupervisorMailbox
    private let continuation: AsyncStream<LaunchCompletion>.Continuation
    private let reapOrphans: Bool
    private var runs: [UInt64: SupervisedRun] = [:]
    /// Runs whose descriptors epoll refused (out of watches): polled on a short interval.
    private var unwatched: Set<UInt64> = []
    private var nextRunNumber: UInt64 = 0
    private var nextSweep = ContinuousClock.now
    private var wakeWatched = false

    init(poll: EventPoll, mailbox: SupervisorMailbox, continuation: AsyncStream<LaunchCompletion>.Continuation, reapOrphans: Bool) {
        self.poll = poll
        self.mailbox = mailbox
        self.continuation = continuation
        self.reapOrphans = reapOrphans
    }

    func run() {
        // Without its wake-up descriptor the loop still sees new runs, on the polling interval.
        wakeWatched = (try? poll.add(mailbox.wake, token: Self.wakeToken)) != nil
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var finishing = false
        while !(finishing && runs.isEmpty) {
            let tokens = poll.wait(timeoutMilliseconds: timeout())
            var now = ContinuousClock.now
            var woken = !wakeWatched
            for token in tokens {
                guard token != Self.wakeToken else {
                    woken = true
                    continue
                }
                guard let run = runs[token >> 2] else { continue }
                let role: WatchedRole = switch token & 3 {
                case 0: .leader
                case 1: .output(.standardOutput)
                default: .output(.standardError)
                }
                run.handle(role, buffer: &buffer, now: now)
            }
            for number in unwatched {
                guard let run = runs[number] else { continue }
                for (_, role) in run.watched { run.handle(role, buffer: &buffer, now: now) }
            }
            if woken { finishing = admitPending() }
            now = ContinuousClock.now
            var finished: [UInt64] = []
            for (number, run) in runs {
                if let deadline = run.nextDeadline, deadline <= now { run.handleDeadlines(now: now) }
                if run.isFinished { finished.append(number) }
            }
            for number in finished {
                guard let run = runs.removeValue(forKey: number) else { continue }
                unwatched.remove(number)
                continuation.yield(run.complete())
            }
            if reapOrphans, now >= nextSweep {
                LeaderRegistry.reapAdoptedOrphans()
                nextSweep = now + Self.orphanSweepInterval
            }
        }
        continuation.finish()
    }

    /// Registers new runs; returns whether the supervisor is finishing.
    private func admitPending() -> Bool {
        SystemCalls.drainEvent(mailbox.wake)
        let (pending, finishing) = mailbox.state.withLock { state in
            defer { state.pending = [] }
            return (state.pending, state.finishing)
        }
        for running in pending {
            let number = nextRunNumber
            nextRunNumber += 1
            let run = SupervisedRun(running, retire: poll.retire)
            runs[number] = run
            for (descriptor, role) in run.watched {
                let kind: UInt64 = switch role {
                case .leader: 0
                case .output(.standardOutput): 1
                case .output(.standardError): 2
                }
                if (try? poll.add(descriptor, token: number << 2 | kind)) == nil { unwatched.insert(number) }
            }
        }
        return finishing
    }

    /// Until the earliest run deadline, the next orphan sweep, or the next poll of unwatched runs.
    private func timeout() -> Int32 {
        let now = ContinuousClock.now
        var earliest: ContinuousClock.Instant?
        for run in runs.values {
            if let deadline = run.nextDeadline, earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
        }
        if reapOrphans { earliest = min(earliest ?? nextSweep, nextSweep) }
        if !unwatched.isEmpty || !wakeWatched { earliest = min(earliest ?? now + Self.unwatchedPollInterval, now + Self.unwatchedPollInterval) }
        return ContinuousClock.Instant.milliseconds(until: earliest, from: now)
    }
}
