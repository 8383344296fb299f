import AscribeCore
import AscribeSystem

/// Every way a run can fail to start. Each becomes a `run.launch_failed` event whose reason is
/// `description`; `reasonCode` is a stable key for machines.
public enum LaunchFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request itself is unusable (a relative path, an empty argv, a reserved variable).
    case invalidRequest(String)
    case commandNotFound(path: String)
    /// A bare program name that no directory of the runs' PATH holds as an executable file.
    case programNotInSearchPath(name: String)
    /// It exists but the run's user cannot execute it.
    case notExecutable(path: String, reason: String)
    case unknownUser(String)
    case unknownGroup(String)
    /// The user or group database itself failed (an NSS error, not a missing entry).
    case accountLookupFailed(name: String, error: SystemError)
    /// The scheduler is root and the job names no `run-as`: it would run as root by accident.
    case runAsRequired
    /// The scheduler is not root, so it can only run jobs as its own user.
    case notPermitted(requestedUser: String, schedulerUser: String)
    case credentialMissing(name: String, path: String)
    /// A symbolic link, directory, FIFO or device where the store should hold a file.
    case credentialNotRegularFile(name: String, path: String)
    /// The store file is owned by someone other than root (or, when the scheduler is not root,
    /// other than the scheduler's user): whoever owns it could have swapped the secret.
    case credentialWrongOwner(name: String, path: String, owner: UInt32, expectedOwner: UInt32)
    case credentialReadableByOthers(name: String, path: String, mode: UInt32)
    case credentialUnreadable(name: String, path: String, error: SystemError)
    /// A non-root user other than the run's own can change the store file or a directory on
    /// its path, so the secret is whatever that user chose (PRODUCT.md principle 8).
    case credentialChangeableByOthers(WriterRejection)
    /// The run's private credentials directory could not be made.
    case credentialStagingFailed(path: String, error: SystemError)
    /// The job asks for identity tokens (`tokens =`) and none could be signed: no issuer is
    /// configured, or the key store has no usable token key.
    case tokenUnavailable(name: String, reason: String)
    case helperMissing(path: String)
    /// No directory to hold the capture file, or a file already at its path.
    case outputFileUnavailable(path: String, error: SystemError)
    /// A pipe, pidfd or `posix_spawn` itself failed (often: out of descriptors or processes).
    case spawnFailed(SystemError)
    /// The helper could not enter the working directory as the run's user.
    case workingDirectory(path: String, error: SystemError)
    /// `setgroups`, `setresgid`, `setresuid`, their checks, or `PR_SET_NO_NEW_PRIVS` failed.
    case privilegeDropFailed(step: String, error: SystemError)
    /// The helper failed at a step that is neither of the above (its arguments, its descriptors).
    case helperFailed(step: String, error: SystemError)

    public var reasonCode: String {
        switch self {
        case .invalidRequest: "invalid-request"
        case .commandNotFound: "command-not-found"
        case .programNotInSearchPath: "program-not-in-path"
        case .notExecutable: "not-executable"
        case .unknownUser: "unknown-user"
        case .unknownGroup: "unknown-group"
        case .accountLookupFailed: "account-lookup-failed"
        case .runAsRequired: "run-as-required"
        case .notPermitted: "not-permitted"
        case .credentialMissing: "credential-missing"
        case .credentialNotRegularFile: "credential-not-regular-file"
        case .credentialWrongOwner: "credential-wrong-owner"
        case .credentialReadableByOthers: "credential-readable-by-others"
        case .credentialUnreadable: "credential-unreadable"
        case .credentialChangeableByOthers: "credential-changeable-by-others"
        case .credentialStagingFailed: "credential-staging-failed"
        case .tokenUnavailable: "token-unavailable"
        case .helperMissing: "helper-missing"
        case .outputFileUnavailable: "output-file-unavailable"
        case .spawnFailed: "spawn-failed"
        case .workingDirectory: "working-directory"
        case .privilegeDropFailed: "privilege-drop-failed"
        case .helperFailed: "helper-failed"
        }
    }

    public var description: String {
        switch self {
        case .invalidRequest(let reason):
            "invalid launch request: \(reason)"
        case .commandNotFound(let path):
            "command not found: \(path) does not exist"
        case .programNotInSearchPath(let name):
            "`\(name)` is not in \(LaunchRequest.searchPath.joined(separator: ":")), the PATH every run gets; give an absolute path or install it"
        case .notExecutable(let path, let reason):
            "cannot execute \(path): \(reason)"
        case .unknownUser(let user):
            "run-as user \"\(user)\" does not exist on this host"
        case .unknownGroup(let group):
            "run-as group \"\(group)\" does not exist on this host"
        case .accountLookupFailed(let name, let error):
            "cannot look up \"\(name)\" in the user or group database: \(error)"
        case .runAsRequired:
            "the scheduler runs as root, so every job must name a run-as user; refusing to run this one as root by default"
        case .notPermitted(let requested, let scheduler):
            "not permitted to run as \"\(requested)\": the scheduler is not root (it runs as \(scheduler)), so it can only run jobs as itself; run it as root, or with --dev to run every job as \(scheduler)"
        case .credentialMissing(let name, let path):
            "credential `\(name)` is missing from the store (\(path))"
        case .credentialNotRegularFile(let name, let path):
            "credential `\(name)` is not a regular file (\(path)); symbolic links and special files are refused"
        case .credentialWrongOwner(let name, let path, let owner, let expected):
            "credential `\(name)` is owned by uid \(owner), not \(expected == 0 ? "root" : "uid \(expected)") (\(path)); whoever owns it could replace the secret"
        case .credentialReadableByOthers(let name, let path, let mode):
            "credential `\(name)` is readable by group or others (mode \(Self.octal(mode))); chmod 600 \(path)"
        case .credentialUnreadable(let name, let path, let error):
            "cannot read credential `\(name)` (\(path)): \(error.reason)"
        case .credentialChangeableByOthers(let rejection):
            rejection.description
        case .credentialStagingFailed(let path, let error):
            "cannot prepare the run's credentials directory under \(path): \(error)"
        case .tokenUnavailable(let name, let reason):
            "cannot issue token `\(name)`: \(reason)"
        case .helperMissing(let path):
            "the exec helper \(path) is missing or not executable; install ascribe-exec next to ascribe"
        case .outputFileUnavailable(let path, let error):
            "cannot capture output at \(path): \(error.reason)"
        case .spawnFailed(let error):
            "could not start the process: \(error)"
        case .workingDirectory(let path, let error):
            "cannot enter working directory \(path) as the run's user: \(error.reason)"
        case .privilegeDropFailed("regain-root", _):
            "dropping privileges failed: after setresuid the process could still become root again"
        case .privilegeDropFailed(let step, let error):
            "dropping privileges failed at \(step): \(error.reason)"
        case .helperFailed(let step, let error):
            "the exec helper failed at \(step): \(error.reason)"
        }
    }

    private static func octal(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
