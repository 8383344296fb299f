import Foundation
import Synchronization
import AscribeCore
import AscribeRuntime

/// A wall clock the test moves by hand: `sleep` returns when the test advances past the
/// deadline (or the sleeping task is cancelled), so a day of slots takes milliseconds.
/// Like the real clock, a sleep is a duration on a clock that only moves forward: moving the
/// wall clock back by N seconds still lets N seconds of sleep pass.
package final class FakeDaemonClock: DaemonClock {
    private struct Sleeper {
        /// In `elapsed` seconds.
        var deadline: Int64
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var now: Instant
        /// Seconds of time that have passed, whichever way the wall clock was moved.
        var elapsed: Int64 = 0
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
    }

    private let state: Mutex<State>

    package init(now: Instant) {
        state = Mutex(State(now: now))
    }

    package func now() -> Instant { state.withLock { $0.now } }

    package func sleep(until deadline: Instant) async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let wakeNow = state.withLock { state in
                    if deadline <= state.now || Task.isCancelled { return true }
                    let wait = deadline.secondsSinceEpoch - state.now.secondsSinceEpoch
                    state.sleepers[id] = Sleeper(deadline: state.elapsed + wait, continuation: continuation)
                    return false
                }
                if wakeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    /// Moves the wall clock (back, for a negative step) and wakes every sleeper whose sleep has
    /// passed.
    package func advance(by seconds: Int64) {
        let woken = state.withLock { state in
            state.now = state.now.adding(seconds: seconds)
            state.elapsed += abs(seconds)
            let due = state.sleepers.filter { $0.value.deadline <= state.elapsed }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Steps the wall clock (either way) and wakes every sleeper, as the daemon's capped
    /// monotonic sleep ends in production and it then reads the stepped clock.
    package func step(by seconds: Int64) {
        let woken = state.withLock { state in
            state.now = state.now.adding(seconds: seconds)
            let all = state.sleepers.values.map(\.continuation)
            state.sleepers = [:]
            return all
        }
        for continuation in woken { continuation.resume() }
    }

    /// Moves the clock, then waits until `daemon` has handled the new instant and every run it
    /// started has been recorded.
    package func advance(by seconds: Int64, settling daemon: Daemon) async {
        advance(by: seconds)
        await waitForSleeper()
        await DaemonHarness.waitUntilIdle(daemon)
    }

    /// Whether the daemon is asleep (done with the current instant).
    package var hasSleeper: Bool { state.withLock { !$0.sleepers.isEmpty } }

    /// Waits (real time, polling) until the daemon is asleep again, i.e. done with this instant.
    package func waitForSleeper() async {
        while state.withLock({ $0.sleepers.isEmpty }) { try? await Task.sleep(for: .milliseconds(2)) }
    }
}

/// A daemon in this process over a scratch jobs and state directory, driven by a fake clock.
package struct DaemonHarness {
    package let root: String
    package var jobs: String { root + "/jobs" }
    package var state: String { root + "/state" }
    package var storePath: String { DefaultPaths.eventStore(stateDirectory: state) }

    /// Slots are whole minutes; start on an hour so `*/15` lands exactly.
    package static func startOfHour() -> Instant {
        let now = SystemClock.now().secondsSinceEpoch
        return Instant(secondsSinceEpoch: now - now % 3600)
    }

    package init() throws {
        root = ScratchSweep.directory(prefix: "ascribe-daemon-")
        try FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
    }

    /// A command that stays in progress until `openGate()`, however slow the machine: overlap
    /// tests must not depend on a real `sleep` outlasting the test's own steps.
    package var gatedCommand: String { "/bin/sh -c 'while [ ! -e \(root)/gate ]; do sleep 0.02; done'" }

    package func openGate() {
        _ = FileManager.default.createFile(atPath: root + "/gate", contents: nil)
    }

    /// A job running `command` (argv), as nobody when root, else in dev mode as the tester.
    package func job(_ name: String, schedule: String, command: String, _ extra: [String] = []) throws {
        var lines = ["schedule = \(schedule)", "identity = \(name)-runner", "owner = test-team <test@example.com>",
                     "command = \(command)"]
        if isRoot { lines.append("run-as = nobody") }
        lines += extra
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(jobs)/\(name).job", atomically: true, encoding: .utf8)
    }

    package func configuration() -> DaemonConfiguration {
        var configuration = DaemonConfiguration(
            jobsDirectory: jobs, stateDirectory: state, credentialStore: state + "/credentials",
            development: !isRoot, host: "testhost", defaultZone: .utc, control: ControlAccess(group: nil))
        // Tests that change files call reload() themselves; the watcher has its own test.
        configuration.watchJobsDirectory = false
        configuration.drainGrace = .seconds(5)
        configuration.terminateGrace = .seconds(2)
        return configuration
    }

    /// Starts the daemon; returns it and the task that ends with its outcome.
    package func start(clock: FakeDaemonClock, configure: (inout DaemonConfiguration) -> Void = { _ in })
        async -> (Daemon, Task<DaemonOutcome, Never>) {
        var configuration = configuration()
        configure(&configuration)
        let daemon = Daemon(configuration: configuration, clock: clock)
        let task = Task { await daemon.run() }
        await clock.waitForSleeper()
        return (daemon, task)
    }

    /// Waits (real time) until no run is in progress, queued or being recorded.
    package static func waitUntilIdle(_ daemon: Daemon) async {
        while await !daemon.isIdle { try? await Task.sleep(for: .milliseconds(5)) }
    }

    package func events() throws -> [Event] {
        let store = try EventStore.open(path: storePath, access: .readOnly)
        return try store.events(matching: EventFilter(order: .oldestFirst))
    }

    package func seed(_ drafts: [EventDraft]) throws {
        let store = try EventStore.open(path: storePath)
        try store.append(drafts)
    }

    /// One control request from this process, as `ascribe` would send it; every reply in order.
    /// The exchange blocks, so it runs on its own thread: a test blocking a thread of the small
    /// cooperative pool would starve the daemon it is waiting for.
    package func control(_ request: ControlRequest) async throws -> [ControlReply] {
        let state = self.state
        return try await offThePool {
            var replies: [ControlReply] = []
            try ControlClient.exchange(stateDirectory: state, request) { replies.append($0) }
            return replies
        }
    }

    package func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// Runs blocking work (a socket exchange, a child process) on a thread of its own and awaits it.
package func offThePool<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}
