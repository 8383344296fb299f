/// An identity name suggested by what a crontab command runs: `rotate-logs` for
/// `/usr/local/bin/rotate-logs.sh --all`, `run-parts-cron-daily` for
/// `cd / && run-parts --report /etc/cron.daily`. A suggestion only: it names the program, never
/// a person, and the importer still refuses anonymous names.
struct IdentitySuggestion: Equatable {
    /// The program's name; nil when the command names nothing usable.
    var primary: String?
    /// The program's name and its first argument (`admin-rotate` for `admin.sh rotate`): the
    /// fallback when the program's own name is an anonymous one.
    var longer: String?

    init(command: String) {
        guard let (program, arguments) = Self.mainProgram(in: command, depth: 0),
              let base = Self.baseName(program).flatMap(Self.sanitised) else {
            primary = nil
            longer = nil
            return
        }
        if base == "run-parts", let directory = Self.runPartsDirectory(arguments),
           let part = Self.baseName(directory).flatMap(Self.sanitised) {
            primary = Self.sanitised(base + "-" + part)
            longer = nil
            return
        }
        primary = base
        longer = Self.firstArgument(arguments).flatMap { Self.sanitised(base + "-" + $0) }
    }

    // MARK: Finding the program

    /// Commands that only set the stage (`cd /`, `test -x …`): never the name of a job.
    private static let stageCommands: Set<String> = [
        "cd", "test", "[", "[[", "]]", "true", "false", ":", "exit", "sleep", "export", "set", "umask",
        "source", ".", "fi", "done", "esac", "wait", "return", "unset", "shift", "alias", "ulimit",
        "trap", "eval", "local", "readonly",
    ]
    /// Commands named only when nothing more specific runs (`echo … >> log; backup.sh`).
    private static let minorCommands: Set<String> = ["echo", "printf", "logger", "date", "touch", "mkdir", "cat"]
    /// Words in front of a command that are not the command.
    private static let prefixWords: Set<String> = [
        "if", "then", "elif", "else", "while", "until", "do", "!", "time", "exec", "command", "builtin",
    ]

    /// A program that runs another one: its options that take a value, and how many plain
    /// arguments come before the wrapped command.
    private struct Wrapper {
        var valued: Set<String>
        var positionals: Int
    }

    private static let wrappers: [String: Wrapper] = [
        "nice": Wrapper(valued: ["-n", "--adjustment"], positionals: 0),
        "ionice": Wrapper(valued: ["-c", "-n", "-p", "-P", "-u", "--class", "--classdata", "--pid", "--pgid", "--uid"], positionals: 0),
        "nohup": Wrapper(valued: [], positionals: 0),
        "chronic": Wrapper(valued: [], positionals: 0),
        "cronic": Wrapper(valued: [], positionals: 0),
        "setsid": Wrapper(valued: [], positionals: 0),
        "run-one": Wrapper(valued: [], positionals: 0),
        "busybox": Wrapper(valued: [], positionals: 0),
        "stdbuf": Wrapper(valued: ["-i", "-o", "-e", "--input", "--output", "--error"], positionals: 0),
        "sudo": Wrapper(valued: ["-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--user", "--group",
                                 "--host", "--prompt", "--chdir", "--role", "--type", "--other-user"], positionals: 0),
        "doas": Wrapper(valued: ["-u", "-C"], positionals: 0),
        "runuser": Wrapper(valued: ["-u", "-g", "-G", "--user", "--group", "--supp-group", "-s", "--shell"], positionals: 0),
        "env": Wrapper(valued: ["-u", "--unset", "-C", "--chdir"], positionals: 0),
        "timeout": Wrapper(valued: ["-s", "-k", "--signal", "--kill-after"], positionals: 1),
        "flock": Wrapper(valued: ["-w", "-E", "--timeout", "--wait", "--conflict-exit-code"], positionals: 1),
        "lckdo": Wrapper(valued: ["-w"], positionals: 1),
        "setlock": Wrapper(valued: [], positionals: 1),
        "taskset": Wrapper(valued: [], positionals: 1),
        "chrt": Wrapper(valued: [], positionals: 1),
        "systemd-cat": Wrapper(valued: ["-t", "-p", "--identifier", "--priority", "--stderr-priority"], positionals: 0),
    ]

