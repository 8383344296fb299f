import AscribeCommandLine
import AscribeCore
import AscribeRuntime
import AscribeSystem
import Glibc

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

/// What a command prints, as it goes. Standard output is written in chunks of `chunkSize`
/// bytes, so a long answer (`log` over a year of events) is never held whole in memory and a
/// reader sees it while it is still being read from the log; standard error is written at
/// once, next to what it is about. `flush()` writes the rest when the command ends.
struct Output {
    static let chunkSize = 65_536
    private var pending: [UInt8] = []

    mutating func line(_ text: String, terminator: String = "\n") {
        pending += text.utf8
        pending += terminator.utf8
        if pending.count >= Self.chunkSize { flush() }
    }

    func error(_ text: String) {
        SystemCalls.write(text + "\n", to: SystemCalls.standardError)
    }

    mutating func flush() {
        guard !pending.isEmpty else { return }
        try? SystemCalls.writeAll(SystemCalls.standardOutput, pending[...])
        pending.removeAll(keepingCapacity: true)
    }
}

/// Runs one command line.
func ascribe(_ arguments: [String], output: inout Output) -> ExitCode {
    guard var name = arguments.first, name != "--help", name != "-h" else {
        output.line(topLevelHelp)
        return arguments.isEmpty ? .badInput : .ok
    }
    if name == "--version" { name = "version" }
    guard let command = command(named: name, output: &output) else { return .badInput }
    let rest = Array(arguments.dropFirst())
    if ParsedArguments.wantsHelp(rest) {
        output.line(command.declaration.helpText)
        return .ok
    }
    do {
        return try command.action.run(try ParsedArguments(command.declaration, arguments: rest), &output)
    } catch {
        output.error("ascribe \(name): \(error.message)\nRun `ascribe \(name) --help` for usage.")
        return .badInput
    }
}

var output = Output()
let code = ascribe(Array(CommandLine.arguments.dropFirst()), output: &output)
output.flush()
exit(code.rawValue)
