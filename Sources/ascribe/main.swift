import AscribeCore
import AscribeRuntime
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes shared by every command (PRODUCT.md section 6).
enum ExitCode: Int32, CaseIterable {
    case ok = 0
    case findings = 1
    case badInput = 2

    var meaning: String {
        switch self {
        case .ok: "ok"
        case .findings: "findings or failure"
        case .badInput: "bad usage or input"
        }
    }
}

struct Output {
    private(set) var standardOutput = ""
    private(set) var standardError = ""

    mutating func line(_ text: String, terminator: String = "\n") { standardOutput += text + terminator }
    mutating func error(_ text: String) { standardError += text + "\n" }
}

let commands: [(name: String, summary: String)] = [
    ("check", "validate a jobs directory"),
    ("next", "show upcoming fire times of jobs or of an expression"),
    ("plan", "dry-run a window: every fire, in order, nothing runs"),
    ("import", "convert crontabs into job files, listing what needs a human"),
    ("daemon", "the scheduler: fire every slot, record every outcome"),
    ("run", "run one job now, recorded with you as the principal"),
    ("log", "show recorded events, filtered by job, identity, type and time"),
    ("why", "every slot of a job in a window and what became of it, with evidence"),
    ("identities", "the registry: each identity's owner, jobs, last outcome and findings"),
    ("status", "ask the running daemon what runs, what is next, and what is disabled"),
    ("disable", "turn one job or identity off through the daemon, attributed and recorded"),
    ("enable", "turn a disabled job or identity back on, attributed and recorded"),
    ("reload", "make the running daemon re-read its jobs directory, recorded with you as principal"),
    ("verify", "re-walk the event log's hash chain and report the first broken link"),
    ("version", "print the version (also --version)"),
]

let topLevelHelp = """
    ascribe: an attributed job scheduler, a cron replacement in which every run has a name.

    Usage: ascribe <command> [options]

    Commands:
    \(commands.map { "  " + $0.name.padding(11) + $0.summary }.joined(separator: "\n"))

    Run `ascribe <command> --help` for a command's options and examples.
    Exit codes: \(ExitCode.allCases.map { "\($0.rawValue) \($0.meaning)" }.joined(separator: ", ")).
    """

/// Runs one command line; `help` reads every command's help back through here.
func ascribe(_ arguments: [String]) -> (ExitCode, Output) {
    var output = Output()
    guard var name = arguments.first, name != "--help", name != "-h" else {
        output.line(topLevelHelp)
        return (arguments.isEmpty ? .badInput : .ok, output)
    }
    if name == "--version" { name = "version" }
    var reader = ArgumentReader(command: name, arguments: Array(arguments.dropFirst()))
    do {
        switch name {
        case "check": return (try CheckCommand.run(&reader, output: &output), output)
        case "next": return (try NextCommand.run(&reader, output: &output), output)
        case "plan": return (try PlanCommand.run(&reader, output: &output), output)
        case "import": return (try ImportCommand.run(&reader, output: &output), output)
        case "daemon": return (try DaemonCommand.run(&reader, output: &output), output)
        case "run": return (try RunCommand.run(&reader, output: &output), output)
        case "log": return (try LogCommand.run(&reader, output: &output), output)
        case "why": return (try WhyCommand.run(&reader, output: &output), output)
        case "identities": return (try IdentitiesCommand.run(&reader, output: &output), output)
        case "status": return (try StatusCommand.run(&reader, output: &output), output)
        case "disable", "enable": return (try SwitchCommand.run(name, &reader, output: &output), output)
        case "reload": return (try ReloadCommand.run(&reader, output: &output), output)
        case "verify": return (try VerifyCommand.run(&reader, output: &output), output)
        case "version": return (try VersionCommand.run(&reader, output: &output), output)
        case "help": return (try HelpCommand.run(&reader, output: &output), output)
        default:
            output.error("ascribe: unknown command \"\(name)\"; commands: \(commands.map(\.name).joined(separator: ", "))")
            return (.badInput, output)
        }
    } catch {
        output.error("ascribe \(name): \(error.message)\nRun `ascribe \(name) --help` for usage.")
        return (.badInput, output)
    }
}

let (code, output) = ascribe(Array(CommandLine.arguments.dropFirst()))
FileHandle.standardError.write(Data(output.standardError.utf8))
FileHandle.standardOutput.write(Data(output.standardOutput.utf8))
exit(code.rawValue)
