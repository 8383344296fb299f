/// One crontab line, classified the way Debian's cron reads it (`env.c`, `entry.c`): an
/// environment setting is tried first, so `A = b c` is a variable and `* * * * * a=b` a job.
enum CrontabLine: Equatable {
    /// Blank, or a comment (`#` as the first non-blank character).
    case ignored
    case variable(name: String, value: String)
    case entry(CrontabEntry)
    /// cron rejects the line (or a job file could not hold it): it is reported and skipped.
    case invalid(CrontabLineProblem)

    /// Longest line taken, in bytes: it must still fit a job file line once prefixed with
    /// `command = ` or `#   `.
    static let maximumBytes = JobFile.maximumLineBytes - 256

    /// Classifies one line's bytes (no line terminator).
    static func classify(_ bytes: ArraySlice<UInt8>, format: CrontabFormat) -> CrontabLine {
        guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x09 }), first != UInt8(ascii: "#") else {
            return .ignored
        }
        if bytes.count > maximumBytes { return .invalid(.unreadable(.tooLong(bytes: bytes.count))) }
        if JobFileText.firstBadByte(bytes) != nil { return .invalid(.unreadable(.notUTF8)) }
        let text = String(decoding: bytes, as: UTF8.self)
        if let refused = text.unicodeScalars.first(where: isRefused) {
            return .invalid(.unreadable(.controlCharacter(refused.value)))
        }
        let characters = Array(text)
        switch variable(in: characters) {
        case .setting(let name, let value): return .variable(name: name, value: value)
        case .emptyValue(let name): return .invalid(.emptyVariable(name: name))
        case .notAVariable: return entry(in: characters, format: format)
        }
    }

    /// Control characters other than tab, and the bidirectional overrides a job file refuses.
    static func isRefused(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (value < 0x20 && value != 0x09) || (0x7F...0x9F).contains(value)
            || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
    }

    // MARK: Environment settings

    private enum VariableParse {
        case setting(name: String, value: String)
        /// `NAME=` with nothing after it: cron does not take it as a setting and rejects the line.
        case emptyValue(name: String)
        case notAVariable
    }

    /// `name = value`: blanks around `=` optional; name and value may each be quoted (`'…'` or
    /// `"…"`, matching) to keep blanks; nothing but blanks may follow a closing quote; an
    /// unquoted value loses its trailing blanks.
    private static func variable(in characters: [Character]) -> VariableParse {
        var index = skipBlanks(characters, from: 0)
        var name = ""
        if let quote = characters[safe: index], quote == "'" || quote == "\"" {
            index += 1
            while let character = characters[safe: index], character != quote {
                if character == "=" { return .notAVariable }
                name.append(character)
                index += 1
            }
            guard index < characters.count else { return .notAVariable }
            index += 1
        } else {
            while let character = characters[safe: index], !character.isBlank, character != "=" {
                name.append(character)
                index += 1
            }
        }
        index = skipBlanks(characters, from: index)
        guard characters[safe: index] == "=" else { return .notAVariable }
        index = skipBlanks(characters, from: index + 1)
        guard let valueStart = characters[safe: index] else { return .emptyValue(name: name) }
        if valueStart == "'" || valueStart == "\"" {
            guard let close = characters[(index + 1)...].firstIndex(of: valueStart) else { return .notAVariable }
            guard skipBlanks(characters, from: close + 1) == characters.count else { return .notAVariable }
            return .setting(name: name, value: String(characters[(index + 1)..<close]))
        }
        var end = characters.count
        while end > index, characters[end - 1].isBlank { end -= 1 }
        return .setting(name: name, value: String(characters[index..<end]))
    }

    // MARK: Entries

    /// `minute hour day month weekday [user] command`, or `@macro [user] command`.
    private static func entry(in characters: [Character], format: CrontabFormat) -> CrontabLine {
        var index = 0
        var fields: [String] = []
        guard let first = nextWord(characters, &index) else { return .ignored }
        if first.hasPrefix("@") {
            if first != first.lowercased(), CronExpression.macros[first.lowercased()] != nil || first.lowercased() == "@reboot" {
                return .invalid(.macroCase(first))
            }
            fields = [first]
        } else {
            fields = [first]
            while fields.count < 5, let word = nextWord(characters, &index) { fields.append(word) }
        }
        if fields.count == 5 {
            if let token = extensionToken(dayOfMonth: fields[2], dayOfWeek: fields[4]) {
                return .invalid(.ascribeExtension(token))
            }
        }
        let scheduleText = fields.joined(separator: " ")
        let schedule: Schedule
        do throws(CronSyntaxError) {
            schedule = try Schedule(parsing: scheduleText)
        } catch {
            return .invalid(.schedule(error))
        }
        var user: RunAs?
        if format == .system {
            guard let word = nextWord(characters, &index) else { return .invalid(.missingUser) }
            switch cronUser(word) {
            case .success(let runAs): user = runAs
            case .failure(let problem): return .invalid(problem)
            }
        }
        index = skipBlanks(characters, from: index)
        var end = characters.count
        while end > index, characters[end - 1].isBlank { end -= 1 }
        guard end > index else { return .invalid(.missingCommand) }
        return .entry(CrontabEntry(scheduleText: scheduleText, schedule: schedule, user: user,
                                   command: String(characters[index..<end])))
    }

    /// The first token Debian's crontab syntax lacks but Ascribe's schedules accept (`L`, `LW`,
    /// `5L`, `FRI#2`): cron refused such a line, so importing it would start running a job
    /// that never ran. Day and month names contain no `l`, so any `l` is the extension.
    private static func extensionToken(dayOfMonth: String, dayOfWeek: String) -> String? {
        if dayOfMonth.contains(where: { $0 == "L" || $0 == "l" }) { return dayOfMonth }
        if dayOfWeek.contains(where: { $0 == "L" || $0 == "l" || $0 == "#" }) { return dayOfWeek }
        return nil
    }

    /// cron looks the user field up by name (`getpwnam`): no `user:group`, no numeric uid.
    private static func cronUser(_ word: String) -> Result<RunAs, CrontabLineProblem> {
        if word.contains(":") {
            return .failure(.invalidUser(word, reason: "cron takes a user name only, no :group"))
        }
        if word.allSatisfy(\.isASCIIDigit) {
            return .failure(.invalidUser(word, reason: "cron looks the user up by name, so a number is not a uid here"))
        }
        do throws(JobValueError) {
            return .success(try RunAs(parsing: word))
        } catch {
            return .failure(.invalidUser(word, reason: error.reason))
        }
    }

    private static func nextWord(_ characters: [Character], _ index: inout Int) -> String? {
        index = skipBlanks(characters, from: index)
        let start = index
        while let character = characters[safe: index], !character.isBlank { index += 1 }
        return index > start ? String(characters[start..<index]) : nil
    }

    private static func skipBlanks(_ characters: [Character], from start: Int) -> Int {
        var index = start
        while let character = characters[safe: index], character.isBlank { index += 1 }
        return index
    }
}

