/// One option of a command, declared once: the parser reads values by it, and `--help`, the
/// man page and the shell completions are rendered from it.
public struct CommandOption: Hashable, Sendable {
    /// `--jobs`
    public var name: String
    /// `DIR`, or nil for a flag. The completions read it too: `DIR`, `FILE`, `ZONE`, `JOB`,
    /// `USER`, `TYPE` and `a|b` complete to what they say (`ShellCompletion`).
    public var valueName: String?
    public var help: String
    /// What applies when the option is not given, said in words; rendered `(default: …)`.
    public var defaultDescription: String?
    /// May be given more than once; otherwise a second one is a usage error.
    public var isRepeatable: Bool
    /// Must be given; the parser says so, naming the option and its help.
    public var isRequired: Bool

    public init(_ name: String, value valueName: String? = nil, help: String, default defaultDescription: String? = nil,
                repeatable isRepeatable: Bool = false, required isRequired: Bool = false) {
        self.name = name
        self.valueName = valueName
        self.help = help
        self.defaultDescription = defaultDescription
        self.isRepeatable = isRepeatable
        self.isRequired = isRequired
    }

    public var isFlag: Bool { valueName == nil }

    /// The help with whether it is required and its default: the text of the option's entry in
    /// `--help` and the man page.
    public var description: String {
        if isRequired { return help + " (required)" }
        guard let defaultDescription else { return help }
        return help + " (default: " + defaultDescription + ")"
    }

    /// `--jobs DIR` or `--json`.
    var head: String { valueName.map { name + " " + $0 } ?? name }
}

/// A word of the command line that is not an option: `JOB`, `[DIR]`, `[FILE...]`.
public struct Operand: Hashable, Sendable {
    /// `JOB`; also what it completes to, as for an option's value name.
    public var name: String
    public var isOptional: Bool
    public var isRepeatable: Bool

    public init(_ name: String, optional isOptional: Bool = false, repeatable isRepeatable: Bool = false) {
        self.name = name
        self.isOptional = isOptional
        self.isRepeatable = isRepeatable
    }

    var synopsis: String {
        let word = name + (isRepeatable ? "..." : "")
        return isOptional ? "[" + word + "]" : word
    }
}

/// One usage line: the operands and options a way of calling the command takes, and which of
/// those options that way requires. A command with one way of calling it need not declare any.
public struct UsageForm: Sendable {
    public var operands: [Operand]
    public var options: [CommandOption]
    public var required: [CommandOption]

    public init(operands: [Operand] = [], options: [CommandOption], required: [CommandOption] = []) {
        self.operands = operands
        self.options = options
        self.required = required
    }
}

/// A command as declared once: what it is for, its operands and options, which options
/// exclude each other, its exit statuses and examples. `helpText` is its `--help`;
/// `ManualPage` and `ShellCompletion` read the same declaration.
public struct CommandDeclaration: Sendable {
    public var name: String
    /// One line for the command list: `validate a jobs directory`.
    public var summary: String
    /// The prose of `--help` between the usage and the options, as written: paragraphs
    /// separated by blank lines, lines wrapped by hand.
    public var discussion: String
    public var operands: [Operand]
    public var options: [CommandOption]
    /// Options of which at most one may be given: `[--quiet, --verbose]`.
    public var exclusiveGroups: [[CommandOption]]
    public var exitStatus: String?
    /// Example lines; a line indented deeper than the first shows that example's output.
    public var examples: [String]
    /// The usage lines; nil for one line of every operand and option.
    public var forms: [UsageForm]?

    public init(name: String, summary: String, discussion: String, operands: [Operand] = [], options: [CommandOption] = [],
                exclusive exclusiveGroups: [[CommandOption]] = [], exitStatus: String? = nil, examples: String,
                forms: [UsageForm]? = nil) {
        self.name = name
        self.summary = summary
        self.discussion = discussion
        self.operands = operands
        self.options = options
        self.exclusiveGroups = exclusiveGroups
        self.exitStatus = exitStatus
        self.examples = examples.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        self.forms = forms
    }

    public static let program = "ascribe"
    /// Help lines are wrapped to fit this many columns.
    static let width = 100

    /// Each usage line without `Usage:`: `ascribe log [--state DIR] … [--verbose | --json]`.
    public var synopses: [String] { synopsisItems.map { $0.joined(separator: " ") } }

    /// The usage lines as items that stay whole when a line is wrapped: `[--quiet | --verbose]`.
    var synopsisItems: [[String]] {
        let forms = forms ?? [UsageForm(operands: operands, options: options, required: options.filter(\.isRequired))]
        return forms.map { form in
            var items = ["\(Self.program) \(name)"] + form.operands.map(\.synopsis)
            var shown: Set<String> = []
            for option in form.options where !shown.contains(option.name) {
                let group = exclusiveGroups.first { $0.contains(option) }?
                    .filter { form.options.contains($0) && !shown.contains($0.name) } ?? [option]
                shown.formUnion(group.map(\.name))
                let text = group.map(\.head).joined(separator: " | ")
                items.append(group.count == 1 && form.required.contains(option) ? text : "[" + text + "]")
            }
            return items
        }
    }

    /// The discussion's paragraphs, each on one line (for the man page, which fills its own lines).
    public var paragraphs: [String] {
        var paragraphs: [String] = []
        var current: [Substring] = []
        for line in discussion.split(separator: "\n", omittingEmptySubsequences: false) + [Substring()] {
            let words = line.drop { $0 == " " }
            if words.isEmpty {
                if !current.isEmpty { paragraphs.append(current.joined(separator: " ")) }
                current = []
            } else {
                current.append(words)
            }
        }
        return paragraphs
    }

    /// `--help`: usage, discussion, options, exit status, examples.
    public var helpText: String {
        var blocks: [String] = []
        var usage: [String] = []
        for (index, items) in synopsisItems.enumerated() {
            let lead = index == 0 ? "Usage: " : "       "
            let indent = String(repeating: " ", count: lead.count + Self.program.count + name.count + 2)
            usage += Self.wrap(items, first: lead, rest: indent)
        }
        blocks.append(usage.joined(separator: "\n"))
        blocks.append(discussion)
        if !options.isEmpty {
            let column = min(24, (options.map(\.head.count).max() ?? 0) + 5)
            var lines = ["Options:"]
            for option in options {
                let head = "  " + option.head
                let lead = head.count + 2 <= column ? head + String(repeating: " ", count: column - head.count) : head + "  "
                lines += Self.wrap(option.description.split(separator: " ").map(String.init), first: lead,
                                   rest: String(repeating: " ", count: column))
            }
            blocks.append(lines.joined(separator: "\n"))
        }
        if let exitStatus {
            blocks.append(Self.wrap(exitStatus.split(separator: " ").map(String.init), first: "Exit status: ", rest: "")
                .joined(separator: "\n"))
        }
        if !examples.isEmpty {
            blocks.append((["Examples:"] + examples.map { "  " + $0 }).joined(separator: "\n"))
        }
        return blocks.joined(separator: "\n\n")
    }

    /// Items (words) filled into lines of at most `width` columns; a longer item gets a line of its own.
    static func wrap(_ items: [String], first: String, rest: String) -> [String] {
        var lines: [String] = []
        var line = first
        var empty = true
        for word in items {
            if !empty, line.count + 1 + word.count > width {
                lines.append(line)
                line = rest
                empty = true
            }
            line += (empty ? "" : " ") + word
            empty = false
        }
        lines.append(line)
        return lines
    }
}
