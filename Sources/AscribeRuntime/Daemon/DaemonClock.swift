import AscribeCore
import AscribeSystem

/// The wall clock the scheduler reads and sleeps on. Injected so tests drive a day of slots
/// in milliseconds; the daemon never reads time any other way for its decisions.
public protocol DaemonClock: Sendable {
    /// The wall-clock time now.
    func now() -> Instant
    /// The same clock to the millisecond, for the run events the daemon records.
    func eventTime() -> EventTime
    /// Returns once `now()` has reached `deadline`, or earlier when the calling task is
    /// cancelled (the daemon cancels its sleep to stop or to wake up early).
    func sleep(until deadline: Instant) async
}

extension DaemonClock {
    public func eventTime() -> EventTime { EventTime(now()) }
}

/// The host's real-time clock. Sleeping measures a duration on the monotonic clock, so a
/// wall-clock step during a sleep is only noticed when the (capped) sleep ends.
public struct SystemDaemonClock: DaemonClock {
    public init() {}

    public func now() -> Instant { SystemClock.now() }

    public func eventTime() -> EventTime { .now() }

    public func sleep(until deadline: Instant) async {
        let now = SystemCalls.realTime()
        let nowNanoseconds = now.seconds * 1_000_000_000 + now.nanoseconds
        // A few milliseconds past the deadline, so the reading after waking is at or past it.
        let remaining = deadline.secondsSinceEpoch * 1_000_000_000 - nowNanoseconds + 5_000_000
        guard remaining > 0 else { return }
        try? await Task.sleep(for: .nanoseconds(remaining))
    }
}