    private static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"]

    /// Interpreters whose first plain argument is the script that names the job.
    private struct Interpreter {
        var valued: Set<String>
        /// Options whose value is the program itself (`python -m module`, `java -jar x.jar`).
        var programOptions: Set<String>
        /// Options whose value is inline code: the interpreter is all there is to name.
        var inlineOptions: Set<String>
    }

    private static let interpreters: [String: Interpreter] = [
        "python": Interpreter(valued: ["-W", "-X"], programOptions: ["-m"], inlineOptions: ["-c"]),
        "pypy": Interpreter(valued: ["-W", "-X"], programOptions: ["-m"], inlineOptions: ["-c"]),
        "perl": Interpreter(valued: [], programOptions: [], inlineOptions: ["-e", "-E"]),
        "ruby": Interpreter(valued: ["-I", "-r"], programOptions: [], inlineOptions: ["-e"]),
        "php": Interpreter(valued: ["-c", "-d", "-z"], programOptions: ["-f"], inlineOptions: ["-r"]),
        "node": Interpreter(valued: ["-r", "--require"], programOptions: [], inlineOptions: ["-e", "--eval", "-p", "--print"]),
        "nodejs": Interpreter(valued: ["-r", "--require"], programOptions: [], inlineOptions: ["-e", "--eval", "-p", "--print"]),
        "lua": Interpreter(valued: ["-l"], programOptions: [], inlineOptions: ["-e"]),
        "rscript": Interpreter(valued: [], programOptions: [], inlineOptions: ["-e"]),
        "java": Interpreter(valued: ["-cp", "-classpath", "--class-path"], programOptions: ["-jar"], inlineOptions: []),
    ]

    /// How many wrappers and nested `sh -c` scripts are looked through: real lines nest two
    /// or three; the bound keeps a hostile line from exhausting the stack.
    private static let maximumDepth = 12

    /// The program a shell command line is about, and its arguments: the first simple command
    /// that is not stage-setting, with wrappers (`nice`, `flock`, `sudo -u`, `sh -c '…'`) and
    /// interpreters (`python3 script.py`) looked through.
    private static func mainProgram(in command: String, depth: Int) -> (String, ArraySlice<String>)? {
        guard depth < maximumDepth else { return nil }
        var minor: (String, ArraySlice<String>)?
        for words in ShellWords.simpleCommands(command) {
            guard let found = program(in: words[...], depth: depth) else { continue }
            let name = baseName(found.0) ?? found.0
            if stageCommands.contains(name) { continue }
            if minorCommands.contains(name) {
                if minor == nil { minor = found }
                continue
            }
            return found
        }
        return minor
    }

