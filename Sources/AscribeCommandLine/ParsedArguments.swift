import AscribeCore

/// A usage mistake: the command exits 2 with this message and a pointer to `--help`.
public struct UsageError: Error, Sendable {
    public var message: String

    public init(message: String) {
        self.message = message
    }
}

/// A command's arguments read against its declaration: every option must be declared (a typo
/// is an error, with the nearest declared name), options may come before or after operands,
/// `--name value` and `--name=value` both work, and a value is taken as given even when it
/// starts with `-`.
public struct ParsedArguments: Sendable {
    public let declaration: CommandDeclaration
    private var values = GivenValues()
    private let operandWords: [String]

    /// True when `--help` or `-h` appears anywhere: the command prints its help and nothing else.
    public static func wantsHelp(_ arguments: [String]) -> Bool {
        arguments.contains("--help") || arguments.contains("-h")
    }

    public init(_ declaration: CommandDeclaration, arguments: [String]) throws(UsageError) {
        self.declaration = declaration
        var operands: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("-"), argument != "-" else {
                operands.append(argument)
                continue
            }
            let name = String(argument.prefix { $0 != "=" })
            let inline = argument.contains("=") ? String(argument.drop { $0 != "=" }.dropFirst()) : nil
            guard let option = declaration.options.first(where: { $0.name == name }) else {
                throw UsageError(message: "unknown option \(argument)" + Self.suggestion(for: name, among: declaration.options))
            }
            let value: String
            if option.isFlag {
                guard inline == nil else { throw UsageError(message: "\(name) takes no value") }
                value = ""
            } else if let inline {
                value = inline
            } else {
                guard index < arguments.count else { throw UsageError(message: "\(name) needs a value") }
                value = arguments[index]
                index += 1
            }
            guard option.isRepeatable || values[name] == nil else { throw UsageError(message: "\(name) given twice") }
            values.append(value, for: name)
        }
        operandWords = operands
        for option in declaration.options where option.isRequired && values[option.name] == nil {
            throw UsageError(message: "\(option.head) is required: \(option.help)")
        }
        for group in declaration.exclusiveGroups {
            let given = group.filter { values[$0.name] != nil }
            if given.count > 1 {
                throw UsageError(message: given.map(\.name).joined(separator: " and ") + " exclude each other")
            }
        }
    }

    /// The values given for each option, by option name. A short array searched in order
    /// rather than a dictionary: a command line names a handful of options, and the first
    /// `[String: [String]]` of a process costs more to set up (its type's metadata, checked
    /// at run time) than all the lookups of a call.
    private struct GivenValues {
        private var entries: [(name: String, values: [String])] = []

        subscript(name: String) -> [String]? {
            entries.first { $0.name == name }?.values
        }

        mutating func append(_ value: String, for name: String) {
            if let index = entries.firstIndex(where: { $0.name == name }) {
                entries[index].values.append(value)
            } else {
                entries.append((name, [value]))
            }
        }
    }

    public func flag(_ option: CommandOption) -> Bool {
        values[declared(option).name] != nil
    }

    public func value(_ option: CommandOption) -> String? {
        values[declared(option).name]?.first
    }

    /// The value of an option declared required, which the parser has already made sure is given.
    public func required(_ option: CommandOption) -> String {
        precondition(option.isRequired, "\(option.name) is not declared required")
        return value(option) ?? ""
    }

    /// Every value of a repeatable option, in the order given.
    public func values(_ option: CommandOption) -> [String] {
        values[declared(option).name] ?? []
    }

    public func integer(_ option: CommandOption, range: ClosedRange<Int>) throws(UsageError) -> Int? {
        guard let text = value(option) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError(message: "\(option.name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return number
    }

    /// The words that are not options; more than `max` is a usage error.
    public func operands(max: Int = .max) throws(UsageError) -> [String] {
        guard operandWords.count <= max else { throw UsageError(message: "unexpected argument \(operandWords[max])") }
        return operandWords
    }

    /// Reading an option the command did not declare is the program's mistake, not the
    /// user's, and would silently read nothing: it stops the first time that code runs, on
    /// any input, so the command's tests find it.
    private func declared(_ option: CommandOption) -> CommandOption {
        precondition(declaration.options.contains(option), "\(option.name) is not declared by \(declaration.name)")
        return option
    }

    /// `; did you mean --state?` for the declared name closest to a mistyped one (at most two
    /// edits away, or one the typed name begins), else nothing.
    static func suggestion(for name: String, among options: [CommandOption]) -> String {
        let scored = options.map { (name: $0.name, distance: EditDistance.between(name, $0.name)) }
        let near = scored.filter { $0.distance <= 2 }.min { $0.distance < $1.distance }?.name
            ?? (name.count > 3 ? options.first { $0.name.hasPrefix(name) }?.name : nil)
        return near.map { "; did you mean \($0)?" } ?? ""
    }
}
