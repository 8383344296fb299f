import AscribeCore
#if canImport(Glibc)
import Glibc
#endif

/// Findings that depend on the machine the jobs will run on (PRODUCT.md section 2, last
/// paragraph). All are warnings: `check` often runs on a laptop that lacks the production
/// users, binaries and credentials; `--strict` turns them into errors.
public enum HostFindings {
    /// The PATH every run gets, so a bare program name is looked up where the launcher will.
    public static let searchPath = ["/usr/local/bin", "/usr/bin", "/bin"]

    /// For each job: a `run-as` user or group missing from this host, a `run-as` user that
    /// resolves to uid 0 under another name, a `run-as` group of gid 0, a `run-as` user in
    /// `controlGroup`, a program that is missing or not executable, or that a non-root user
    /// can change while the job runs as root, and each listed credential missing from
    /// `<credentialStore>/<identity>/<name>`, not owned by root, or readable by group or
    /// others — all warnings — and, as an error, a credential that a non-root user other than
    /// the job's own can change (the launcher refuses it). `run-as root` is not repeated here:
    /// the parser already warns about it. `runner` says whom the jobs run as.
    public static func check(_ jobs: [JobDefinition], credentialStore: String, runner: JobRunner = .current,
                             controlGroup: ControlAccess.Group? = nil) -> [JobFileDiagnostic] {
        var scan = FileWriterScan()
        return jobs.flatMap { job in
            let target = scan.target(job.runAs, runner: runner)
            return accountFindings(job, controlGroup: controlGroup) + programFindings(job)
                + rootProgramFindings(job, target: target, scan: &scan)
                + credentialFindings(job, store: credentialStore, target: target, scan: &scan)
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
                findings.append(warning(job, .runAs, "run-as: the run's group \(runAs.group.map { "\"\($0)\"" } ?? "(\(record.name)'s primary group)") is gid 0; the job could change whatever root's group may write; give it a group of its own"))
            }
            if let controlGroup, AccountDatabase.groupList(user: record.name, primary: record.gid).contains(controlGroup.gid) {
                findings.append(warning(job, .runAs, "run-as: user \"\(record.name)\" is a member of the control group \(controlGroup.name); every run could disable jobs and start runs through the daemon's socket"))
            }
        }
        if !isNumericId(runAs.user) {
            switch AccountDatabase.user(named: runAs.user) {
            case .found(let uid) where uid == 0 && runAs.user != "root":
                findings.append(warning(job, .runAs, "run-as: user \"\(runAs.user)\" has uid 0 on this host; the job would run with every privilege"))
            case .found:
                break
            case .notFound:
                findings.append(warning(job, .runAs, "run-as: user \"\(runAs.user)\" does not exist on this host"))
            case .failed(let error):
                findings.append(warning(job, .runAs, "run-as: cannot look up user \"\(runAs.user)\": \(error)"))
            }
        }
        if let group = runAs.group, !isNumericId(group) {
            switch AccountDatabase.group(named: group) {
            case .found:
                break
            case .notFound:
                findings.append(warning(job, .runAs, "run-as: group \"\(group)\" does not exist on this host"))
            case .failed(let error):
                findings.append(warning(job, .runAs, "run-as: cannot look up group \"\(group)\": \(error)"))
            }
        }
        return findings
    }

    /// The program the launcher will execute: `argv[0]` (absolute, relative to the working
    /// directory when it contains a `/`, else looked up in `searchPath` the way `execvp`
    /// does), or the shell for shell jobs.
    private static func programFindings(_ job: JobDefinition) -> [JobFileDiagnostic] {
        let (program, key): (String, JobKey) = switch job.command {
        case .argv(let words): (words.first ?? "", .command)
        case .shell(let shell, _): (shell, .shell)
        }
        if program.contains("/") {
            let path = program.hasPrefix("/") ? program : JobDirectory.joined(job.workingDirectory, program)
            return problem(withProgram: path).map { [warning(job, key, "\(key): \($0)")] } ?? []
        }
        var firstProblem: String?
        for directory in searchPath {
            let candidate = JobDirectory.joined(directory, program)
            guard (try? FileStatus(path: candidate, followingLinks: true)) != nil else { continue }
            guard let problem = problem(withProgram: candidate) else { return [] }
            firstProblem = firstProblem ?? problem
        }
        let message = firstProblem
            ?? "`\(program)` is not in \(searchPath.joined(separator: ":")), the PATH every run gets; give an absolute path or install it"
        return [warning(job, key, "\(key): \(message)")]
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
        return [warning(job, key, "\(key): the job runs as root, but \(writers.explanation) can change its program \(path); whoever can change it can run anything as root")]
    }

    private static func problem(withProgram path: String) -> String? {
        do throws(SystemError) {
            let status = try FileStatus(path: path, followingLinks: true)
            guard status.kind == .regular else { return "\(path) is not a regular file" }
            guard status.isExecutableBySomeone else {
                return "\(path) is not executable (mode \(status.octalPermissions))"
            }
            return nil
        } catch {
            return error.code == ENOENT || error.code == ENOTDIR
                ? "\(path) does not exist"
                : "cannot check \(path): \(error)"
        }
    }

    private static func credentialFindings(_ job: JobDefinition, store: String, target: RunTarget,
                                           scan: inout FileWriterScan) -> [JobFileDiagnostic] {
        job.credentials.flatMap { name in
            let path = JobDirectory.joined(JobDirectory.joined(store, job.identity.rawValue), name.rawValue)
            var findings = credentialProblems(name, at: path).map { warning(job, .credentials, "credentials: \($0)") }
            if let walked = try? scan.writers(of: path),
               case .failure(let rejection) = WriterRule.check(walked.writers, runsAs: target,
                                                               subject: .credential(name: name.rawValue, path: path)) {
                var error = warning(job, .credentials, "credentials: \(rejection)")
                error.severity = .error
                findings.append(error)
            }
            return findings
        }
    }

    /// Every reason the launcher would refuse to hand this credential to a run.
    private static func credentialProblems(_ name: CredentialName, at path: String) -> [String] {
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(path: path, followingLinks: true)
        } catch {
            return [error.code == ENOENT || error.code == ENOTDIR
                ? "`\(name)` is missing from the credential store (\(path))"
                : "cannot check `\(name)` (\(path)): \(error)"]
        }
        guard status.kind == .regular else { return ["`\(name)` in the store is not a regular file (\(path))"] }
        var problems: [String] = []
        if status.owner != 0 {
            problems.append("`\(name)` is owned by uid \(status.owner), not root; the launcher will refuse it (\(path))")
        }
        if status.permissions & 0o044 != 0 {
            problems.append("`\(name)` is readable by group or others (mode \(status.octalPermissions)); the launcher will refuse it (chmod 600 \(path))")
        }
        return problems
    }

    private static func isNumericId(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func warning(_ job: JobDefinition, _ key: JobKey, _ message: String) -> JobFileDiagnostic {
        JobFileDiagnostic(
            path: job.source.path, line: job.source.line(of: key) ?? 1, column: job.source.column(of: key) ?? 1,
            severity: .warning, key: key, message: message)
    }
}
