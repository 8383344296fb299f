import AscribeCore
@testable import AscribeCommandLine
import Testing
import AscribeCoreTestSupport

/// A command declared once is parsed, and rendered as `--help`, from that one declaration.
@Suite struct CommandDeclarationTests {
    static let state = CommandOption("--state", value: "DIR", help: "state directory", default: "./.ascribe")
    static let out = CommandOption("--out", value: "DIR", help: "where to write", required: true)
    static let tag = CommandOption("--tag", value: "TEXT", help: "a tag", repeatable: true)
    static let quiet = CommandOption("--quiet", help: "print nothing")
    static let verbose = CommandOption("--verbose", help: "print every field")
    static let demo = CommandDeclaration(
        name: "demo", summary: "a demo",
        discussion: """
            First paragraph
            continues here.

            Second paragraph.
            """,
        operands: [Operand("FILE", optional: true, repeatable: true)],
        options: [state, out, tag, quiet, verbose],
        exclusive: [[quiet, verbose]],
        exitStatus: "0 fine, 1 not.",
        examples: """
            ascribe demo --out x
              output line
            """)

    func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        try ParsedArguments(Self.demo, arguments: arguments)
    }

    func message(_ arguments: [String]) -> String? {
        do {
            _ = try parse(arguments)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func valuesFlagsAndOperandsAreReadByTheDeclaration() throws {
        let parsed = try parse(["a", "--out=dir", "--tag", "-x", "b", "--tag", "two", "--quiet", "-"])
        #expect(parsed.required(Self.out) == "dir")
        #expect(parsed.value(Self.state) == nil)
        #expect(parsed.values(Self.tag) == ["-x", "two"])
        #expect(parsed.flag(Self.quiet) && !parsed.flag(Self.verbose))
        #expect(try parsed.operands() == ["a", "b", "-"])
        #expect(throws: UsageError.self) { try parsed.operands(max: 2) }
    }

    @Test func mistakesAreUsageErrorsNamingTheOption() {
        #expect(message(["--out", "x", "--stat", "y"]) == "unknown option --stat; did you mean --state?")
        #expect(message(["--out", "x", "--bogus"]) == "unknown option --bogus")
        #expect(message(["--out", "x", "-q"]) == "unknown option -q")
        #expect(message(["--out", "x", "--state", "a", "--state=b"]) == "--state given twice")
        #expect(message(["--out", "x", "--quiet", "--quiet"]) == "--quiet given twice")
        #expect(message(["--out", "x", "--quiet=yes"]) == "--quiet takes no value")
        #expect(message(["--out"]) == "--out needs a value")
        #expect(message([]) == "--out DIR is required: where to write")
        #expect(message(["--out", "x", "--verbose", "--quiet"]) == "--quiet and --verbose exclude each other")
    }

    @Test func helpIsRenderedFromTheDeclaration() throws {
        let text = Self.demo.helpText
        #expect(text.hasPrefix("""
            Usage: ascribe demo [FILE...] [--state DIR] --out DIR [--tag TEXT] [--quiet | --verbose]

            First paragraph
            continues here.

            Second paragraph.

            Options:
              --state DIR   state directory (default: ./.ascribe)
              --out DIR     where to write (required)
            """))
        #expect(text.hasSuffix("""
            Exit status: 0 fine, 1 not.

            Examples:
              ascribe demo --out x
                output line
            """))
        // What a reader of the help sees is what was declared.
        let read = try CommandHelp(name: "demo", summary: "a demo", text: text)
        #expect(read.options.map(\.name) == Self.demo.options.map(\.name))
        #expect(read.options.map(\.value) == Self.demo.options.map(\.valueName))
        #expect(read.options.map(\.description) == Self.demo.options.map(\.description))
        #expect(read.paragraphs == Self.demo.paragraphs)
        #expect(read.synopses == Self.demo.synopses)
        #expect(read.examples == ["ascribe demo --out x", "  output line"])
    }

    @Test func editDistanceCountsInsertionsDeletionsAndSubstitutions() {
        #expect(EditDistance.between("", "") == 0)
        #expect(EditDistance.between("", "abc") == 3)
        #expect(EditDistance.between("--stat", "--state") == 1)
        #expect(EditDistance.between("--jsno", "--json") == 2)
        #expect(EditDistance.between("kitten", "sitting") == 3)
    }

    /// A long usage line wraps between items, never inside `[--a | --b]`, under the command name.
    @Test func usageWrapsBetweenItems() {
        let options = (1...9).map { CommandOption("--option-\($0)", value: "VALUE", help: "an option") }
        let declaration = CommandDeclaration(name: "wide", summary: "", discussion: "", options: options,
                                             exclusive: [[options[6], options[7]]], examples: "")
        let usage = declaration.helpText.split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }
        #expect(usage.count > 1)
        #expect(usage.allSatisfy { $0.count <= CommandDeclaration.width })
        #expect(usage.dropFirst().allSatisfy { $0.hasPrefix(String(repeating: " ", count: "Usage: ascribe wide ".count) + "[") })
        #expect(usage.contains { $0.contains("[--option-7 VALUE | --option-8 VALUE]") })
    }
}
