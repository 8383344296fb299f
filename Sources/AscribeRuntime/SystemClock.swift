import AscribeCore
#if canImport(Glibc)
import Glibc
#endif

/// The host's real-time clock, read once per question so every answer in a command agrees.
public enum SystemClock {
    public static func now() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(secondsSinceEpoch: Int64(spec.tv_sec))
    }
}
