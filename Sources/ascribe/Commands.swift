import AscribeCommandLine
import AscribeCore
import AscribeRuntime

/// A command: its declaration (options, help, man page, completions) and what runs it.
struct Command: Sendable {
    let declaration: CommandDeclaration
    let run: @Sendable (ParsedArguments, inout Output) throws(UsageError) -> ExitCode

    var name: String { declaration.name }
}

/// Every command, in the order `ascribe --help`, the man page and the completions list them.
let commands: [Command] = [
    Command(declaration: CheckCommand.declaration, run: CheckCommand.run),
    Command(declaration: NextCommand.declaration, run: NextCommand.run),
    Command(declaration: PlanCommand.declaration, run: PlanCommand.run),
    Command(declaration: ImportCommand.declaration, run: ImportCommand.run),
    Command(declaration: DaemonCommand.declaration, run: DaemonCommand.run),
    Command(declaration: RunCommand.declaration, run: RunCommand.run),
    Command(declaration: LogCommand.declaration, run: LogCommand.run),
    Command(declaration: WhyCommand.declaration, run: WhyCommand.run),
    Command(declaration: IdentitiesCommand.declaration, run: IdentitiesCommand.run),
    Command(declaration: StatusCommand.declaration, run: StatusCommand.run),
    Command(declaration: SwitchCommand.declaration(.disable)) { arguments, output throws(UsageError) in
        try SwitchCommand.run(.disable, arguments, output: &output)
    },
    Command(declaration: SwitchCommand.declaration(.enable)) { arguments, output throws(UsageError) in
        try SwitchCommand.run(.enable, arguments, output: &output)
    },
    Command(declaration: ReloadCommand.declaration, run: ReloadCommand.run),
    Command(declaration: KeysCommand.declaration, run: KeysCommand.run),
    Command(declaration: OIDCCommand.declaration, run: OIDCCommand.run),
    Command(declaration: TokenCommand.declaration, run: TokenCommand.run),
    Command(declaration: VerifyCommand.declaration, run: VerifyCommand.run),
    Command(declaration: ProveCommand.declaration, run: ProveCommand.run),
    Command(declaration: WitnessCommand.declaration, run: WitnessCommand.run),
    Command(declaration: VersionCommand.declaration, run: VersionCommand.run),
]

/// `help` is not listed among the commands (it is how one reads them) but is declared the same way.
let helpCommand = Command(declaration: HelpCommand.declaration, run: HelpCommand.run)

/// The command named `name`, `help` included; nil after saying which commands there are.
func command(named name: String, output: inout Output) -> Command? {
    if let command = (commands + [helpCommand]).first(where: { $0.name == name }) { return command }
    output.error("ascribe: unknown command \"\(name)\"; commands: \(commands.map(\.name).joined(separator: ", "))")
    return nil
}

let topLevelHelp = """
    ascribe: an attributed job scheduler, a cron replacement in which every run has a name.

    Usage: ascribe <command> [options]

    Commands:
    \(commands.map { "  " + $0.name.padding(11) + $0.declaration.summary }.joined(separator: "\n"))

    Run `ascribe <command> --help` for a command's options and examples.
    Exit codes: \(ExitCode.allCases.map { "\($0.rawValue) \($0.meaning)" }.joined(separator: ", ")).
    """
