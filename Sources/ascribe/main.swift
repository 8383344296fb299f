import AscribeCommandLine
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

/// Runs one command line.
func ascribe(_ arguments: [String]) -> (ExitCode, Output) {
    var output = Output()
    guard var name = arguments.first, name != "--help", name != "-h" else {
        output.line(topLevelHelp)
        return (arguments.isEmpty ? .badInput : .ok, output)
    }
    if name == "--version" { name = "version" }
    guard let command = (commands + [helpCommand]).first(where: { $0.name == name }) else {
        output.error("ascribe: unknown command \"\(name)\"; commands: \(commands.map(\.name).joined(separator: ", "))")
        return (.badInput, output)
    }
    let rest = Array(arguments.dropFirst())
    if ParsedArguments.wantsHelp(rest) {
        output.line(command.declaration.helpText)
        return (.ok, output)
    }
    do {
        return (try command.run(try ParsedArguments(command.declaration, arguments: rest), &output), output)
    } catch {
        output.error("ascribe \(name): \(error.message)\nRun `ascribe \(name) --help` for usage.")
        return (.badInput, output)
    }
}

let (code, output) = ascribe(Array(CommandLine.arguments.dropFirst()))
FileHandle.standardError.write(Data(output.standardError.utf8))
FileHandle.standardOutput.write(Data(output.standardOutput.utf8))
exit(code.rawValue)
