/// A program's commands by name, each declared only when asked for: a call of one command
/// builds that command's declaration and no other, so start-up does not pay for the options,
/// help and examples of every command. `--help`, the man page and the completions ask for
/// `declarations`, which builds them all.
public struct CommandTable<Action: Sendable>: Sendable {
    /// One command: its name, known without declaring it, how to declare it, and what runs it.
    public struct Entry: Sendable {
        /// The name the command is called by; the same as its declaration's `name`.
        public let name: String
        public let action: Action
        private let declare: @Sendable () -> CommandDeclaration

        public init(_ name: String, declaration declare: @escaping @Sendable () -> CommandDeclaration, action: Action) {
            self.name = name
            self.declare = declare
            self.action = action
        }

        /// The command's declaration, built now (or read from wherever `declare` keeps it).
        public var declaration: CommandDeclaration { declare() }
    }

    /// In the order the command list, the man page and the completions show them.
    public let entries: [Entry]

    public init(_ entries: [Entry]) {
        self.entries = entries
    }

    public var names: [String] { entries.map(\.name) }

    /// The command called `name`, with nothing declared yet; nil if there is none.
    public func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// Every command's declaration, in order: for the command list, the man page and the completions.
    public var declarations: [CommandDeclaration] { entries.map(\.declaration) }
}
