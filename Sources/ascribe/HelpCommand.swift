import AscribeCommandLine
import AscribeCore
import AscribeRuntime

/// `ascribe help [COMMAND]`, `help --man` and `help --completions SHELL`: the man page and shell
/// completions, generated from `commands`' declarations, so a new command is documented by
/// regenerating them (docs/INSTALL.md).
enum HelpCommand {
    enum Options {
        static let manual = CommandOption("--man", help: "print the man page, ascribe(1), in roff")
        static let completions = CommandOption("--completions", value: "bash|zsh|fish", help: "print the completion script for a shell")
    }

    static let declaration = CommandDeclaration(
        name: "help", summary: "a command's help, the man page or the shell completions",
        discussion: """
            Prints the help of COMMAND (as `ascribe COMMAND --help`), or the list of commands. With --man,
            the man page; with --completions, the completion script for bash, zsh or fish. Both are
            generated from the commands' declarations (docs/INSTALL.md).
            """,
        operands: [Operand("COMMAND", optional: true)],
        options: [Options.manual, Options.completions],
        exclusive: [[Options.manual, Options.completions]],
        examples: """
            ascribe help next
            ascribe help --man
            ascribe help --completions bash
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let topics = try arguments.operands(max: 1)
        if arguments.flag(Options.manual) {
            output.line(manualPage().rendered, terminator: "")
        } else if let shell = arguments.value(Options.completions) {
            guard let shell = ShellCompletion.Shell(rawValue: shell) else {
                throw UsageError(message: "--completions takes bash, zsh or fish, not \"\(shell)\"")
            }
            output.line(completion().script(for: shell), terminator: "")
        } else if let topic = topics.first {
            guard let command = command(named: topic, output: &output) else { return .badInput }
            output.line(command.declaration.helpText)
        } else {
            output.line(topLevelHelp)
        }
        return .ok
    }

    private static func manualPage() -> ManualPage {
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
                    + "the same declarations (ascribe help --man).",
            ],
            commands: commands.declarations,
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

    private static func completion() -> ShellCompletion {
        ShellCompletion(program: "ascribe", commands: commands.declarations, eventTypes: EventType.allCases.map(\.rawValue),
                        rootJobsDirectory: DefaultPaths.systemJobsDirectory, userJobsDirectory: DefaultPaths.localJobsDirectory)
    }
}

/// `ascribe version`, also `ascribe --version`.
enum VersionCommand {
    static let declaration = CommandDeclaration(
        name: "version", summary: "print the version (also --version)",
        discussion: """
            Prints the version of this build, as "ascribe \(AscribeVersion.current)". `ascribe --version` does the same.
            """,
        examples: """
            ascribe version
            ascribe --version
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        _ = try arguments.operands(max: 0)
        output.line("ascribe \(AscribeVersion.current)")
        return .ok
    }
}
