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
    /// resolves to uid 0 under another name, a program that is missing or not executable,
    /// and each listed credential missing from `<credentialStore>/<identity>/<name>`, not
    /// owned by root, or readable by group or others. `run-as root` is not repeated here:
    /// the parser already warns about it.
    public static func check(_ jobs: [JobDefinition], credentialStore: String) -> [JobFileDiagnostic] {
        jobs.flatMap { job in
            accountFindings(job) + programFindings(job) + credentialFindings(job, store: credentialStore)
        }
    }

    private static func accountFindings(_ job: JobDefinition) -> [JobFileDiagnostic] {
        guard let runAs = job.runAs else { return [] }
        var findings: [JobFileDiagnostic] = []
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

    private static func credentialFindings(_ job: JobDefinition, store: String) -> [JobFileDiagnostic] {
        job.credentials.flatMap { name in
            let path = JobDirectory.joined(JobDirectory.joined(store, job.identity.rawValue), name.rawValue)
            return credentialProblems(name, at: path).map { warning(job, .credentials, "credentials: \($0)") }
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
