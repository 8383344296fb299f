import AscribeCore
import AscribeRuntime

/// `ascribe help [COMMAND]`, and the hidden `help --man` and `help --completions SHELL`: the man
/// page and shell completions, generated from `commands` and each command's `--help` output,
/// so a new command is documented by regenerating them (docs/INSTALL.md).
enum HelpCommand {
    static func run(_ reader: inout ArgumentReader, output: inout Output) throws(UsageError) -> ExitCode {
        let manual = reader.flag("--man")
        let shell = try reader.option("--completions")
        let topics = try reader.positionals(max: 1)
        if manual {
            output.line(try manualPage().rendered, terminator: "")
        } else if let shell {
            guard let shell = ShellCompletion.Shell(rawValue: shell) else {
                throw UsageError(message: "--completions takes bash, zsh or fish, not \"\(shell)\"")
            }
            output.line(try completion().script(for: shell), terminator: "")
        } else if let topic = topics.first {
            let (code, help) = ascribe([topic, "--help"])
            output.line(help.standardOutput + help.standardError, terminator: "")
            return code
        } else {
            output.line(topLevelHelp)
        }
        return .ok
    }

    /// Every listed command's help, read back through the same dispatch a user's `--help` takes.
    private static func helps() throws(UsageError) -> [CommandHelp] {
        var helps: [CommandHelp] = []
        for command in commands {
            let (code, help) = ascribe([command.name, "--help"])
            guard code == .ok else { throw UsageError(message: "`ascribe \(command.name) --help` failed") }
            do {
                helps.append(try CommandHelp(name: command.name, summary: command.summary, text: help.standardOutput))
            } catch {
                throw UsageError(message: error.description)
            }
        }
        return helps
    }

    private static func manualPage() throws(UsageError) -> ManualPage {
        let summary = topLevelHelp.prefix { $0 != "\n" }.dropFirst("ascribe: ".count).dropLast()
        return ManualPage(
            program: "ascribe", version: AscribeVersion.current, summary: String(summary),
            description: [
                "Ascribe runs scheduled jobs as cron does, but every job is a file in a jobs directory that names "
                    + "the non-human identity it runs as and the human or team that owns it. Every run that fires, "
                    + "succeeds, fails, times out, is skipped or is missed becomes an attributed, append-only, "
                    + "hash-chained event, so on-call can ask why something ran, failed or did not run.",
                "Schedules mean exactly what they mean to Debian's cron, daylight saving included. Output is for "
                    + "humans by default; --json gives machines one JSON document or one object per line.",
                "Every command prints its usage, options and examples with --help; this page is generated from "
                    + "those help texts (ascribe help --man).",
            ],
            commands: try helps(),
            exitStatus: ExitCode.allCases.map { .init(String($0.rawValue), $0.meaning) },
            files: [
                .init(DefaultPaths.systemJobsDirectory, "Job files, one job per <job-name>.job, read by the daemon as root."),
                .init("/etc/ascribe/credentials", "The credential store: <identity>/<name>, owned by root, mode 0600; "
                          + "a run receives copies of exactly the credentials its job lists."),
                .init(DefaultPaths.eventStore(stateDirectory: DefaultPaths.systemStateDirectory),
                      "The append-only, hash-chained event log (SQLite, mode 0600), written only by the daemon."),
                .init(DefaultPaths.systemStateDirectory, "The state directory: the event log and each run's captured output."),
                .init("/run/ascribe", "Runtime directory; /run/ascribe/credentials holds each running job's private "
                          + "copy of its credentials, removed when the run ends."),
            ],
            jobFiles: .init(
                paragraphs: [
                    "One job per file, <jobs directory>/<job-name>.job; the file name without .job is the job's name "
                        + "([a-z][a-z0-9-]{0,62}). Lines are \"key = value\"; blank lines and lines starting with # are "
                        + "comments, and a value has no trailing comment. An unknown or repeated key, an empty value or "
                        + "a missing required key is an error naming file, line and column; ascribe check lists them all. "
                        + "A job file anyone may write is refused. For example:",
                ],
                example: [
                    "# /etc/ascribe/jobs.d/stale-lock-reaper.job",
                    "schedule = */15 * * * *",
                    "identity = stale-lock-reaper",
                    "owner    = storage-team <storage-oncall@example.com>",
                    "command  = /usr/bin/find /tmp/ascribe-demo -name '*.lock' -mmin +60 -delete",
                    "run-as   = nobody",
                    "purpose  = Remove lock files left behind by crashed workers",
                ],
                keys: JobKey.allCases.map { .init($0.rawValue, $0.rule) }),
            seeAlso: ["crontab(5)", "cron(8)", "systemd.exec(5)", "systemd.timer(5)", "journalctl(1)", "sqlite3(1)"],
            seeAlsoNote: "The full rules (job files, schedules and daylight saving, launching, the event log's format, "
                + "installing) are in the docs directory of the source tree, which is not installed: JOB-FILES.md, "
                + "SCHEDULES.md, LAUNCH.md, EVENTS.md, DAEMON.md, CONTROL.md, OPERATIONS.md and INSTALL.md.")
    }

    private static func completion() throws(UsageError) -> ShellCompletion {
        ShellCompletion(program: "ascribe", commands: try helps(), eventTypes: EventType.allCases.map(\.rawValue),
                        rootJobsDirectory: DefaultPaths.systemJobsDirectory, userJobsDirectory: DefaultPaths.localJobsDirectory)
    }
}

/// `ascribe version`, also `ascribe --version`.
enum VersionCommand {
    static let help = """
        Usage: ascribe version

        Prints the version of this build, as "ascribe \(AscribeVersion.current)". `ascribe --version` does the same.

        Examples:
          ascribe version
          ascribe --version
        """

    static func run(_ reader: inout ArgumentReader, output: inout Output) throws(UsageError) -> ExitCode {
        if reader.wantsHelp {
            output.line(help)
            return .ok
        }
        _ = try reader.positionals(max: 0)
        output.line("ascribe \(AscribeVersion.current)")
        return .ok
    }
}
