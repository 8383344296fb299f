import AscribeCore
import AscribeSystem

/// Findings that depend on the machine the jobs will run on (PRODUCT.md section 2, last
/// paragraph). Errors: every reason the launcher would refuse to start the job here, decided
/// by the launcher's own code (`Launcher.refusals`), so a job `check` passes is a job the
/// daemon can start. Warnings (errors under `--strict`): what would start but is risky.
public enum HostFindings {
    /// The PATH every run gets, so a bare program name is looked up where the launcher will.
    public static let searchPath = ["/usr/local/bin", "/usr/bin", "/bin"]

    /// For each job, as errors, what a scheduler running as `runner` (with `developmentMode`,
    /// as `daemon --dev`) would refuse: no `run-as` under root, a `run-as` user or group
    /// missing from this host, a run-as other than the scheduler's own user when it is not
    /// root, a program that is missing or that the run's user cannot execute, and each listed
    /// credential missing from `<credentialStore>/<identity>/<name>`, not a regular file, not
    /// owned by the scheduler's user, readable by group or others, or changeable by a non-root
    /// user other than the job's own. As warnings: a `run-as` user that resolves to uid 0
    /// under another name, a `run-as` group of gid 0, a `run-as` user in `controlGroup`, and
    /// a program that a non-root user can change while the job runs as root. `run-as root` is
    /// not repeated here: the parser already warns about it.
    public static func check(_ jobs: [JobDefinition], credentialStore: String, runner: JobRunner = .current,
                             developmentMode: Bool = false, controlGroup: ControlAccess.Group? = nil) -> [JobFileDiagnostic] {
        var scan = FileWriterScan()
        return jobs.flatMap { job in
            let target = scan.target(job.runAs, runner: runner)
            return launchFindings(job, credentialStore: credentialStore, runner: runner, developmentMode: developmentMode)
                + accountFindings(job, controlGroup: controlGroup)
                + rootProgramFindings(job, target: target, scan: &scan)
        }
    }

    /// The launcher's refusals of this job's request, each at the line of the key to change.
    private static func launchFindings(_ job: JobDefinition, credentialStore: String, runner: JobRunner,
                                       developmentMode: Bool) -> [JobFileDiagnostic] {
        let environment = RunEnvironment(host: HostName.current(), stateDirectory: "/", credentialStore: credentialStore,
                                         development: developmentMode)
        let request = RunExecution.launchRequest(for: job, runID: "check", environment: environment)
        let schedulerUID: UInt32 = switch runner {
        case .root: 0
        case .user(let uid): uid
        }
        return Launcher.refusals(of: request, schedulerUID: schedulerUID, developmentMode: developmentMode).map { refusal in
            let key = key(for: refusal, of: job)
            return diagnostic(job, key, "\(key): \(refusal)", severity: .error)
        }
    }

    private static func key(for refusal: LaunchFailure, of job: JobDefinition) -> JobKey {
        let programKey: JobKey = if case .shell = job.command { .shell } else { .command }
        return switch refusal {
        case .runAsRequired, .unknownUser, .unknownGroup, .accountLookupFailed, .notPermitted: .runAs
        case .credentialMissing, .credentialNotRegularFile, .credentialWrongOwner, .credentialReadableByOthers,
             .credentialUnreadable, .credentialChangeableByOthers, .credentialStagingFailed, .tokenUnavailable: .credentials
        case .invalidRequest, .commandNotFound, .programNotInSearchPath, .notExecutable, .helperMissing,
             .outputFileUnavailable, .spawnFailed, .workingDirectory, .privilegeDropFailed, .helperFailed: programKey
        }
    }

    private static func accountFindings(_ job: JobDefinition, controlGroup: ControlAccess.Group?) -> [JobFileDiagnostic] {
        guard let runAs = job.runAs else { return [] }
        var findings: [JobFileDiagnostic] = []
        let lookup = isNumericId(runAs.user) ? AccountDatabase.userRecord(uid: UInt32(runAs.user) ?? UInt32.max)
            : AccountDatabase.userRecord(named: runAs.user)
        if case .success(let record?) = lookup {
            let gid: UInt32? = switch runAs.group {
            case nil: record.gid
            case let group? where isNumericId(group): UInt32(group)
            case let group?: if case .found(let id) = AccountDatabase.group(named: group) { id } else { nil }
            }
            if gid == 0, record.uid != 0 {
                findings.append(diagnostic(job, .runAs, "run-as: the run's group \(runAs.group.map { "\"\($0)\"" } ?? "(\(record.name)'s primary group)") is gid 0; the job could change whatever root's group may write; give it a group of its own"))
            }
            if let controlGroup, AccountDatabase.groupList(user: record.name, primary: record.gid).contains(controlGroup.gid) {
                findings.append(diagnostic(job, .runAs, "run-as: user \"\(record.name)\" is a member of the control group \(controlGroup.name); every run could disable jobs and start runs through the daemon's socket"))
            }
            if !isNumericId(runAs.user), record.uid == 0, runAs.user != "root" {
                findings.append(diagnostic(job, .runAs, "run-as: user \"\(runAs.user)\" has uid 0 on this host; the job would run with every privilege"))
            }
        }
        return findings
    }

    /// A job that runs as root whose program a non-root user can change gives that user root.
    private static func rootProgramFindings(_ job: JobDefinition, target: RunTarget, scan: inout FileWriterScan) -> [JobFileDiagnostic] {
        guard case .account(let user) = target.user, user.isRoot else { return [] }
        let (program, key): (String, JobKey) = switch job.command {
        case .argv(let words): (words.first ?? "", .command)
        case .shell(let shell, _): (shell, .shell)
        }
        let path = program.contains("/")
            ? (program.hasPrefix("/") ? program : JobDirectory.joined(job.workingDirectory, program))
            : LaunchRequest.resolveProgram(program)
        guard let path, let walked = try? scan.writers(of: path) else { return [] }
        let writers = walked.writers
        guard !writers.nonRootWriters.isEmpty || writers.openToEveryone != nil else { return [] }
        return [diagnostic(job, key, "\(key): the job runs as root, but \(writers.explanation) can change its program \(path); whoever can change it can run anything as root")]
    }

    private static func isNumericId(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func diagnostic(_ job: JobDefinition, _ key: JobKey, _ message: String,
                                   severity: Severity = .warning) -> JobFileDiagnostic {
        JobFileDiagnostic(
            path: job.source.path, line: job.source.line(of: key) ?? 1, column: job.source.column(of: key) ?? 1,
            severity: severity, key: key, message: message)
    }
}
