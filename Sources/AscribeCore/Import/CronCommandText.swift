/// cron's `%` rule (crontab(5), `do_command.c`): the command ends at the first `%` not
/// preceded by a backslash; the rest becomes the command's standard input, each further
/// unescaped `%` a newline. `\%` is a literal `%` in both parts; other backslashes stay.
struct CronCommandText: Equatable {
    /// What cron hands to the shell.
    var command: String
    /// What cron writes to the command's standard input; nil without an unescaped `%`.
    var standardInput: String?

    init(_ raw: String) {
        var command = ""
        var escaped = false
        var rest: Substring?
        var index = raw.startIndex
        while index < raw.endIndex {
            let character = raw[index]
            index = raw.index(after: index)
            if escaped {
                if character == "%" { _ = command.popLast() }
                command.append(character)
                escaped = false
                continue
            }
            if character == "%" {
                rest = raw[index...]
                break
            }
            escaped = character == "\\"
            command.append(character)
        }
        self.command = command
        self.standardInput = rest.map(Self.input)
    }

    /// The input part: `%` becomes a newline, `\%` a `%`, any other backslash stays.
    private static func input(_ text: Substring) -> String {
        var output = ""
        var escaped = false
        for character in text {
            var current = character
            if escaped {
                if current != "%" { output.append("\\") }
            } else if current == "%" {
                current = "\n"
            }
            escaped = current == "\\"
            if !escaped { output.append(current) }
        }
        if escaped { output.append("\\") }
        return output
    }

    /// The line's command as its author likely meant it if the `%` was not meant as cron's
    /// stdin marker (`date +%F`): every `\%` a plain `%`, every other `%` kept.
    static func literal(_ raw: String) -> String {
        var output = ""
        for character in raw {
            if character == "%", output.last == "\\" { _ = output.popLast() }
            output.append(character)
        }
        return output
    }

    /// The same input fed by the shell, for a human to paste: `printf '…' | ( command )`.
    /// printf's format gets `\\`, `%%` and `\n` so the bytes come out exactly as cron sent them.
    static func feedingInput(_ input: String, to command: String) -> String {
        var format = ""
        for character in input {
            switch character {
            case "\\": format += "\\\\"
            case "%": format += "%%"
            case "\n": format += "\\n"
            case "'": format += "'\\''"
            default: format.append(character)
            }
        }
        return "printf '\(format)' | ( \(command) )"
    }
}
