import AscribeCore
import AscribeSystem

/// The host's real-time clock, read once per question so every answer in a command agrees.
public enum SystemClock {
    public static func now() -> Instant {
        Instant(secondsSinceEpoch: SystemCalls.realTime().seconds)
    }
}
