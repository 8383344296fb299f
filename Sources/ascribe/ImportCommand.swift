import AscribeCommandLine
import AscribeCore
import AscribeRuntime

enum ImportCommand {
    enum Options {
        static let out = CommandOption("--out", value: "DIR", help: "the jobs directory to write into (created 0755 if missing)", required: true)
        static let owner = CommandOption("--owner", value: "TEXT", help: "owner for every job, e.g. 'storage-team <storage-oncall@example.com>'")
        static let runAs = CommandOption("--run-as", value: "USER", help: "run-as for jobs from user crontabs (their lines name no user)")
        static let format = CommandOption("--format", value: "user|system", help: "for every input", default: "by path, see above")
        static let force = CommandOption("--force", help: "replace existing files in DIR", default: "pick another name")
        static let dryRun = CommandOption("--dry-run", help: "print the files instead of writing them")
        static let json = CommandOption("--json", help: "one JSON document: jobs, findings, counts")
    }

    static let declaration = CommandDeclaration(
        name: "import", summary: "convert crontabs into job files, listing what needs a human",
        discussion: """
            Converts crontabs into job files, one per crontab line, in DIR. Reads standard input
            when no FILE is given (or FILE is -). /etc/crontab and files under /etc/cron.d/ are
            system crontabs (a user field before the command); anything else is a user crontab
            unless --format says otherwise.

            Each job keeps the line's schedule, runs its command through the crontab's SHELL
            (default /bin/sh), takes the crontab's variables as environment, the user field as
            run-as and a crontab HOME (or the user's home) as working-directory. Its identity is
            suggested from the command; anonymous names (root, cron, admin, ...) are refused and
            replaced. Without --owner each file has no owner and fails `ascribe check` until a
            human names one. A command with an unescaped % (cron's standard-input marker) is
            written without a command line and two suggestions. The summary lists everything a
            human has to decide; each file's header repeats what concerns it. See docs/IMPORT.md.
            """,
        operands: [Operand("FILE", optional: true, repeatable: true)],
        options: [Options.out, Options.owner, Options.runAs, Options.format, Options.force, Options.dryRun, Options.json],
        exitStatus: "0 every line imported (owners may still be missing: that is expected), 1 lines skipped, commands "
            + "awaiting a decision or files not written, 2 bad usage or unreadable input.",
        examples: """
            crontab -l | ascribe import --out jobs.d --run-as "$USER"
            ascribe import /etc/crontab /etc/cron.d/* --out /etc/ascribe/jobs.d --dry-run
            ascribe import /etc/crontab --out jobs.d --owner 'ops-team <ops-oncall@example.com>'
            """)

    /// Where standard input is read from; how findings and headers cite it.
    static let standardInputName = "stdin"

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let directory = arguments.required(Options.out)
        let owner = try arguments.value(Options.owner).map { text throws(UsageError) in
            do throws(JobValueError) {
                return try CrontabImport.owner(parsing: text)
            } catch {
                throw UsageError(message: "--owner \"\(text)\": \(error.reason)")
            }
        }
        let runAs = try arguments.value(Options.runAs).map { text throws(UsageError) in
            do throws(JobValueError) {
                return try RunAs(parsing: text)
            } catch {
                throw UsageError(message: "--run-as \"\(text)\": \(error.reason)")
            }
        }
        let format = try arguments.value(Options.format).map { text throws(UsageError) in
            guard let format = CrontabFormat(rawValue: text) else {
                throw UsageError(message: "--format must be user or system, not \"\(text)\"")
            }
            return format
        }
        let force = arguments.flag(Options.force)
        let dryRun = arguments.flag(Options.dryRun)
        let json = arguments.flag(Options.json)
        let files = try arguments.operands()

        let sources = try read(files.isEmpty ? ["-"] : files, format: format)
        let taken: Set<String>
        do throws(ImportDirectoryError) {
            taken = force ? [] : try ImportWriter.existingJobNames(in: directory)
        } catch {
            throw UsageError(message: error.description)
        }
        let options = CrontabImportOptions(owner: owner, runAs: runAs, takenJobNames: taken,
                                           homeDirectory: { HostAccounts.homeDirectory(ofUser: $0) })
        let zones = HostContext().zones
        let result = CrontabImport.convert(sources, options: options, zones: { zones.rules(for: $0) })

