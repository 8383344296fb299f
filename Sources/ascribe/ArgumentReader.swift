/// A usage mistake: the command exits 2 with this message and a pointer to `--help`.
struct UsageError: Error {
    var message: String
}

/// Consumes a command's arguments: options first, then whatever positionals remain.
/// Every option must be claimed, so a typo is an error rather than silently ignored.
struct ArgumentReader {
    private var arguments: [String]
    let command: String

    init(command: String, arguments: [String]) {
        self.command = command
        self.arguments = arguments
    }

    /// True when `--help`/`-h` appears anywhere.
    var wantsHelp: Bool { arguments.contains("--help") || arguments.contains("-h") }

    mutating func flag(_ name: String) -> Bool {
        guard let index = arguments.firstIndex(of: name) else { return false }
        arguments.remove(at: index)
        return true
    }

    /// `--name value` or `--name=value`; a repeated option is a usage error.
    mutating func option(_ name: String) throws(UsageError) -> String? {
        var found: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            var value: String?
            if argument == name {
                guard index + 1 < arguments.count else {
                    throw UsageError(message: "\(name) needs a value")
                }
                value = arguments[index + 1]
                arguments.removeSubrange(index...index + 1)
            } else if argument.hasPrefix(name + "=") {
                value = String(argument.dropFirst(name.count + 1))
                arguments.remove(at: index)
            } else {
                index += 1
                continue
            }
            guard found == nil else { throw UsageError(message: "\(name) given twice") }
            found = value
        }
        return found
    }

    mutating func integerOption(_ name: String, range: ClosedRange<Int>) throws(UsageError) -> Int? {
        guard let text = try option(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError(message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    /// The remaining arguments; any leftover `--option` is unknown.
    mutating func positionals(max: Int = .max) throws(UsageError) -> [String] {
        if let unknown = arguments.first(where: { $0.hasPrefix("-") && $0 != "-" }) {
            throw UsageError(message: "unknown option \(unknown)")
        }
        guard arguments.count <= max else {
            throw UsageError(message: "unexpected argument \(arguments[max])")
        }
        return arguments
    }
}
