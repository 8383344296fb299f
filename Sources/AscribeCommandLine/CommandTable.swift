/// A program's commands by name, each declared only when asked for: a call of one command
/// builds that command's declaration and no other, so start-up does not pay for the options,
/// help and examples of every command. `--help`, the man page and the completions ask for
/// `declarations`, which builds them all. Its code is inlinable so that the program's lookup is
/// compiled for its own `Action`: unspecialized generic code would look up conformances and
/// type metadata at run time, which costs more than the lookup itself.
public struct CommandTable<Action: Sendable>: Sendable {
    /// One command: its name, known without declaring it, how to declare it, and what runs it.
    public struct Entry: Sendable {
        /// The name the command is called by; the same as its declaration's `name`.
        public let name: String
        public let action: Action
        @usableFromInline let declare: @Sendable () -> CommandDeclaration

        @inlinable public init(_ name: String, declaration declare: @escaping @Sendable () -> CommandDeclaration, action: Action) {
            self.name = name
            self.declare = declare
            self.action = action
        }

        /// The command's declaration, built now (or read from wherever `declare` keeps it).
        @inlinable public var declaration: CommandDeclaration { declare() }
    }

    /// In the order the command list, the man page and the completions show them.
    public let entries: [Entry]

    @inlinable public init(_ entries: [Entry]) {
        self.entries = entries
    }

    @inlinable public var names: [String] { entries.map(\.name) }

    /// The command called `name`, with nothing declared yet; nil if there is none.
    @inlinable public func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// Every command's declaration, in order: for the command list, the man page and the completions.
    @inlinable public var declarations: [CommandDeclaration] { entries.map(\.declaration) }
}