        let outcomes: [ImportWriteOutcome]
        if dryRun {
            outcomes = []
        } else {
            do throws(ImportDirectoryError) {
                outcomes = try ImportWriter.write(result.jobs, into: directory, replacing: force)
            } catch {
                throw UsageError(message: error.description)
            }
        }
        let report = Report(directory: directory, result: result, outcomes: outcomes, dryRun: dryRun, sourceCount: sources.count)
        if json {
            output.line(report.json.rendered)
        } else {
            report.printHuman(to: &output)
        }
        return result.isComplete && report.failures.isEmpty ? .ok : .findings
    }

    /// Reads every input before anything is written: an unreadable one stops the import.
    private static func read(_ files: [String], format: CrontabFormat?) throws(UsageError) -> [CrontabSource] {
        if files.filter({ $0 == "-" }).count > 1 {
            throw UsageError(message: "standard input (-) can be read only once")
        }
        var sources: [CrontabSource] = []
        if files.contains("-"), CrontabReader.standardInputIsTerminal {
            throw UsageError(message: "standard input is a terminal; pipe a crontab in (crontab -l | ascribe import --out DIR) or name the files")
        }
        for file in files {
            do throws(CrontabReadError) {
                if file == "-" {
                    sources.append(CrontabSource(path: standardInputName, bytes: try CrontabReader.readStandardInput(),
                                                 format: format ?? .user))
                } else {
                    sources.append(CrontabSource(path: file, bytes: try CrontabReader.read(path: file),
                                                 format: format ?? CrontabFormat.detect(path: file)))
                }
            } catch {
                throw UsageError(message: error.description)
            }
        }
        return sources
    }
}

/// The summary of one import, for people or for `--json`.
private struct Report {
    let directory: String
    let result: CrontabImportResult
    let outcomes: [ImportWriteOutcome]
    let dryRun: Bool
    let sourceCount: Int

    /// Files that could not be written, by job name.
    var failures: [JobName: String] {
        var failures: [JobName: String] = [:]
        for (job, outcome) in zip(result.jobs, outcomes) {
            if case .failed(_, let reason) = outcome { failures[job.name] = reason }
        }
        return failures
    }

