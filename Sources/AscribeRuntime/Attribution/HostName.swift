import AscribeSystem

/// The host name every event carries, and the daemon's named actor `ascribe-scheduler@<host>`.
public enum HostName {
    public static func current() -> String {
        guard let name = SystemCalls.hostName(), !name.isEmpty else { return "localhost" }
        return name
    }

    public static func schedulerActor(host: String) -> String {
        "ascribe-scheduler@\(host)"
    }
}
