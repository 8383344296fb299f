import AscribeCommandLine
import AscribeCore
import AscribeRuntime

enum CheckCommand {
    enum Options {
        static let strict = CommandOption("--strict", help: "treat warnings as errors")
        static let json = CommandOption("--json", help: "one JSON document: jobs, diagnostics, counts")
        static let development = CommandOption("--dev", help: "decide as `ascribe daemon --dev` would: every job runs as you, whatever its run-as says (no effect as root)")
        static let credentials = CommandOption("--credentials", value: "DIR", help: "credential store to check against",
                                               default: "/etc/ascribe/credentials as root, ./.ascribe/credentials otherwise")
        static let controlGroup = CommandOption("--control-group", value: "GROUP", help: "the daemon's control group, whose members a run-as should not be",
                                                default: "the group \"ascribe\" when it exists; none: no group")
    }

    static let declaration = CommandDeclaration(
        name: "check", summary: "validate a jobs directory",
        discussion: """
            Validates every *.job file in DIR (default \(DefaultPaths.jobsDirectoryHelp)) and reports every
            problem in every file in one run, as file:line:column: message. A file with errors is
            not loaded; the other files still are.

            A job file that a non-root user can change (it, or a directory above it, is theirs or
            group-writable for them) is an error unless the job runs as that user.

            Every reason the daemon would refuse to launch a job on this host is an error, decided
            by the launcher's own code for a daemon running as you (as root: a job without run-as,
            a run-as user or group that does not exist; not as root: a run-as other than yourself,
            unless --dev), a command that does not exist or that the run's user cannot execute, a
            credential the store lacks, that is not root's (yours when not root), that group or
            others can read, or that a non-root user other than the job's own can change.

            Warnings (errors under --strict): two jobs sharing an identity, a run-as of uid 0 or
            of group gid 0, a run-as user in the control group, a root job's program that a
            non-root user can change, an owner with no contact address or naming no person
            (owner = root).
            """,
        operands: [Operand("DIR", optional: true)],
        options: [Options.strict, Options.json, Options.development, Options.credentials, Options.controlGroup],
        exitStatus: "0 clean (warnings allowed unless --strict), 1 findings, 2 unusable input (the directory is missing or unreadable).",
        examples: """
            ascribe check jobs.d
            ascribe check /etc/ascribe/jobs.d --strict --json
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let strict = arguments.flag(Options.strict)
        let json = arguments.flag(Options.json)
        let development = arguments.flag(Options.development)
        let credentials = arguments.value(Options.credentials)
            ?? DefaultPaths.credentialStore(stateDirectory: DefaultPaths.stateDirectory)
        let controlGroupName = arguments.value(Options.controlGroup)
        let directory = try arguments.operands(max: 1).first ?? DefaultPaths.jobsDirectory
        let controlGroup: ControlAccess.Group?
        switch controlGroupName {
        case "none"?:
            controlGroup = nil
        case let name?:
            do {
                controlGroup = try ControlAccess.resolve(groupName: name).group
            } catch {
                throw UsageError(message: error.description)
            }
        case nil:
            controlGroup = (try? ControlAccess.resolve(groupName: ControlAccess.defaultGroupName))?.group
        }
        let host = HostContext()
        let load = try host.loadJobs(directory)
        var diagnostics = load.diagnostics + HostFindings.check(load.jobs, credentialStore: credentials, developmentMode: development,
                                                                        controlGroup: controlGroup)
        if strict {
            diagnostics = diagnostics.map { diagnostic in
                var promoted = diagnostic
                promoted.severity = .error
                return promoted
            }
        }
        diagnostics.sort { ($0.path, $0.line, $0.column) < ($1.path, $1.line, $1.column) }
        let errors = diagnostics.filter { $0.severity == .error }
        let warnings = diagnostics.count - errors.count
        let failedPaths = Set(errors.map(\.path))
        let loaded = load.jobs.filter { !failedPaths.contains($0.source.path) }
        let rejected = load.filesExamined - loaded.count

        if json {
            output.line(JSONValue.object([
                ("directory", .string(directory)),
                ("jobs", .array(load.jobs.map { job in
                    .object([
                        ("job", .string(job.name.rawValue)), ("path", .string(job.source.path)),
                        ("ok", .bool(!failedPaths.contains(job.source.path))),
                        ("schedule", .string(job.schedule.description)),
                        ("description", .string(job.schedule.plainEnglish)),
                        ("identity", .string(job.identity.rawValue)), ("owner", .string(job.owner.text)),
                        ("run_as", .optional(job.runAs?.description)), ("enabled", .bool(job.enabled)),
                    ])
                })),
                ("diagnostics", .array(diagnostics.map { diagnostic in
                    .object([
                        ("path", .string(diagnostic.path)), ("line", .int(diagnostic.line)),
                        ("column", .int(diagnostic.column)),
                        ("severity", .string(diagnostic.severity == .error ? "error" : "warning")),
                        ("key", .optional(diagnostic.key?.rawValue)), ("message", .string(diagnostic.message)),
                    ])
                })),
                ("files", .int(load.filesExamined)), ("loaded", .int(loaded.count)),
                ("errors", .int(errors.count)), ("warnings", .int(warnings)),
            ]).rendered)
        } else {
            for diagnostic in diagnostics { output.line(diagnostic.description) }
            if !diagnostics.isEmpty { output.line("") }
            for job in load.jobs {
                let status = failedPaths.contains(job.source.path) ? "FAIL" : "ok"
                var detail = "\(job.schedule.plainEnglish); identity \(job.identity), owner \(job.owner.text)"
                if let runAs = job.runAs { detail += ", run-as \(runAs)" }
                if !job.enabled { detail += ", disabled" }
                output.line(status.padding(5) + job.name.rawValue.padding(24) + detail)
            }
            output.line("\(load.filesExamined) job file\(load.filesExamined == 1 ? "" : "s") in \(directory): "
                        + "\(loaded.count) loaded, \(rejected) rejected; \(errors.count) error\(errors.count == 1 ? "" : "s"), "
                        + "\(warnings) warning\(warnings == 1 ? "" : "s")")
        }
        return errors.isEmpty ? .ok : .findings
    }
}
