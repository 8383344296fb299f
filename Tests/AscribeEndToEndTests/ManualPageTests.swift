@testable import AscribeCommandLine
@testable import AscribeCore
import Foundation
import Testing
import AscribeCoreTestSupport
import AscribeTestSupport

/// A tool on the PATH, for tests that skip when it is missing.
enum Tool {
    static func path(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `name` from the PATH in the repository, stdout and stderr together.
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path(name)))
        process.arguments = arguments
        process.currentDirectoryURL = AscribeBinary.repository
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}

/// Generated files must match what the current help texts generate, byte for byte.
func expectInSync(_ arguments: [String], file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let generated = try AscribeBinary.run(arguments)
    #expect(generated.status == 0, "\(generated.stderr)", sourceLocation: sourceLocation)
    let committed = try String(contentsOf: AscribeBinary.repository.appendingPathComponent(file), encoding: .utf8)
    #expect(generated.stdout == committed,
            "\(file) is out of date: run `swift run ascribe \(arguments.joined(separator: " ")) > \(file)`",
            sourceLocation: sourceLocation)
}

@Suite struct ManualPageTests {
    @Test func committedManualPageMatchesTheHelpTexts() throws {
        try expectInSync(["help", "--man"], file: "docs/ascribe.1")
    }

    @Test func everyListedCommandHasASection() throws {
        let page = try AscribeBinary.run(["help", "--man"]).stdout
        let listed = try AscribeBinary.run(["--help"]).stdout
            .split(separator: "\n", omittingEmptySubsequences: false).drop { $0 != "Commands:" }.dropFirst().prefix { !$0.isEmpty }
            .map { String($0.split(separator: " ")[0]) }
        #expect(listed.count >= 8 && listed.count < 40)
        for command in listed {
            #expect(page.contains("\n.SS \(command)\n"), "no section for \(command)")
            // The command table names each command apart from its declaration (so a call
            // declares only its own command): the name it is called by is the one it declares.
            let help = try AscribeBinary.run([command, "--help"])
            #expect(help.status == 0 && help.stdout.hasPrefix("Usage: ascribe \(command)"), "\(command) --help")
        }
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "\"EXIT STATUS\"", "FILES", "\"SEE ALSO\""] {
            #expect(page.contains("\n.SH \(section)\n"), "no \(section)")
        }
        #expect(page.contains("/var/lib/ascribe/events.db") && page.contains("/run/ascribe"))
    }

    /// JOB FILES: the format, an example, and a line for every key the parser knows.
    @Test func jobFilesSectionListsEveryKey() throws {
        let page = try AscribeBinary.run(["help", "--man"]).stdout
        let section = try #require(page.components(separatedBy: "\n.SH \"JOB FILES\"\n").dropFirst().first?
            .components(separatedBy: "\n.SH ").first)
        for key in JobKey.allCases {
            #expect(section.contains("\n.TP\n.B \(ManualPage.escaped(key.rawValue))\n"), "JOB FILES has no entry for \(key)")
        }
        #expect(section.contains("schedule = */15 * * * *"))
    }

    /// SEE ALSO names manual pages only (the source tree's docs are not installed, so the page
    /// says where they are instead), and each one is installed wherever the program it
    /// documents is.
    @Test func seeAlsoNamesInstalledManualPages() throws {
        let page = try AscribeBinary.run(["help", "--man"]).stdout
        let section = try #require(page.components(separatedBy: "\n.SH \"SEE ALSO\"\n").last)
        let references = section.split(separator: "\n").filter { $0.hasPrefix(".BR ") || $0.hasPrefix(".IR ") }
        #expect(references.count >= 4)
        #expect(references.allSatisfy { $0.hasPrefix(".BR ") }, "not manual pages: \(references.filter { !$0.hasPrefix(".BR ") })")
        #expect(!section.contains("docs/"))
        let providers = ["crontab": "crontab", "cron": "cron", "systemd.exec": "systemctl", "systemd.timer": "systemctl",
                         "journalctl": "journalctl", "sqlite3": "sqlite3"]
        for reference in references {
            let words = reference.split(separator: " ")
            let name = words[1].replacingOccurrences(of: "\\-", with: "-")
            let number = String(words[2].dropFirst().prefix { $0.isNumber })
            let provider = try #require(providers[name], "no known program for \(name)(\(number)): add it to this test")
            if Tool.path("man") != nil, Tool.path(provider) != nil {
                #expect(try Tool.run("man", ["-w", number, name]).status == 0, "\(provider) is installed but \(name)(\(number)) is not")
            }
        }
    }

    @Test func helpTextsDoNotDependOnWhoRunsThem() throws {
        let page = try AscribeBinary.run(["help", "--man"]).stdout
        #expect(page.contains("/etc/ascribe/jobs.d as root, ./jobs.d otherwise"))
        #expect(!page.contains("(default ./jobs.d)") && !page.contains("(default /etc/ascribe/jobs.d)"))
    }

    @Test(.enabled(if: Tool.path("groff") != nil, "groff is not installed: roff warnings not checked"))
    func rendersWithoutRoffWarnings() throws {
        let result = try Tool.run("groff", ["-man", "-Tutf8", "-ww", "-z", "docs/ascribe.1"])
        #expect(result.status == 0)
        #expect(result.output.isEmpty, "\(result.output)")
    }

    @Test(.enabled(if: Tool.path("man") != nil, "man is not installed: docs/ascribe.1 not rendered"))
    func manRendersThePage() throws {
        let result = try Tool.run("man", ["-l", "-P", "cat", "docs/ascribe.1"], environment: ["MANWIDTH": "100"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("EXIT STATUS") && result.output.contains("ascribe check [DIR] [--strict]"))
    }

    @Test func helpTextIsReadIntoParts() throws {
        let help = try CommandHelp(name: "demo", summary: "a demo", text: """
            Usage: ascribe demo [DIR] [--jobs DIR] [--tz ZONE]
                                [--flag]
                   ascribe demo --expr EXPR

            First paragraph
            continues here.

            Options:
              --jobs DIR     jobs directory
                             (default somewhere)
              --tz ZONE      a zone
              --flag         a flag
              --expr EXPR    an expression

            Exit status: 0 fine,
            1 not.

            Examples:
              ascribe demo
                output line
            """)
        #expect(help.synopses == ["ascribe demo [DIR] [--jobs DIR] [--tz ZONE] [--flag]", "ascribe demo --expr EXPR"])
        #expect(help.paragraphs == ["First paragraph continues here."])
        #expect(help.options.map(\.name) == ["--jobs", "--tz", "--flag", "--expr"])
        #expect(help.options[0].value == "DIR" && help.options[0].description == "jobs directory (default somewhere)")
        #expect(help.options[2].value == nil)
        #expect(help.exitStatus == "0 fine, 1 not.")
        #expect(help.examples == ["ascribe demo", "  output line"])
        #expect(help.operands == ["DIR"])
    }

    @Test func helpWithoutUsageIsRefused() {
        #expect(throws: CommandHelp.ParseError.noUsage(command: "demo")) {
            try CommandHelp(name: "demo", summary: "", text: "ascribe 0.1.0")
        }
        #expect(throws: CommandHelp.ParseError.self) {
            try CommandHelp(name: "demo", summary: "", text: "Usage: ascribe demo\n\nOptions:\n  -x\n")
        }
    }

    @Test func roffTextIsEscaped() throws {
        let demo = CommandDeclaration(name: "demo", summary: "does things",
                                      discussion: ".starts with a dot, has a \\ backslash and an — em dash.", examples: "")
        let page = ManualPage(program: "ascribe", version: "1", summary: "s", description: [], commands: [demo],
                              exitStatus: [], files: [], seeAlso: ["cron(8)"]).rendered
        #expect(page.contains("\n\\&.starts with a dot, has a \\e backslash and an \\[u2014] em dash.\n"))
        #expect(page.contains("\n.SS demo\nDoes things.\n"))
        #expect(page.hasSuffix(".BR cron (8)\n"))
    }
}
