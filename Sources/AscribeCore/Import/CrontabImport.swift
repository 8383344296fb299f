/// Whether a crontab's lines carry a user field between the schedule and the command.
public enum CrontabFormat: String, Sendable, CaseIterable {
    /// `crontab -l`: five time fields and a command; the commands run as the crontab's owner.
    case user
    /// `/etc/crontab` and `/etc/cron.d/*`: five time fields, a user, and a command.
    case system

    /// The format cron itself gives a file at `path`.
    public static func detect(path: String) -> CrontabFormat {
        path == "/etc/crontab" || path.hasPrefix("/etc/cron.d/") ? .system : .user
    }
}

/// One crontab to import: its bytes, and the name findings and job headers cite it by.
public struct CrontabSource: Sendable {
    public var path: String
    public var bytes: [UInt8]
    public var format: CrontabFormat

    public init(path: String, bytes: [UInt8], format: CrontabFormat) {
        self.path = path
        self.bytes = bytes
        self.format = format
    }

    public init(path: String, text: String, format: CrontabFormat) {
        self.init(path: path, bytes: Array(text.utf8), format: format)
    }
}

/// What a human decided before the import; everything else is left for them in the files.
public struct CrontabImportOptions: Sendable {
    /// Written as `owner` into every job; nil leaves each file without one (it then fails
    /// `check` until someone accountable is named).
    public var owner: Owner?
    /// `run-as` for jobs from user crontabs, whose lines name no user.
    public var runAs: RunAs?
    /// Job names already used in the output directory, which the import must not overwrite.
    public var takenJobNames: Set<String>
    /// A user's home directory on this host: cron starts commands there, so it becomes the
    /// job's `working-directory`.
    public var homeDirectory: @Sendable (String) -> HomeDirectory

    public init(owner: Owner? = nil, runAs: RunAs? = nil, takenJobNames: Set<String> = [],
                homeDirectory: @escaping @Sendable (String) -> HomeDirectory = { _ in .unknownUser }) {
        self.owner = owner
        self.runAs = runAs
        self.takenJobNames = takenJobNames
        self.homeDirectory = homeDirectory
    }
}

/// What the host knows about a user's home directory.
public enum HomeDirectory: Equatable, Sendable {
    case directory(String)
    /// The user exists, but its home is not a directory here (`nobody`'s `/nonexistent`):
    /// cron's `chdir` fails and the command runs where cron is, so no working directory is set.
    case missing
    case unknownUser
}

/// The command of an imported job.
public enum ImportedCommand: Hashable, Sendable {
    /// The script cron handed to the shell (`\%` already turned into `%`).
    case ready(String)
    /// An unescaped `%` gave the command standard input, which jobs do not have: the file is
    /// written without a `command` line until a human picks one.
    case undecided(command: String, standardInput: String)
}

/// One crontab line turned into a job file.
public struct ImportedJob: Equatable, Sendable {
    public var name: JobName
    public var identity: IdentityName
    public var origin: CrontabLocation
    /// The crontab line as written.
    public var originalLine: String
    public var schedule: Schedule
    public var shell: String
    public var command: ImportedCommand
    public var runAs: RunAs?
    /// From `CRON_TZ`; nil: the daemon's zone, as cron used the system's.
    public var timezone: String?
    public var workingDirectory: String?
    public var environment: [EnvironmentVariable]
    /// The job file, ready to be written as `<name>.job`.
    public var fileText: String

    /// True unless the command awaits a decision: the file then loads once it has an owner.
    public var loadsOnceOwned: Bool {
        if case .ready = command { return true }
        return false
    }
}

/// Job files and everything a human must look at.
public struct CrontabImportResult: Sendable {
    /// In crontab order.
    public var jobs: [ImportedJob]
    /// In crontab order, by line.
    public var findings: [ImportFinding]

    public var skippedLines: Int { findings.filter { $0.effect == .lineSkipped }.count }

    /// Every crontab entry became a job that loads once it has an owner.
    public var isComplete: Bool {
        !findings.contains { $0.effect == .lineSkipped || $0.effect == .commandNeeded }
    }
}

