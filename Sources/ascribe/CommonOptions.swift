import AscribeCommandLine
import AscribeRuntime

/// Options several commands declare alike, so they read alike in every `--help`.
enum CommonOptions {
    static let jobs = CommandOption("--jobs", value: "DIR", help: "jobs directory", default: DefaultPaths.jobsDirectoryHelp)

    /// `--state DIR`; `help` says what the command reads or writes there.
    static func state(_ help: String = "state directory holding events.db") -> CommandOption {
        CommandOption("--state", value: "DIR", help: help, default: DefaultPaths.stateDirectoryHelp)
    }
}
