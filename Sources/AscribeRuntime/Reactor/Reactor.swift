import Dispatch
import Synchronization
import AscribeSystem

/// Names one registration on a reactor: a watched descriptor, a timer or a shutdown hook.
/// Tokens are never reused, so a stale one retires or cancels nothing.
public struct ReactorToken: Hashable, Sendable {
    let value: UInt64
}

/// The daemon's one event loop: one thread, one level-triggered epoll set, one wake-up
/// eventfd. The control socket, the jobs-directory watcher and the supervision of every run
/// register their descriptors, timers and shutdown hooks on it, instead of each keeping a
/// blocking loop, a mailbox and an eventfd of its own on a thread of its own.
///
/// Other threads hand work to the loop with `execute` (or `perform`, which waits for it);
/// the work and every handler run on the reactor's thread, one at a time, and get the
/// `ReactorLoop`, through which alone registrations are made. State a user keeps between
/// handlers lives in a `ReactorBound` box that only that thread opens; a handler, timer or
/// hook keeps what it captures alive until it is retired, cancelled or shut down, so users
/// capture their state strongly and let go of it by retiring. Handlers must not block:
/// descriptors are read and written without blocking, and a handler called when nothing is
/// ready does nothing.
///
/// `shutdown` (or the last reference going away) runs the work already handed over, then
/// each shutdown hook, then unregisters and closes every descriptor still registered, and
/// returns once the thread has ended.
public final class Reactor: Sendable {
    /// What `/proc/self/task/*/comm` shows for the reactor's thread.
    public static let threadName = "ascribe-reactor"

    /// Shared with the thread, and with each `ReactorBound` made for this reactor.
    fileprivate let core: ReactorCore
    private let thread: SystemThread

    public init() throws(SystemError) {
        let epoll = try EventPoll.makeDescriptor()
        let core: ReactorCore
        do throws(SystemError) {
            core = ReactorCore(wake: FileDescriptor(owning: try SystemCalls.makeEventDescriptor()))
        } catch {
            SystemCalls.close(epoll)
            throw error
        }
        do throws(SystemError) {
            // The loop's state is built on its own thread and never leaves it.
            thread = try SystemThread.start(name: Self.threadName) {
                ReactorLoop(core: core, poll: EventPoll(descriptor: epoll)).run()
            }
        } catch {
            SystemCalls.close(epoll)
            throw error
        }
        self.core = core
    }

    /// Runs `work` on the reactor's thread, after the work handed over before it. False when
    /// the reactor is shutting down or has shut down: `work` will not run.
    @discardableResult
    public func execute(_ work: @escaping @Sendable (ReactorLoop) -> Void) -> Bool {
        core.submit(work)
    }

    /// `execute` with the state in `box`.
    @discardableResult
    public func execute<Value>(_ box: ReactorBound<Value>, _ work: @escaping @Sendable (Value, ReactorLoop) -> Void) -> Bool {
        core.submit { loop in work(box.open(on: loop), loop) }
    }

    /// `execute`, and waits until `work` has run; false (without waiting) when it will not
    /// run. On the reactor's own thread (a deinit there, say) it cannot wait for itself: the
    /// work runs right after what is running now.
    @discardableResult
    public func perform(_ work: @escaping @Sendable (ReactorLoop) -> Void) -> Bool {
        guard !thread.isCurrent else { return execute(work) }
        let done = Completion()
        guard execute({ loop in
            work(loop)
            done.signal()
        }) else { return false }
        done.wait()
        return true
    }

    /// `perform` with the state in `box`.
    @discardableResult
    public func perform<Value>(_ box: ReactorBound<Value>, _ work: @escaping @Sendable (Value, ReactorLoop) -> Void) -> Bool {
        perform { loop in work(box.open(on: loop), loop) }
    }

    /// Stops the loop (see the type's comment) and waits for its thread to end. Safe to call
    /// more than once and from any thread; on the reactor's own thread it does not wait.
    public func shutdown() {
        core.requestStop()
        thread.join()
    }

    deinit { shutdown() }
}

/// A value that lives on one reactor's thread. Any thread may hold the box and hand it to
/// `Reactor.execute`; only code running on that reactor (given its `ReactorLoop`) opens it.
public final class ReactorBound<Value>: @unchecked Sendable {
    // Why this is Sendable: `value` is taken in as `sending` (no one else holds it) and is only
    // reachable through `open(on:)`, which requires the `ReactorLoop` of the reactor the box
    // was made for (checked). A `ReactorLoop` is not Sendable and exists only on its
    // reactor's thread, so every access to `value` happens on that one thread, one at a time.
    private let value: Value
    private let core: ReactorCore

    public init(_ value: sending Value, on reactor: Reactor) {
        self.value = value
        core = reactor.core
    }

    public func open(on loop: ReactorLoop) -> Value {
        precondition(loop.core === core, "a ReactorBound value opened on another reactor")
        return value
    }
}

/// What the reactor's handle and its thread share: the inbox of work and the wake-up eventfd.
final class ReactorCore: Sendable {
    struct Inbox {
        var work: [@Sendable (ReactorLoop) -> Void] = []
        var stopping = false
    }

    let wake: FileDescriptor
    let inbox = Mutex(Inbox())

    init(wake: consuming FileDescriptor) {
        self.wake = wake
    }

    func submit(_ work: @escaping @Sendable (ReactorLoop) -> Void) -> Bool {
        let accepted = inbox.withLock { inbox in
            guard !inbox.stopping else { return false }
            inbox.work.append(work)
            return true
        }
        if accepted { SystemCalls.signalEvent(wake.rawValue) }
        return accepted
    }

    func requestStop() {
        inbox.withLock { $0.stopping = true }
        SystemCalls.signalEvent(wake.rawValue)
    }
}