/// Converts crontabs into job files (`ascribe import`). Pure: text in, file texts and findings
/// out. It never invents attribution: identities are suggested from commands and anonymous
/// ones refused, and without an owner option each file is left failing `check` until a human
/// names who is accountable.
public enum CrontabImport {
    /// Converts one crontab.
    static func convert(text: String, source: String, format: CrontabFormat,
                               options: CrontabImportOptions, zones: (String) -> ZoneRules?) -> CrontabImportResult {
        convert([CrontabSource(path: source, text: text, format: format)], options: options, zones: zones)
    }

    /// Converts several crontabs as one import, so identities and job names are unique
    /// across all of them.
    public static func convert(_ sources: [CrontabSource], options: CrontabImportOptions,
                               zones: (String) -> ZoneRules?) -> CrontabImportResult {
        var importer = CrontabImporter(options: options)
        for source in sources { importer.add(source, zones: zones) }
        return CrontabImportResult(jobs: importer.jobs, findings: importer.findings)
    }

    /// An `--owner` value: a valid owner on one line, since it is written into every file.
    public static func owner(parsing text: String) throws(JobValueError) -> Owner {
        let trimmed = text.trimmingWhitespace
        guard !trimmed.isEmpty else {
            throw JobValueError(offset: 0, reason: "empty owner; write it like `storage-team <storage-oncall@example.com>`")
        }
        if let offset = trimmed.unicodeScalars.firstIndex(where: CrontabLine.isRefused) {
            let position = trimmed.unicodeScalars.distance(from: trimmed.unicodeScalars.startIndex, to: offset)
            throw JobValueError(offset: position, reason: "control characters cannot go into a job file")
        }
        return try Owner(parsing: trimmed)
    }
}

/// The state of one import: names handed out so far, the jobs and the findings.
struct CrontabImporter {
    let options: CrontabImportOptions
    private(set) var jobs: [ImportedJob] = []
    private(set) var findings: [ImportFinding] = []
    /// Identities (and job names: each job is named after its identity) handed out.
    private var used: Set<String> = []

    init(options: CrontabImportOptions) {
        self.options = options
    }

    mutating func add(_ source: CrontabSource, zones: (String) -> ZoneRules?) {
        if Self.isIgnoredByCron(source.path) {
            findings.append(ImportFinding(location: CrontabLocation(path: source.path, line: 1), jobs: [], kind: .fileIgnoredByCron))
            return
        }
        var settings = CrontabSettings()
        var lineFindings: [ImportFinding] = []
        let lines = Self.lines(of: source.bytes)
        for line in lines {
            let location = CrontabLocation(path: source.path, line: line.number)
            switch CrontabLine.classify(line.bytes, format: source.format) {
            case .ignored:
                continue
            case .invalid(let problem):
                lineFindings.append(ImportFinding(location: location, jobs: [], kind: .skipped(problem)))
            case .variable(let name, let value):
                settings.set(name, value, line: line.number)
            case .entry(let entry):
                guard line.terminated else {
                    lineFindings.append(ImportFinding(location: location, jobs: [], kind: .skipped(.missingNewline)))
                    continue
                }
                var draft = JobDraft(entry: entry, location: location, format: source.format,
                                     original: String(decoding: line.bytes, as: UTF8.self))
                switch build(&draft, settings: &settings, zones: zones) {
                case .success(let job):
                    jobs.append(job)
                    lineFindings += draft.findings.map { ImportFinding(location: location, jobs: [job.name], kind: $0) }
                case .failure(let problem):
                    lineFindings.append(ImportFinding(location: location, jobs: [], kind: .skipped(problem)))
                }
            }
        }
        lineFindings += settings.findings(path: source.path)
        findings += lineFindings.enumerated()
            .sorted { ($0.element.location.line, $0.offset) < ($1.element.location.line, $1.offset) }
            .map(\.element)
    }

    // MARK: One job

    /// Everything gathered about one entry before its file is written.
    struct JobDraft {
        var entry: CrontabEntry
        var location: CrontabLocation
        var format: CrontabFormat
        var original: String
        /// Findings about this job alone, in the order its header shows them.
        var findings: [ImportFindingKind] = []
        /// Findings from the settings it inherited, for its header.
        var inherited: [ImportFindingKind] = []
        /// Plain comments for its header.
        var notes: [String] = []
    }