    private static func program(in words: ArraySlice<String>, depth: Int) -> (String, ArraySlice<String>)? {
        guard depth < maximumDepth else { return nil }
        var rest = words
        while let first = rest.first, prefixWords.contains(first) || isAssignment(first) { rest = rest.dropFirst() }
        guard let first = rest.first, let name = baseName(first) else { return nil }
        let family = String(name.reversed().drop { $0.isASCIIDigit || $0 == "." }.reversed()).lowercased()
        rest = rest.dropFirst()
        if name == "su" || name == "runuser", let script = commandOption(rest) {
            return mainProgram(in: script, depth: depth + 1)
        }
        if name == "su" { return nil }
        if let wrapper = wrappers[name] {
            skipOptions(&rest, valued: wrapper.valued)
            rest = rest.dropFirst(wrapper.positionals)
            if let option = rest.first, option == "-c" || option == "--command" {
                return rest.dropFirst().first.flatMap { mainProgram(in: $0, depth: depth + 1) }
            }
            return program(in: rest, depth: depth + 1)
        }
        if shells.contains(family) {
            while let option = rest.first, option.hasPrefix("-") || option.hasPrefix("+"), option.count > 1 {
                rest = rest.dropFirst()
                if option == "--" { break }
                if ["-o", "+o", "-O", "+O"].contains(option) {
                    rest = rest.dropFirst()
                } else if !option.hasPrefix("--"), option.dropFirst().contains("c") {
                    return rest.first.flatMap { mainProgram(in: $0, depth: depth + 1) }
                }
            }
            guard let script = rest.first else { return (first, rest) }
            return (script, rest.dropFirst())
        }
        if let interpreter = interpreters[family] {
            while let option = rest.first, option.hasPrefix("-") {
                rest = rest.dropFirst()
                if option == "--" { break }
                if interpreter.inlineOptions.contains(option) { return (first, []) }
                if interpreter.programOptions.contains(option), let program = rest.first {
                    return (program, rest.dropFirst())
                }
                if interpreter.valued.contains(option) { rest = rest.dropFirst() }
            }
            guard let script = rest.first else { return (first, rest) }
            return (script, rest.dropFirst())
        }
        return (first, rest)
    }

    /// The script after a `-c`/`--command` anywhere in the words (`su - postgres -c '…'`).
    private static func commandOption(_ words: ArraySlice<String>) -> String? {
        for index in words.indices where words[index] == "-c" || words[index] == "--command" {
            return words.indices.contains(index + 1) ? words[index + 1] : nil
        }
        return nil
    }

    private static func skipOptions(_ words: inout ArraySlice<String>, valued: Set<String>) {
        while let option = words.first, option.hasPrefix("-"), option.count > 1 {
            words = words.dropFirst()
            if option == "--" { return }
            if valued.contains(option) { words = words.dropFirst() }
        }
    }

    private static func isAssignment(_ word: String) -> Bool {
        guard let equals = word.firstIndex(of: "="), equals != word.startIndex else { return false }
        let name = word[..<equals]
        guard let first = name.first, first == "_" || first.isASCIILetter else { return false }
        return name.allSatisfy { $0 == "_" || $0.isASCIILetter || $0.isASCIIDigit }
    }

    /// The directory `run-parts` runs: its last plain argument.
    private static func runPartsDirectory(_ arguments: ArraySlice<String>) -> String? {
        var rest = arguments
        skipOptions(&rest, valued: ["-a", "--arg", "-u", "--umask"])
        return rest.last
    }

    /// What the first argument says about the run: a plain word's base name, else a long
    /// option's name (`--rotate-logs`).
    private static func firstArgument(_ arguments: ArraySlice<String>) -> String? {
        if let plain = arguments.first(where: { !$0.hasPrefix("-") }) { return baseName(plain) }
        guard let option = arguments.first(where: { $0.hasPrefix("--") && $0.count > 2 }) else { return nil }
        return String(option.dropFirst(2).prefix { $0 != "=" })
    }

    // MARK: Names

    private static let scriptExtensions: Set<String> = [
        "sh", "bash", "zsh", "ksh", "py", "pl", "pm", "rb", "php", "js", "mjs", "ts", "lua", "tcl", "awk", "jar", "r",
    ]

    /// The last path component without a script extension (`rotate-logs.sh` → `rotate-logs`).
    static func baseName(_ path: String) -> String? {
        guard let component = path.split(separator: "/").last else { return nil }
        if let dot = component.lastIndex(of: "."), dot != component.startIndex,
           scriptExtensions.contains(component[component.index(after: dot)...].lowercased()) {
            return String(component[..<dot])
        }
        return String(component)
    }