/// A one-shot signal from the reactor's thread to a thread waiting in `perform`.
private final class Completion: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    func signal() { semaphore.signal() }
    func wait() { semaphore.wait() }
}

/// The reactor's thread's side: registrations, timers and hooks. Confined to that thread;
/// handlers, timers and work get it as their argument.
public final class ReactorLoop {
    /// How often descriptors epoll refused (out of watches) are polled instead.
    static let unwatchedPollInterval = Duration.milliseconds(20)
    private static let wakeToken: UInt64 = 0

    private final class Registration {
        let descriptor: FileDescriptor
        let handler: (ReactorLoop) -> Void

        init(descriptor: consuming FileDescriptor, handler: @escaping (ReactorLoop) -> Void) {
            self.descriptor = descriptor
            self.handler = handler
        }
    }

    private struct Timer {
        var deadline: ContinuousClock.Instant
        var body: (ReactorLoop) -> Void
    }

    let core: ReactorCore
    private let poll: EventPoll
    private var registrations: [UInt64: Registration] = [:]
    /// Registrations epoll refused: their handlers run every `unwatchedPollInterval`.
    private var unwatched: Set<UInt64> = []
    private var timers: [UInt64: Timer] = [:]
    private var hooks: [UInt64: (ReactorLoop) -> Void] = [:]
    private var nextToken: UInt64 = 1
    private var wakeWatched = false

    init(core: ReactorCore, poll: EventPoll) {
        self.core = core
        self.poll = poll
    }

    private func makeToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    /// Watches `descriptor` for input (or hang-up) and runs `handler` on each turn it is
    /// ready (level-triggered). The reactor owns the descriptor from now on: `retire` (or the
    /// shutdown) unregisters and closes it. A descriptor epoll refuses is polled instead.
    @discardableResult
    public func register(_ descriptor: consuming FileDescriptor, _ handler: @escaping (ReactorLoop) -> Void) -> ReactorToken {
        let token = makeToken()
        let raw = descriptor.rawValue
        registrations[token] = Registration(descriptor: descriptor, handler: handler)
        if (try? poll.add(raw, token: token)) == nil { unwatched.insert(token) }
        return ReactorToken(value: token)
    }

    /// The number of a registered descriptor, lent while it stays registered.
    public func descriptor(of token: ReactorToken) -> Int32? {
        registrations[token.value]?.descriptor.rawValue
    }

    /// Unregisters and closes a descriptor; its handler is not called again, even later in
    /// the turn that is running. Unregistering before closing matters: a child being spawned
    /// on another thread briefly holds a copy of every descriptor, so a closed but still
    /// registered pipe at EOF would keep the loop spinning (`EventPoll.retire`).
    public func retire(_ token: ReactorToken) {
        guard let registration = registrations.removeValue(forKey: token.value) else { return }
        unwatched.remove(token.value)
        poll.remove(registration.descriptor.rawValue)
    }

    /// Runs `body` once, on the first turn at or after `deadline`.
    @discardableResult
    public func schedule(at deadline: ContinuousClock.Instant, _ body: @escaping (ReactorLoop) -> Void) -> ReactorToken {
        let token = makeToken()
        timers[token] = Timer(deadline: deadline, body: body)
        return ReactorToken(value: token)
    }

    /// Runs `body` when the reactor shuts down with this hook still in place, before the
    /// descriptors still registered are closed.
    @discardableResult
    public func onShutdown(_ body: @escaping (ReactorLoop) -> Void) -> ReactorToken {
        let token = makeToken()
        hooks[token] = body
        return ReactorToken(value: token)
    }

    /// Cancels a timer or a shutdown hook.
    public func cancel(_ token: ReactorToken) {
        timers[token.value] = nil
        hooks[token.value] = nil
    }

    func run() {
        wakeWatched = (try? poll.add(core.wake.rawValue, token: Self.wakeToken)) != nil
        while true {
            for token in poll.wait(timeoutMilliseconds: timeout()) {
                if token == Self.wakeToken {
                    SystemCalls.drainEvent(core.wake.rawValue)
                } else {
                    registrations[token]?.handler(self)
                }
            }
            for token in unwatched.sorted() { registrations[token]?.handler(self) }
            let (work, stopping) = core.inbox.withLock { inbox in
                defer { inbox.work = [] }
                return (inbox.work, inbox.stopping)
            }
            for item in work { item(self) }
            fireTimers()
            if stopping { break }
        }
        finish()
    }

    /// Work handed over before the stop, then the hooks, then every descriptor closed.
    private func finish() {
        let work = core.inbox.withLock { inbox in
            defer { inbox.work = [] }
            return inbox.work
        }
        for item in work { item(self) }
        while let (token, hook) = hooks.min(by: { $0.key < $1.key }) {
            hooks[token] = nil
            hook(self)
        }
        timers = [:]
        for token in registrations.keys.sorted() { retire(ReactorToken(value: token)) }
        poll.remove(core.wake.rawValue)
    }

    private func fireTimers() {
        let now = ContinuousClock.now
        let due = timers.filter { $0.value.deadline <= now }.sorted { ($0.value.deadline, $0.key) < ($1.value.deadline, $1.key) }
        for (token, _) in due {
            guard let timer = timers.removeValue(forKey: token) else { continue }
            timer.body(self)
        }
    }

    /// Until the earliest timer; at most `unwatchedPollInterval` while something is polled.
    private func timeout() -> Int32 {
        let now = ContinuousClock.now
        var earliest = timers.values.lazy.map(\.deadline).min()
        if !unwatched.isEmpty || !wakeWatched {
            let poll = now + Self.unwatchedPollInterval
            earliest = min(earliest ?? poll, poll)
        }
        return ContinuousClock.Instant.milliseconds(until: earliest, from: now)
    }
}
