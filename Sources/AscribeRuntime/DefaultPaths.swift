import AscribeSystem

/// Where Ascribe looks when not told (PRODUCT.md sections 4 and 6): system paths when run as
/// root on a host, paths under the current directory on a developer's laptop.
public enum DefaultPaths {
    public static var runningAsRoot: Bool { SystemCalls.effectiveUID == 0 }

    public static let systemJobsDirectory = "/etc/ascribe/jobs.d"
    public static let localJobsDirectory = "./jobs.d"
    public static let systemStateDirectory = "/var/lib/ascribe"
    public static let localStateDirectory = "./.ascribe"

    public static var jobsDirectory: String {
        runningAsRoot ? systemJobsDirectory : localJobsDirectory
    }

    public static var stateDirectory: String {
        runningAsRoot ? systemStateDirectory : localStateDirectory
    }

    /// Both defaults in words, for `--help`: help texts (and the man page and completions
    /// generated from them) must read the same whoever runs the command.
    public static let jobsDirectoryHelp = "\(systemJobsDirectory) as root, \(localJobsDirectory) otherwise"
    public static let stateDirectoryHelp = "\(systemStateDirectory) as root, \(localStateDirectory) otherwise"

    /// The append-only event log inside a state directory.
    public static func eventStore(stateDirectory: String) -> String {
        stateDirectory + "/events.db"
    }

    public static func credentialStore(stateDirectory: String) -> String {
        runningAsRoot ? "/etc/ascribe/credentials" : stateDirectory + "/credentials"
    }
}