    private mutating func build(_ draft: inout JobDraft, settings: inout CrontabSettings,
                                zones: (String) -> ZoneRules?) -> Result<ImportedJob, CrontabLineProblem> {
        let entry = draft.entry
        var shell = "/bin/sh"
        if let setting = settings.current("SHELL") {
            guard Self.isUsableShell(setting.value) else { return .failure(.unusableShell(setting.value, line: setting.line)) }
            shell = setting.value
        }
        var timezone: String?
        if let setting = settings.current("CRON_TZ"), !setting.value.isEmpty {
            guard zones(setting.value) != nil, ZoneName.isPlausible(setting.value) else {
                return .failure(.unknownTimeZone(setting.value, line: setting.line))
            }
            timezone = setting.value
        }
        let text = CronCommandText(entry.command)
        guard !text.command.trimmingWhitespace.isEmpty else { return .failure(.missingCommand) }

        let suggestion = IdentitySuggestion(command: text.command)
        let origin = nameOrigin(suggestion, location: draft.location)
        guard let (identity, name, allocation) = allocate(origin.base) else { return .failure(.noFreeName) }
        switch origin {
        case .suggested: break
        case .replaced(let suggested, _): draft.findings.append(.identityReplaced(suggested: suggested, chosen: identity.rawValue))
        case .generic: draft.findings.append(.identityGeneric(chosen: identity.rawValue))
        }
        if let allocation {
            draft.findings.append(allocation == .shared
                ? .identityShared(suggested: origin.base, chosen: identity.rawValue)
                : .nameTaken(suggested: origin.base, chosen: identity.rawValue))
        }

        let command: ImportedCommand = text.standardInput.map { .undecided(command: text.command, standardInput: $0) }
            ?? .ready(text.command)
        if case .undecided(let before, let input) = command {
            draft.findings.append(.standardInput(command: before, input: input))
        }
        if options.owner == nil { draft.findings.append(.missingOwner) }

        let runAs = draft.format == .system ? entry.user : options.runAs
        if runAs == nil { draft.findings.append(.noRunAs) }
        if let runAs, runAs.isSpelledAsRoot { draft.findings.append(.runsAsRoot) }
        if draft.format == .user, ShellWords.simpleCommands(text.command).first?.first == "root" {
            draft.findings.append(.looksLikeSystemCrontab)
        }
        switch entry.schedule {
        case .reboot: draft.findings.append(.rebootMeansDaemonStart)
        case .calendar(let expression) where !expression.canFire: draft.findings.append(.neverFires)
        case .calendar: break
        }

        let inheritance = settings.inherit()
        draft.inherited = inheritance.findings
        var workingDirectory = inheritance.workingDirectory
        if workingDirectory == nil, let runAs {
            switch options.homeDirectory(runAs.user) {
            case .directory(let home) where home.hasPrefix("/") && Self.isOneLine(home):
                workingDirectory = home
                draft.notes.append("cron started commands in the home directory of \(runAs.user), so this job starts in it too.")
            case .missing:
                break
            case .directory, .unknownUser:
                draft.findings.append(.homeUnknown(user: runAs.user))
            }
        }
        if let mailto = settings.current("MAILTO"), mailto.value.isEmpty {
            draft.notes.append("MAILTO was empty: cron sent no mail for this job.")
        }
        if text.command != entry.command, text.standardInput == nil {
            draft.notes.append("cron reads `\\%` as a literal `%`; the command below has `%`.")
        }

        var job = ImportedJob(
            name: name, identity: identity, origin: draft.location, originalLine: draft.original,
            schedule: entry.schedule, shell: shell, command: command, runAs: runAs, timezone: timezone,
            workingDirectory: workingDirectory, environment: inheritance.environment, fileText: "")
        let mailto = settings.current("MAILTO").map(\.value).flatMap { $0.isEmpty ? nil : $0 }
        switch ImportedJobFile.render(job, draft: draft, owner: options.owner, mailto: mailto, zones: zones) {
        case .success(let text):
            job.fileText = text
            settings.record(inheritance, for: name)
            return .success(job)
        case .failure(let problem):
            used.remove(identity.rawValue)
            return .failure(problem)
        }
    }