/// A crontab line that schedules a command.
struct CrontabEntry: Equatable {
    /// The five fields joined by single spaces, or the macro as written.
    var scheduleText: String
    var schedule: Schedule
    /// The user field of a system crontab; nil in a user crontab.
    var user: RunAs?
    /// Everything after the fields (and user), trailing blanks removed, `%` still in it.
    var command: String
}

/// Why a crontab line was not imported.
public enum CrontabLineProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The line's bytes cannot go into a job file.
    case unreadable(UnreadableLine)
    case schedule(CronSyntaxError)
    /// `L`, `LW`, `5L` or `#`: Ascribe syntax that Debian's cron rejects.
    case ascribeExtension(String)
    /// `@DAILY`: Debian's cron knows the macros in lowercase only.
    case macroCase(String)
    /// `NAME=` with nothing after the `=`.
    case emptyVariable(name: String)
    case missingUser
    case invalidUser(String, reason: String)
    case missingCommand
    /// The line came after a `SHELL=` setting that cannot run anything.
    case unusableShell(String, line: Int)
    /// The line came after a `CRON_TZ=` naming a zone this host does not know.
    case unknownTimeZone(String, line: Int)
    /// The last line has no newline: cron rejects it ("a file without a \n before the EOF is
    /// rude"), so it never ran.
    case missingNewline
    /// The job file made from the line would not parse (the parser's message).
    case jobFileRejected(String)
    /// Every candidate job name is taken (only conceivable with absurd numbers of jobs).
    case noFreeName

    public var description: String {
        switch self {
        case .unreadable(let problem):
            return problem.description
        case .schedule(let error):
            return "invalid schedule: \(error)"
        case .ascribeExtension(let token):
            return "\"\(token)\" is not crontab syntax: Debian's cron rejected this line, so it never ran (job files accept L, LW, 5L and FRI#2)"
        case .macroCase(let macro):
            return "\(macro): Debian's cron knows macros in lowercase only, so it rejected this line and it never ran"
        case .emptyVariable(let name):
            return "`\(Self.shorten(name))=` with nothing after `=` is not a setting to cron (write \(Self.shorten(name))=\"\"), and it rejected the line"
        case .missingUser:
            return "no user field: a system crontab line is `minute hour day month weekday user command` (a user crontab? use --format user)"
        case .invalidUser(let word, let reason):
            return "user field \"\(Self.shorten(word))\" is not a user name: \(reason) (a user crontab? use --format user)"
        case .missingCommand:
            return "no command after the schedule"
        case .unusableShell(let shell, let line):
            return "SHELL=\(Self.shorten(shell)) (line \(line)) is not an absolute path to a program, so cron could not run this command"
        case .unknownTimeZone(let zone, let line):
            return "CRON_TZ=\(Self.shorten(zone)) (line \(line)) is not a time zone this host knows"
        case .missingNewline:
            return "the last line does not end with a newline: cron rejects such a line, so it never ran (add the newline and import again)"
        case .jobFileRejected(let message):
            return "the job file made from it would not load: \(message)"
        case .noFreeName:
            return "no free job name left for this line"
        }
    }

    static func shorten(_ text: String) -> String { JobFileParser.shorten(text) }
}

/// Why a line's bytes cannot become part of a job file.
public enum UnreadableLine: Equatable, Sendable, CustomStringConvertible {
    case notUTF8
    /// A control character other than tab, or a bidirectional override (the code point).
    case controlCharacter(UInt32)
    case tooLong(bytes: Int)

    public var description: String {
        switch self {
        case .notUTF8:
            "the line is not valid UTF-8; a job file is UTF-8 text"
        case .controlCharacter(let value):
            "the line contains control character U+\(JobFileText.hex(value, digits: 4)), which a job file cannot hold"
        case .tooLong(let bytes):
            "the line is \(bytes) bytes long; at most \(CrontabLine.maximumBytes) fit a job file"
        }
    }
}

extension Array {
    /// The element at `index`, or nil outside the array: parsers stay trap-free on any input.
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
