/// A command's `--help` output, read back into parts as a reader sees it, so tests can check
/// and run what the help shows (its examples, its options). The layout it reads: a `Usage:` block (each synopsis
/// starts with `ascribe`, deeper-indented lines continue it), description paragraphs, an
/// `Options:` block (`  --name VALUE   description`, continuation lines indented further), an
/// optional `Exit status:` paragraph and an `Examples:` block, separated by blank lines.
package struct CommandHelp: Equatable, Sendable {
    package struct Option: Equatable, Sendable {
        /// `--jobs`
        package var name: String
        /// `DIR`, or nil for a flag.
        package var value: String?
        package var description: String
    }

    package var name: String
    package var summary: String
    /// One entry per synopsis, without `Usage:`, continuation lines joined.
    package var synopses: [String]
    package var paragraphs: [String]
    package var options: [Option]
    package var exitStatus: String?
    /// Example lines as written, indentation relative to the block (output lines stay indented).
    package var examples: [String]

    package enum ParseError: Error, Equatable, CustomStringConvertible {
        case noUsage(command: String)
        case badOption(command: String, line: String)

        package var description: String {
            switch self {
            case .noUsage(let command): "help of \(command) does not start with \"Usage: ascribe \(command)\""
            case .badOption(let command, let line): "help of \(command): cannot read option line \"\(line)\""
            }
        }
    }

    package init(name: String, summary: String, text: String) throws(ParseError) {
        self.name = name
        self.summary = summary
        let blocks = Self.blocks(text)
        guard let usage = blocks.first, let first = usage.first, first.hasPrefix("Usage: ascribe \(name)") else {
            throw .noUsage(command: name)
        }
        synopses = []
        for (index, line) in usage.enumerated() {
            let words = (index == 0 ? String(first.dropFirst("Usage: ".count)) : line).trimmed
            if words.hasPrefix("ascribe ") || synopses.isEmpty {
                synopses.append(words)
            } else {
                synopses[synopses.count - 1] += " " + words
            }
        }
        paragraphs = []
        options = []
        examples = []
        for block in blocks.dropFirst() {
            switch block[0] {
            case "Options:":
                for line in block.dropFirst() {
                    let body = line.trimmed
                    if body.hasPrefix("-") {
                        options.append(try Self.option(body, command: name))
                    } else if !options.isEmpty {
                        options[options.count - 1].description += " " + body
                    } else {
                        throw .badOption(command: name, line: line)
                    }
                }
            case "Examples:":
                let indent = block.dropFirst().map(\.indentation).min() ?? 0
                examples = block.dropFirst().map { String($0.dropFirst(indent)) }
            default:
                let paragraph = block.map(\.trimmed).joined(separator: " ")
                if paragraph.hasPrefix("Exit status: ") {
                    exitStatus = String(paragraph.dropFirst("Exit status: ".count))
                } else {
                    paragraphs.append(paragraph)
                }
            }
        }
    }

    /// Words of the synopses that are not options or option values: `DIR`, `JOB...`, `FILE...`.
    package var operands: [String] {
        var found: [String] = []
        for synopsis in synopses {
            var previousWasValueOption = false
            for word in synopsis.split(separator: " ").dropFirst(2) {
                let bare = word.trimmingBrackets
                if bare.hasPrefix("-") {
                    previousWasValueOption = options.contains { $0.name == bare && $0.value != nil }
                        && !word.hasSuffix("]")
                } else if previousWasValueOption {
                    previousWasValueOption = false
                } else if !word.contains("--"), !found.contains(bare) {
                    found.append(bare)
                }
            }
        }
        return found
    }

    private static func option(_ body: String, command: String) throws(ParseError) -> Option {
        guard let gap = body.firstRange(of: "  ") else { throw .badOption(command: command, line: body) }
        let head = body[..<gap.lowerBound].split(separator: " ")
        guard (1...2).contains(head.count), head[0].hasPrefix("--") else { throw .badOption(command: command, line: body) }
        return Option(name: String(head[0]), value: head.count == 2 ? String(head[1]) : nil,
                      description: String(body[gap.upperBound...]).trimmed)
    }

    private static func blocks(_ text: String) -> [[String]] {
        var blocks: [[String]] = [[]]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy({ $0 == " " }) {
                if !blocks[blocks.count - 1].isEmpty { blocks.append([]) }
            } else {
                blocks[blocks.count - 1].append(String(line))
            }
        }
        return blocks.filter { !$0.isEmpty }
    }
}

extension StringProtocol {
    package var trimmed: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }

    package var indentation: Int { prefix { $0 == " " }.count }

    /// `[--jobs` → `--jobs`, `[JOB...]` → `JOB...`, `user|system]` → `user|system`.
    package var trimmingBrackets: String {
        String(drop { $0 == "[" }.reversed().drop { $0 == "]" }.reversed())
    }
}
