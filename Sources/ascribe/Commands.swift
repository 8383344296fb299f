import AscribeCommandLine
import AscribeCore
import AscribeRuntime

/// What runs a command, given its arguments parsed by its declaration. (A struct rather than
/// the bare function type: the Swift 6.3 compiler crashes converting `CheckCommand.run` to a
/// typed-throws function type that is a generic argument.)
struct CommandAction: Sendable {
    let run: @Sendable (ParsedArguments, inout Output) throws(UsageError) -> ExitCode
}

/// A command: its name, its declaration (options, help, man page, completions), built only
/// when asked for, and what runs it.
typealias Command = CommandTable<CommandAction>.Entry

/// Every command, in the order `ascribe --help`, the man page and the completions list them.
/// Each is declared on demand: a call builds only the declaration of the command it calls.
let commands = CommandTable<CommandAction>([
    Command("check", declaration: { CheckCommand.declaration }, action: CommandAction(run: CheckCommand.run)),
    Command("next", declaration: { NextCommand.declaration }, action: CommandAction(run: NextCommand.run)),
    Command("plan", declaration: { PlanCommand.declaration }, action: CommandAction(run: PlanCommand.run)),
    Command("import", declaration: { ImportCommand.declaration }, action: CommandAction(run: ImportCommand.run)),
    Command("daemon", declaration: { DaemonCommand.declaration }, action: CommandAction(run: DaemonCommand.run)),
    Command("run", declaration: { RunCommand.declaration }, action: CommandAction(run: RunCommand.run)),
    Command("log", declaration: { LogCommand.declaration }, action: CommandAction(run: LogCommand.run)),
    Command("why", declaration: { WhyCommand.declaration }, action: CommandAction(run: WhyCommand.run)),
    Command("identities", declaration: { IdentitiesCommand.declaration }, action: CommandAction(run: IdentitiesCommand.run)),
    Command("status", declaration: { StatusCommand.declaration }, action: CommandAction(run: StatusCommand.run)),
    Command("disable", declaration: { SwitchCommand.declaration(.disable) }, action: CommandAction { arguments, output throws(UsageError) in
        try SwitchCommand.run(.disable, arguments, output: &output)
    }),
    Command("enable", declaration: { SwitchCommand.declaration(.enable) }, action: CommandAction { arguments, output throws(UsageError) in
        try SwitchCommand.run(.enable, arguments, output: &output)
    }),
    Command("reload", declaration: { ReloadCommand.declaration }, action: CommandAction(run: ReloadCommand.run)),
    Command("keys", declaration: { KeysCommand.declaration }, action: CommandAction(run: KeysCommand.run)),
    Command("oidc", declaration: { OIDCCommand.declaration }, action: CommandAction(run: OIDCCommand.run)),
    Command("token", declaration: { TokenCommand.declaration }, action: CommandAction(run: TokenCommand.run)),
    Command("verify", declaration: { VerifyCommand.declaration }, action: CommandAction(run: VerifyCommand.run)),
    Command("prove", declaration: { ProveCommand.declaration }, action: CommandAction(run: ProveCommand.run)),
    Command("witness", declaration: { WitnessCommand.declaration }, action: CommandAction(run: WitnessCommand.run)),
    Command("version", declaration: { VersionCommand.declaration }, action: CommandAction(run: VersionCommand.run)),
])

/// `help` is not listed among the commands (it is how one reads them) but is declared the same way.
let helpCommand = Command("help", declaration: { HelpCommand.declaration }, action: CommandAction(run: HelpCommand.run))

/// The command named `name`, `help` included, not declared yet; nil after saying which commands there are.
func command(named name: String, output: inout Output) -> Command? {
    if name == helpCommand.name { return helpCommand }
    if let command = commands.entry(named: name) { return command }
    output.error("ascribe: unknown command \"\(name)\"; commands: \(commands.names.joined(separator: ", "))")
    return nil
}

let topLevelHelp = """
    ascribe: an attributed job scheduler, a cron replacement in which every run has a name.

    Usage: ascribe <command> [options]

    Commands:
    \(commands.entries.map { "  " + $0.name.padding(11) + $0.declaration.summary }.joined(separator: "\n"))

    Run `ascribe <command> --help` for a command's options and examples.
    Exit codes: \(ExitCode.allCases.map { "\($0.rawValue) \($0.meaning)" }.joined(separator: ", ")).
    """
