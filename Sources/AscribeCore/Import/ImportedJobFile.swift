/// Writes an imported job as job file text: a header saying where it came from and what a
/// human must look at, then the keys. Every file is parsed back before it is handed out, so
/// the import never produces a file that fails for any reason but the ones it states.
enum ImportedJobFile {
    /// Comment lines are wrapped to this many characters.
    static let width = 100

    /// Exactly what the contract asks a human to fill in.
    static let ownerPlaceholder = "# owner = ?  (who is accountable for this job? e.g. storage-team <storage-oncall@example.com>)"

    static func render(_ job: ImportedJob, draft: CrontabImporter.JobDraft, owner: Owner?, mailto: String?,
                       zones: (String) -> ZoneRules?) -> Result<String, CrontabLineProblem> {
        let location = "\(oneLine(draft.location.path)):\(draft.location.line)"
        var lines = ["# Imported by `ascribe import` from \(location):", "#   " + draft.original]
        for note in draft.notes { lines += comment(note) }
        for kind in draft.inherited + draft.findings {
            switch kind {
            case .missingOwner, .standardInput: continue
            default: lines += comment("REVIEW: " + kind.description)
            }
        }
        if case .undecided(let command, let input) = job.command {
            let trimmed = command.trimmingWhitespace
            lines += comment("DECIDE: cron ran only the text before the first unescaped `%` and fed the rest to it as standard input, each further `%` a newline. Jobs get no standard input, so this file has no `command` line and does not load until you pick one. To feed the same input:")
            lines.append("# command = " + CronCommandText.feedingInput(input, to: trimmed))
            lines += comment("Or, if the `%` was meant literally (a date format such as `date +%F` needs no escape in a job file):")
            lines.append("# command = " + CronCommandText.literal(draft.entry.command))
        }

        lines.append("schedule = \(draft.entry.scheduleText)")
        lines.append("identity = \(job.identity)")
        if let owner {
            guard CrontabImporter.isOneLine(owner.text) else {
                return .failure(.jobFileRejected("the owner holds a control character"))
            }
            lines.append("owner = \(owner.text)")
        } else {
            lines.append(ownerPlaceholder)
            if let mailto { lines += comment("cron mailed this job's output to \(mailto)") }
        }
        lines.append("shell = \(job.shell)")
        if case .ready(let script) = job.command { lines.append("command = \(script)") }
        if let runAs = job.runAs { lines.append("run-as = \(runAs)") }
        if let timezone = job.timezone { lines.append("timezone = \(timezone)") }
        if let directory = job.workingDirectory { lines.append("working-directory = \(directory)") }
        if !job.environment.isEmpty {
            lines.append("environment = " + job.environment.map { "\($0.name)=\(escaped($0.value))" }.joined(separator: ", "))
        }
        lines.append("purpose = imported from \(location): \(summary(of: draft.original))")
        let text = lines.joined(separator: "\n") + "\n"

        let parsed = JobFile.parse(Array(text.utf8), path: "\(job.name).job", zones: zones)
        let unexpected = parsed.errors.filter { error in
            guard error.message.hasPrefix("missing required key") else { return true }
            return !(error.key == .owner && owner == nil) && !(error.key == .command && !job.loadsOnceOwned)
        }
        if let first = unexpected.first { return .failure(.jobFileRejected(first.message)) }
        return .success(text)
    }

    /// `\` and `,` escaped as the `environment` list requires.
    static func escaped(_ value: String) -> String {
        var output = ""
        for character in value {
            if character == "\\" || character == "," { output.append("\\") }
            output.append(character)
        }
        return output
    }

    /// The original line on one short line for `purpose`: blanks collapsed, cut at 100 characters.
    static func summary(of line: String) -> String {
        let collapsed = line.split(whereSeparator: \.isBlank).joined(separator: " ")
        return collapsed.count > 100 ? String(collapsed.prefix(99)) + "…" : collapsed
    }

    /// Text that may hold anything (a file name) made safe for a comment or value line.
    static func oneLine(_ text: String) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            output.unicodeScalars.append(CrontabLine.isRefused(scalar) ? "?" : scalar)
        }
        return output
    }

    /// `# `-prefixed lines of at most `width` characters (a single long word stays whole).
    static func comment(_ text: String) -> [String] {
        var lines: [String] = []
        var current = "#"
        for word in text.split(separator: " ") {
            if current.count > 1, current.count + 1 + word.count > width {
                lines.append(current)
                current = "#"
            }
            current += " " + word
        }
        if current.count > 1 { lines.append(current) }
        return lines
    }
}
