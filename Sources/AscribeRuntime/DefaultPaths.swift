#if canImport(Glibc)
import Glibc
#endif

/// Where Ascribe looks when not told (PRODUCT.md sections 4 and 6): system paths when run as
/// root on a host, paths under the current directory on a developer's laptop.
public enum DefaultPaths {
    public static var runningAsRoot: Bool { geteuid() == 0 }

    public static var jobsDirectory: String {
        runningAsRoot ? "/etc/ascribe/jobs.d" : "./jobs.d"
    }

    public static var stateDirectory: String {
        runningAsRoot ? "/var/lib/ascribe" : "./.ascribe"
    }

    /// The append-only event log inside a state directory.
    public static func eventStore(stateDirectory: String) -> String {
        stateDirectory + "/events.db"
    }

    public static func credentialStore(stateDirectory: String) -> String {
        runningAsRoot ? "/etc/ascribe/credentials" : stateDirectory + "/credentials"
    }
}
