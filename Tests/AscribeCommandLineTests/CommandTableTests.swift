@testable import AscribeCommandLine
import Synchronization
import Testing

/// A call of one command declares that command only; the command list declares them all.
@Suite struct CommandTableTests {
    /// The names of the commands declared so far, in the order they were declared.
    final class Declared: Sendable {
        let names = Mutex<[String]>([])

        func entry(_ name: String) -> CommandTable<Int>.Entry {
            CommandTable<Int>.Entry(name, declaration: {
                self.names.withLock { $0.append(name) }
                return CommandDeclaration(name: name, summary: "the \(name) command", discussion: "", examples: "ascribe \(name)")
            }, action: name.count)
        }

        var list: [String] { names.withLock { $0 } }
    }

    @Test func findingACommandDeclaresNothing() throws {
        let declared = Declared()
        let table = CommandTable([declared.entry("check"), declared.entry("next"), declared.entry("version")])
        let version = try #require(table.entry(named: "version"))
        #expect(version.action == 7)
        #expect(table.names == ["check", "next", "version"])
        #expect(table.entry(named: "nope") == nil)
        #expect(declared.list.isEmpty)
        #expect(version.declaration.name == "version")
        #expect(declared.list == ["version"])
    }

    @Test func declarationsDeclareEveryCommandInOrder() {
        let declared = Declared()
        let table = CommandTable([declared.entry("check"), declared.entry("next"), declared.entry("version")])
        #expect(table.declarations.map(\.summary) == ["the check command", "the next command", "the version command"])
        #expect(declared.list == ["check", "next", "version"])
    }
}
