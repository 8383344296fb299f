/// Reads one job file's lines into typed values, collecting every problem instead of stopping
/// at the first, so one `ascribe check` run shows everything to fix.
struct JobFileParser {
    /// A key's raw value and where it starts.
    struct Entry {
        var value: String
        var line: Int
        /// 1-based column of the value's first character.
        var column: Int
    }

    struct ListElement {
        var text: String
        /// 0-based character offset of the element (after leading blanks) in the value.
        var offset: Int
    }

    let path: String
    private var diagnostics: [JobFileDiagnostic] = []
    private var entries: [JobKey: Entry] = [:]
    /// The first line of each key, including keys on lines that could not be read.
    private var firstLines: [JobKey: Int] = [:]

    init(path: String) {
        self.path = path
    }

    mutating func parse(_ bytes: [UInt8], zones: (String) -> ZoneRules?,
                        zoneAdvice: (String) -> ZoneNameAdvice) -> JobFileParseResult {
        let name = jobName()
        for line in JobFileText.lines(of: bytes, maximumLineBytes: JobFile.maximumLineBytes) {
            switch line.content {
            case .text(let text):
                read(text, line: line.number)
            case .unreadable(let column, let message, let keyHint):
                report(.error, line: line.number, column: column, key: keyHint, message)
                if let keyHint, firstLines[keyHint] == nil { firstLines[keyHint] = line.number }
            }
        }
        for key in JobKey.allCases where key.isRequired && firstLines[key] == nil {
            report(.error, line: 1, column: 1, key: key, Self.missingMessage(key))
        }
        let definition = build(name: name, zones: zones, zoneAdvice: zoneAdvice)
        let sorted = diagnostics.enumerated()
            .sorted { ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset) }
            .map(\.element)
        let hasErrors = sorted.contains { $0.severity == .error }
        return JobFileParseResult(definition: hasErrors ? nil : definition, diagnostics: capped(sorted))
    }

    /// The first `JobFile.maximumDiagnostics`, then one summary of the rest: a binary file
    /// named `.job` should produce a readable answer, not thousands of lines.
    private func capped(_ sorted: [JobFileDiagnostic]) -> [JobFileDiagnostic] {
        guard sorted.count > JobFile.maximumDiagnostics else { return sorted }
        let rest = sorted[JobFile.maximumDiagnostics...]
        guard let next = rest.first else { return sorted }
        let summary = JobFileDiagnostic(
            path: path, line: next.line, column: next.column,
            severity: rest.contains { $0.severity == .error } ? .error : .warning, key: nil,
            message: "\(rest.count) more problems not shown; is this really a job file?")
        return Array(sorted.prefix(JobFile.maximumDiagnostics)) + [summary]
    }

    // MARK: Lines

    private mutating func read(_ text: String, line: Int) {
        let characters = Array(text)
        var start = 0
        while start < characters.count, characters[start].isBlank { start += 1 }
        guard start < characters.count, characters[start] != "#" else { return }
        guard let equals = characters[start...].firstIndex(of: "=") else {
            report(.error, line: line, column: start + 1, key: nil,
                   "expected `key = value`; comment lines start with #")
            return
        }
        var keyEnd = equals
        while keyEnd > start, characters[keyEnd - 1].isBlank { keyEnd -= 1 }
        guard keyEnd > start else {
            report(.error, line: line, column: equals + 1, key: nil, "missing key before `=`")
            return
        }
        var valueStart = equals + 1
        while valueStart < characters.count, characters[valueStart].isBlank { valueStart += 1 }
        var valueEnd = characters.count
        while valueEnd > valueStart, characters[valueEnd - 1].isBlank { valueEnd -= 1 }

        let keyText = String(characters[start..<keyEnd])
        guard let key = JobKey(rawValue: keyText) else {
            report(.error, line: line, column: start + 1, key: nil, Self.unknownKeyMessage(keyText))
            return
        }
        if let first = firstLines[key] {
            report(.error, line: line, column: start + 1, key: key,
                   "`\(key)` is already set on line \(first); each key may appear once")
            return
        }
        firstLines[key] = line
        let value = String(characters[valueStart..<valueEnd])
        entries[key] = Entry(value: value, line: line, column: valueStart + 1)
        if value.isEmpty {
            report(.error, line: line, column: valueStart + 1, key: key,
                   key.isRequired ? "empty value; `\(key)` is required" : "empty value; remove the line to use the default")
        }
    }

    private static func unknownKeyMessage(_ text: String) -> String {
        let shown = "`\(shorten(text))`"
        if ["name", "job", "job-name"].contains(text.lowercased()) {
            return "unknown key \(shown); a job's name is its file name (`<name>.job`)"
        }
        if let suggestion = JobKey.suggestion(for: text) {
            let note = text.lowercased() == suggestion.rawValue ? " (keys are case-sensitive)" : ""
            return "unknown key \(shown); did you mean `\(suggestion)`?\(note)"
        }
        return "unknown key \(shown); known keys: " + JobKey.allCases.map(\.rawValue).joined(separator: ", ")
    }

    private static func missingMessage(_ key: JobKey) -> String {
        let example = switch key {
        case .schedule: "schedule = */15 * * * *"
        case .identity: "identity = stale-lock-reaper"
        case .owner: "owner = storage-team <storage-oncall@example.com>"
        default: "command = /usr/bin/find /tmp -name '*.lock' -mmin +60 -delete"
        }
        return "missing required key `\(key)`, e.g. `\(example)`"
    }

    // MARK: Values

    private mutating func jobName() -> JobName? {
        let stem = JobFile.stem(of: path)
        do throws(NameError) {
            return try JobName(stem)
        } catch {
            report(.error, line: 1, column: 1, key: nil,
                   "the file name gives the job name \"\(Self.shorten(stem))\", which is not valid: \(error); rename the file")
            return nil
        }
    }

    private mutating func build(name: JobName?, zones: (String) -> ZoneRules?,
                                zoneAdvice: (String) -> ZoneNameAdvice) -> JobDefinition? {
        let schedule = schedule()
        let identity = identity()
        let owner = interpret(.owner, Owner.init(parsing:))
        if let owner, !owner.hasContactAddress, let entry = entries[.owner] {
            let message = owner.contact.map { "owner contact \"\(Self.shorten($0))\" is not an e-mail address or URL; add one like `storage-team <storage-oncall@example.com>`" }
                ?? "owner has no contact address; add one like `storage-team <storage-oncall@example.com>`"
            report(.warning, line: entry.line, column: entry.column, key: .owner, message)
        }
        if let owner, IdentityName.isBanned(owner.name), let entry = entries[.owner] {
            report(.warning, line: entry.line, column: entry.column, key: .owner,
                   "owner \"\(Self.shorten(owner.name))\" names no person or team; name who answers for this job, like `storage-team <storage-oncall@example.com>`")
        }
        let shell = interpret(.shell) { text throws(JobValueError) in
            guard text.hasPrefix("/") else {
                throw JobValueError(offset: 0, reason: "must be an absolute path such as /bin/sh")
            }
            if let blank = Array(text).firstIndex(where: \.isBlank) {
                throw JobValueError(offset: blank, reason: "must be one path such as /bin/sh, without arguments")
            }
            return text
        }
        let command = command(shell: shell)
        let runAs = interpret(.runAs, RunAs.init(parsing:))
        if let runAs, runAs.isSpelledAsRoot, let entry = entries[.runAs] {
            report(.warning, line: entry.line, column: entry.column, key: .runAs,
                   "run-as: runs as uid 0; give the job an unprivileged user that can change only what it needs to")
        }
        let credentials = credentials()
        let tokens = tokens(besides: credentials)
        let timezone = timezone(zones: zones, zoneAdvice: zoneAdvice)
        let timeout = interpret(.timeout, TimeSpan.init(parsing:))
        let killGrace = interpret(.killGrace, TimeSpan.init(parsing:)) ?? JobDefinition.defaultKillGrace
        let overlap = choice(.overlap, default: OverlapPolicy.skip)
        let catchUp = choice(.catchUp, default: CatchUpPolicy.none)
        let placement = choice(.placement, default: Placement.once)
        let workingDirectory = interpret(.workingDirectory) { text throws(JobValueError) in
            guard text.hasPrefix("/") else {
                throw JobValueError(offset: 0, reason: "\"\(Self.shorten(text))\" is not an absolute path; write one starting with /")
            }
            return text
        } ?? "/"
        let environment = environment()
        let enabled = interpret(.enabled) { text throws(JobValueError) in
            switch text {
            case "yes": return true
            case "no": return false
            default: throw JobValueError(offset: 0, reason: "use yes or no, not \"\(Self.shorten(text))\"")
            }
        } ?? true

        guard let name, let schedule, let identity, let owner, let command else { return nil }
        let positions = entries.mapValues { JobSource.Position(line: $0.line, column: $0.column) }
        return JobDefinition(
            name: name, schedule: schedule, identity: identity, owner: owner, command: command,
            runAs: runAs, credentials: credentials, tokens: tokens, purpose: usable(.purpose)?.value,
            runbook: usable(.runbook)?.value, timezone: timezone, timeout: timeout, killGrace: killGrace,
            overlap: overlap, catchUp: catchUp, placement: placement, workingDirectory: workingDirectory,
            environment: environment, enabled: enabled, source: JobSource(path: path, positions: positions))
    }

    private mutating func schedule() -> Schedule? {
        guard let entry = usable(.schedule) else { return nil }
        do throws(CronSyntaxError) {
            return try Schedule(parsing: entry.value)
        } catch {
            for each in Schedule.syntaxErrors(in: entry.value) {
                fail(.schedule, entry, offset: each.offset, "schedule: \(each.description)")
            }
            return nil
        }
    }

    private mutating func identity() -> IdentityName? {
        guard let entry = usable(.identity) else { return nil }
        do throws(NameError) {
            return try IdentityName(entry.value)
        } catch {
            let message = if case .banned = error { error.description } else { "identity: \(error.description)" }
            fail(.identity, entry, offset: error.offset, message)
            return nil
        }
    }

    /// With a `shell` line (even an invalid one) the value is a script; without, it is split
    /// into argv words.
    private mutating func command(shell: String?) -> JobCommand? {
        guard let entry = usable(.command) else { return nil }
        if entries[.shell] != nil {
            return shell.map { .shell(program: $0, script: entry.value) }
        }
        do throws(JobValueError) {
            let words = try CommandSplitter.split(entry.value)
            guard let program = words.first, !program.text.isEmpty else {
                fail(.command, entry, offset: 0, "command: the program name is empty")
                return nil
            }
            for word in words where word.looksLikeShellSyntax {
                report(.warning, line: entry.line, column: entry.column + word.offset, key: .command,
                       "command: `\(Self.shorten(word.text))` is passed to the program literally; set `shell = /bin/sh` to run the command through a shell")
            }
            return .argv(words.map(\.text))
        } catch {
            fail(.command, entry, offset: error.offset, "command: \(error.reason)")
            return nil
        }
    }

    private mutating func credentials() -> [CredentialName] {
        guard let entry = usable(.credentials) else { return [] }
        var names: [CredentialName] = []
        for element in Self.listElements(entry.value, escapes: false) {
            do throws(JobValueError) {
                let name = try CredentialName(element.text)
                guard !names.contains(name) else {
                    fail(.credentials, entry, offset: element.offset, "credentials: `\(name)` is listed twice")
                    continue
                }
                names.append(name)
            } catch {
                fail(.credentials, entry, offset: element.offset + error.offset, "credentials: \(error.reason)")
            }
        }
        return names
    }

    /// `NAME=AUDIENCE` pairs; a name whose `NAME.jwt` is also a listed credential is refused,
    /// since both would be the same file in the run's credentials directory.
    private mutating func tokens(besides credentials: [CredentialName]) -> [TokenRequest] {
        guard let entry = usable(.tokens) else { return [] }
        var tokens: [TokenRequest] = []
        for element in Self.listElements(entry.value, escapes: false) {
            do throws(JobValueError) {
                let token = try TokenRequest(parsing: element.text)
                guard !tokens.contains(where: { $0.name == token.name }) else {
                    fail(.tokens, entry, offset: element.offset, "tokens: `\(token.name)` is listed twice")
                    continue
                }
                guard !credentials.contains(where: { $0.rawValue == token.fileName }) else {
                    fail(.tokens, entry, offset: element.offset,
                         "tokens: `\(token.name)` would be \(token.fileName), which credentials already names; rename one")
                    continue
                }
                tokens.append(token)
            } catch {
                fail(.tokens, entry, offset: element.offset + error.offset, "tokens: \(error.reason)")
            }
        }
        return tokens
    }

    private mutating func environment() -> [EnvironmentVariable] {
        guard let entry = usable(.environment) else { return [] }
        var variables: [EnvironmentVariable] = []
        for element in Self.listElements(entry.value, escapes: true) {
            guard let equals = element.text.firstIndex(of: "=") else {
                let message = element.text.isEmpty
                    ? "environment: empty entry (two commas in a row, or a comma at an end)"
                    : "environment: \"\(Self.shorten(element.text))\" has no `=`; write NAME=value pairs separated by commas"
                fail(.environment, entry, offset: element.offset, message)
                continue
            }
            let name = String(element.text[..<equals])
            let value = String(element.text[element.text.index(after: equals)...])
            do throws(JobValueError) {
                let variable = try EnvironmentVariable(name: name, value: value)
                guard !variables.contains(where: { $0.name == name }) else {
                    fail(.environment, entry, offset: element.offset, "environment: `\(name)` is set twice")
                    continue
                }
                variables.append(variable)
            } catch {
                fail(.environment, entry, offset: element.offset + error.offset, "environment: \(error.reason)")
            }
        }
        return variables
    }

    private mutating func timezone(zones: (String) -> ZoneRules?, zoneAdvice: (String) -> ZoneNameAdvice) -> ZoneRules? {
        guard let entry = usable(.timezone) else { return nil }
        guard let rules = zones(entry.value) else {
            fail(.timezone, entry, offset: 0, "timezone: " + zoneAdvice(entry.value).message(for: Self.shorten(entry.value)))
            return nil
        }
        return rules
    }

    private mutating func choice<Choice: CaseIterable & RawRepresentable>(_ key: JobKey, default fallback: Choice) -> Choice
    where Choice.RawValue == String {
        guard let entry = usable(key) else { return fallback }
        if let chosen = Choice(rawValue: entry.value) { return chosen }
        let options = Choice.allCases.map(\.rawValue)
        var message = "\(key): \"\(Self.shorten(entry.value))\" is not one of \(options.joined(separator: ", "))"
        let folded = entry.value.lowercased()
        if let near = options.first(where: { $0 == folded || EditDistance.between($0, folded) <= 1 }) {
            message += "; did you mean `\(near)`?"
        }
        fail(key, entry, offset: 0, message)
        return fallback
    }

    /// Runs a value through its parser; a failure becomes an error pointing inside the value.
    private mutating func interpret<Value>(_ key: JobKey, _ parse: (String) throws(JobValueError) -> Value) -> Value? {
        guard let entry = usable(key) else { return nil }
        do throws(JobValueError) {
            return try parse(entry.value)
        } catch {
            fail(key, entry, offset: error.offset, "\(key): \(error.reason)")
            return nil
        }
    }

    /// The entry for `key` when it is present with a non-empty value.
    private func usable(_ key: JobKey) -> Entry? {
        guard let entry = entries[key], !entry.value.isEmpty else { return nil }
        return entry
    }

    /// Splits a comma list, trimming blanks around each element. With `escapes`, `\,` is a
    /// literal comma and `\\` a literal backslash.
    static func listElements(_ value: String, escapes: Bool) -> [ListElement] {
        let characters = Array(value)
        var ranges: [Range<Int>] = []
        var from = 0
        var index = 0
        while index < characters.count {
            if escapes, characters[index] == "\\", index + 1 < characters.count {
                index += 2
                continue
            }
            if characters[index] == "," {
                ranges.append(from..<index)
                from = index + 1
            }
            index += 1
        }
        ranges.append(from..<characters.count)
        return ranges.map { range in
            var low = range.lowerBound
            var high = range.upperBound
            while low < high, characters[low].isBlank { low += 1 }
            while high > low, characters[high - 1].isBlank { high -= 1 }
            var text = ""
            var cursor = low
            while cursor < high {
                if escapes, characters[cursor] == "\\", cursor + 1 < high, ",\\".contains(characters[cursor + 1]) {
                    text.append(characters[cursor + 1])
                    cursor += 2
                } else {
                    text.append(characters[cursor])
                    cursor += 1
                }
            }
            return ListElement(text: text, offset: low)
        }
    }

    /// Quoted values stay readable in a message even when the value is 16 KiB long.
    static func shorten(_ text: String) -> String {
        text.count > 60 ? String(text.prefix(60)) + "…" : text
    }

    // MARK: Reporting

    private mutating func fail(_ key: JobKey, _ entry: Entry, offset: Int, _ message: String) {
        report(.error, line: entry.line, column: entry.column + offset, key: key, message)
    }

    private mutating func report(_ severity: Severity, line: Int, column: Int, key: JobKey?, _ message: String) {
        diagnostics.append(JobFileDiagnostic(path: path, line: line, column: column, severity: severity, key: key, message: message))
    }
}

extension Character {
    /// Space or tab: the only characters job files treat as blank.
    var isBlank: Bool { self == " " || self == "\t" }
}