    /// Lower-case letters, digits and single hyphens, starting with a letter, at most 63
    /// characters: the shape of an identity name. Nil when nothing of `text` survives.
    static func sanitised(_ text: String) -> String? {
        var result = ""
        for character in text.lowercased() {
            if character.isASCIILetter || (character.isASCIIDigit && !result.isEmpty) {
                result.append(character)
            } else if !result.isEmpty, result.last != "-" {
                result.append("-")
            }
        }
        let trimmed = trimmedName(result, to: 63)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// `text` cut to `length` characters without a trailing hyphen.
    static func trimmedName(_ text: String, to length: Int) -> String {
        var result = String(text.prefix(length))
        while result.last == "-" { result.removeLast() }
        return result
    }
}

/// Just enough of the shell's grammar to find the commands in a line: words (with quotes,
/// escapes, `$(…)` and backquotes kept together), redirections dropped, and a new simple
/// command after `;`, `&&`, `||`, `|`, `&`, parentheses and braces. Never fails: unclosed
/// quotes run to the end of the line.
enum ShellWords {
    static func simpleCommands(_ text: String) -> [[String]] {
        var scanner = Scanner(Array(text))
        scanner.run()
        return scanner.commands
    }

    private struct Scanner {
        let characters: [Character]
        var index = 0
        var commands: [[String]] = []
        var current: [String] = []
        var word = ""
        var inWord = false
        /// The next word is a redirection's target, not an argument.
        var dropNextWord = false

        init(_ characters: [Character]) {
            self.characters = characters
        }

        mutating func run() {
            while let character = characters[safe: index] {
                index += 1
                switch character {
                case " ", "\t":
                    endWord()
                case "'":
                    inWord = true
                    while let next = characters[safe: index], next != "'" {
                        word.append(next)
                        index += 1
                    }
                    index += 1
                case "\"":
                    inWord = true
                    doubleQuoted()
                case "\\":
                    inWord = true
                    if let next = characters[safe: index] {
                        word.append(next)
                        index += 1
                    }
                case "$" where characters[safe: index] == "(":
                    inWord = true
                    word.append(character)
                    balanced()
                case "`":
                    inWord = true
                    word.append(character)
                    while let next = characters[safe: index] {
                        word.append(next)
                        index += 1
                        if next == "`" { break }
                    }
                case "&" where characters[safe: index] == ">":
                    endWord()
                    index += 1
                    redirection()
                case ";", "|", "&", "(", ")":
                    endCommand()
                case ">", "<":
                    if inWord, word.allSatisfy(\.isASCIIDigit) {
                        word = ""
                        inWord = false
                    } else {
                        endWord()
                    }
                    redirection()
                case "#" where !inWord:
                    index = characters.count
                case "{", "}":
                    let standsAlone = !inWord && (characters[safe: index].map { " \t;".contains($0) } ?? true)
                    if standsAlone {
                        endCommand()
                    } else {
                        inWord = true
                        word.append(character)
                    }
                default:
                    inWord = true
                    word.append(character)
                }
            }
            endCommand()
        }

        /// After `>`/`<` (or `&>`): the rest of the operator, then the target word is dropped.
        private mutating func redirection() {
            if let next = characters[safe: index], next == ">" || next == "<" { index += 1 }
            if let next = characters[safe: index], next == "&" || next == "|" { index += 1 }
            dropNextWord = true
        }

        private mutating func doubleQuoted() {
            while let next = characters[safe: index] {
                index += 1
                if next == "\"" { return }
                if next == "\\", let escaped = characters[safe: index], "\"\\$`".contains(escaped) {
                    word.append(escaped)
                    index += 1
                } else {
                    word.append(next)
                }
            }
        }

        /// `$(…)` kept as part of the word, nested parentheses included.
        private mutating func balanced() {
            var depth = 0
            while let next = characters[safe: index] {
                word.append(next)
                index += 1
                if next == "(" { depth += 1 }
                if next == ")" {
                    depth -= 1
                    if depth == 0 { return }
                }
            }
        }

        private mutating func endWord() {
            guard inWord else { return }
            if dropNextWord {
                dropNextWord = false
            } else {
                current.append(word)
            }
            word = ""
            inWord = false
        }

        private mutating func endCommand() {
            endWord()
            if !current.isEmpty { commands.append(current) }
            current = []
        }
    }
}

extension Character {
    var isASCIILetter: Bool {
        asciiValue.map { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) } ?? false
    }
}