    func path(of job: ImportedJob) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + "\(job.name).job"
    }

    func printHuman(to output: inout Output) {
        let failures = failures
        for job in result.jobs {
            if dryRun {
                output.line("--- \(path(of: job)) (would write)")
                output.line(job.fileText)
                continue
            }
            if let reason = failures[job.name] {
                output.line("NOT WRITTEN \(path(of: job)): \(reason)")
                continue
            }
            var detail = "\(job.origin), \(job.schedule)"
            if let runAs = job.runAs { detail += ", run-as \(runAs)" }
            if !job.loadsOnceOwned { detail += ", command to decide" }
            output.line("wrote \(path(of: job))  (\(detail))")
        }

        let ordered = result.findings.filter { $0.effect != .ownerNeeded }.enumerated().sorted {
            (Self.rank($0.element.effect), $0.offset) < (Self.rank($1.element.effect), $1.offset)
        }.map(\.element)
        let ownerless = result.findings.filter { $0.effect == .ownerNeeded }.flatMap(\.jobs)
        if !ordered.isEmpty || !ownerless.isEmpty {
            output.line("")
            output.line("Needs a human:")
        }
        for group in Self.grouped(ordered) {
            var line = "  \(Self.places(group.locations)): \(group.message)"
            if !group.jobs.isEmpty {
                line += " [\(group.jobs.count == 1 ? "job" : "jobs"): \(group.jobs.map(\.rawValue).joined(separator: ", "))]"
            }
            output.line(line)
        }
        if !ownerless.isEmpty {
            output.line("  owner: \(Self.count(ownerless.count, "job")) without an owner; fill in `owner =` in each file (or re-run with --owner 'team <oncall@example.com>'): they fail `ascribe check` until then")
        }

        let written = dryRun ? 0 : result.jobs.count - failures.count
        var summary = dryRun
            ? "\(Self.count(result.jobs.count, "job file")) would be written to \(directory)"
            : "\(Self.count(written, "job file")) written to \(directory)"
        summary += " from \(Self.count(sourceCount, "crontab"))"
        var problems: [String] = []
        if result.skippedLines > 0 { problems.append("\(Self.count(result.skippedLines, "line")) skipped") }
        let undecided = result.jobs.filter { !$0.loadsOnceOwned }.count
        if undecided > 0 { problems.append("\(Self.count(undecided, "command")) to decide") }
        if !failures.isEmpty { problems.append("\(Self.count(failures.count, "file")) not written") }
        if !problems.isEmpty { summary += "; " + problems.joined(separator: ", ") }
        if !result.jobs.isEmpty || !ordered.isEmpty || !ownerless.isEmpty { output.line("") }
        output.line(summary + ".")
        if !dryRun, written > 0 {
            output.line(ownerless.isEmpty
                ? "Next: review the list above, then run `ascribe check \(directory)`."
                : "Next: fill in each owner, review the list above, then run `ascribe check \(directory)`.")
        }
    }

    var json: JSONValue {
        let failures = failures
        return .object([
            ("out", .string(directory)), ("dry_run", .bool(dryRun)), ("complete", .bool(result.isComplete && failures.isEmpty)),
            ("jobs", .array(result.jobs.map { job in
                var fields: [(String, JSONValue)] = [
                    ("job", .string(job.name.rawValue)), ("path", .string(path(of: job))),
                    ("identity", .string(job.identity.rawValue)), ("source", .string(job.origin.description)),
                    ("schedule", .string(job.schedule.description)), ("run_as", .optional(job.runAs?.description)),
                    ("timezone", .optional(job.timezone)), ("loads_once_owned", .bool(job.loadsOnceOwned)),
                    ("written", .bool(!dryRun && failures[job.name] == nil)), ("error", .optional(failures[job.name])),
                ]
                if dryRun { fields.append(("text", .string(job.fileText))) }
                return .object(fields)
            })),
            ("findings", .array(result.findings.map { finding in
                .object([
                    ("source", .string(finding.location.description)), ("kind", .string(finding.kind.tag)),
                    ("effect", .string(finding.effect.rawValue)), ("jobs", .array(finding.jobs.map { .string($0.rawValue) })),
                    ("message", .string(finding.message)),
                ])
            })),
            ("written", .int(dryRun ? 0 : result.jobs.count - failures.count)),
            ("skipped_lines", .int(result.skippedLines)),
        ])
    }

    /// Findings with the same message (`runs as root` on four lines) shown once.
    private static func grouped(_ findings: [ImportFinding]) -> [(message: String, locations: [CrontabLocation], jobs: [JobName])] {
        var groups: [(message: String, locations: [CrontabLocation], jobs: [JobName])] = []
        for finding in findings {
            if let index = groups.firstIndex(where: { $0.message == finding.message }) {
                groups[index].locations.append(finding.location)
                groups[index].jobs += finding.jobs
            } else {
                groups.append((finding.message, [finding.location], finding.jobs))
            }
        }
        return groups
    }

    /// `crontab:18,19,20` for lines of one file; each file named once.
    private static func places(_ locations: [CrontabLocation]) -> String {
        var paths: [String] = []
        var lines: [String: [Int]] = [:]
        for location in locations {
            if lines[location.path] == nil { paths.append(location.path) }
            lines[location.path, default: []].append(location.line)
        }
        return paths.map { path in
            let numbers = lines[path] ?? []
            let shown = numbers.prefix(8).map(String.init).joined(separator: ",")
            return "\(path):\(shown)" + (numbers.count > 8 ? " and \(numbers.count - 8) more" : "")
        }.joined(separator: ", ")
    }

    /// Skipped lines first, then commands to decide, then the rest.
    private static func rank(_ effect: ImportFinding.Effect) -> Int {
        switch effect {
        case .lineSkipped: 0
        case .commandNeeded: 1
        case .review: 2
        case .ownerNeeded: 3
        }
    }

    private static func count(_ number: Int, _ noun: String) -> String {
        "\(number) \(noun)\(number == 1 ? "" : "s")"
    }
}