    /// Where a job's name comes from.
    private enum NameOrigin {
        case suggested(String)
        /// The suggestion was an anonymous actor name.
        case replaced(suggested: String, base: String)
        /// The command named nothing usable.
        case generic(String)

        var base: String {
            switch self {
            case .suggested(let base), .generic(let base), .replaced(_, let base): base
            }
        }
    }

    private func nameOrigin(_ suggestion: IdentitySuggestion, location: CrontabLocation) -> NameOrigin {
        if let primary = suggestion.primary {
            guard IdentityName.isBanned(primary) else { return .suggested(primary) }
            if let longer = suggestion.longer, !IdentityName.isBanned(longer) {
                return .replaced(suggested: primary, base: longer)
            }
            return .replaced(suggested: primary, base: IdentitySuggestion.trimmedName("imported-" + primary, to: 63))
        }
        let stem = IdentitySuggestion.baseName(location.path).flatMap(IdentitySuggestion.sanitised) ?? "crontab"
        return .generic(IdentitySuggestion.trimmedName("imported-\(stem)", to: 50) + "-\(location.line)")
    }

    private enum Allocation {
        /// Another job of this import has the name.
        case shared
        /// A file in the output directory has the name.
        case taken
    }

    /// The first of `base`, `base-2`, `base-3`, … that neither this import nor the output
    /// directory uses. One name serves as identity and job name.
    private mutating func allocate(_ base: String) -> (IdentityName, JobName, Allocation?)? {
        let reason: Allocation? = used.contains(base) ? .shared : options.takenJobNames.contains(base) ? .taken : nil
        let attempts = used.count + options.takenJobNames.count + 2
        for number in 1...attempts {
            let suffix = number == 1 ? "" : "-\(number)"
            let candidate = IdentitySuggestion.trimmedName(base, to: NamePattern.maximumLength - suffix.count) + suffix
            guard !used.contains(candidate), !options.takenJobNames.contains(candidate),
                  let identity = try? IdentityName(candidate), let name = try? JobName(candidate) else { continue }
            used.insert(candidate)
            return (identity, name, number == 1 ? nil : reason)
        }
        return nil
    }

    // MARK: Helpers

    /// One physical line: its bytes without the terminator, and whether it had one.
    struct Line {
        var number: Int
        var bytes: ArraySlice<UInt8>
        var terminated: Bool
    }

    /// Splits on LF, drops one CR before it and a leading UTF-8 byte order mark.
    static func lines(of bytes: [UInt8]) -> [Line] {
        var lines: [Line] = []
        var start = bytes.starts(with: JobFileText.byteOrderMark) ? JobFileText.byteOrderMark.count : 0
        var number = 1
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            var end = newline ?? bytes.count
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            lines.append(Line(number: number, bytes: bytes[start..<end], terminated: newline != nil))
            guard let newline else { break }
            start = newline + 1
            number += 1
        }
        return lines
    }

    /// cron runs `SHELL` with `execle`, which needs a path; a job's `shell` is one absolute path.
    static func isUsableShell(_ value: String) -> Bool {
        value.hasPrefix("/") && !value.contains(where: \.isBlank)
    }

    static func isOneLine(_ text: String) -> Bool {
        !text.unicodeScalars.contains(where: CrontabLine.isRefused)
    }

    /// Debian's cron reads only files in /etc/cron.d named like run-parts scripts:
    /// letters, digits, `_` and `-` (so `php.dpkg-old` never ran).
    static func isIgnoredByCron(_ path: String) -> Bool {
        let prefix = "/etc/cron.d/"
        guard path.hasPrefix(prefix) else { return false }
        let name = path.dropFirst(prefix.count)
        return name.isEmpty || !name.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == "-" }
    }
}

/// IANA-looking zone names only, so a permissive zone lookup cannot put odd text in a file.
enum ZoneName {
    static func isPlausible(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && name.allSatisfy {
            $0.isASCIILetter || $0.isASCIIDigit || "/_+-.".contains($0)
        }
    }
}
