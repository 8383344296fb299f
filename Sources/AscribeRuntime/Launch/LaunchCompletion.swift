import Glibc
import AscribeSystem

/// The account a run executes as, resolved from the user and group databases.
public struct ResolvedAccount: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var uid: UInt32
    public var gid: UInt32
    /// Besides `gid`; empty for an account that belongs to no other group.
    public var supplementaryGroups: [UInt32]
    public var home: String
    public var shell: String

    public init(user: String, uid: UInt32, gid: UInt32, supplementaryGroups: [UInt32], home: String, shell: String) {
        self.user = user
        self.uid = uid
        self.gid = gid
        self.supplementaryGroups = supplementaryGroups
        self.home = home
        self.shell = shell
    }

    public var description: String { "\(user) (uid \(uid), gid \(gid))" }
}

/// Which signal a timed-out run needed: SIGTERM was enough, or the grace ran out.
public enum TimeoutSignal: Sendable, Equatable {
    case terminate
    case kill

    public var signalNumber: Int32 { self == .terminate ? SIGTERM : SIGKILL }
}

/// How a run that started ended.
public enum RunOutcome: Sendable, Equatable, CustomStringConvertible {
    case exited(code: Int32)
    /// Ended by a signal the launcher did not send.
    case signaled(signal: Int32)
    /// The launcher ended it at its timeout.
    case timedOut(signalUsed: TimeoutSignal)
    /// It ended, but something else in this process collected its exit status first (SIGCHLD
    /// set to SIG_IGN, or a `waitpid(-1)` elsewhere): the launcher cannot say how.
    case statusUnavailable

    public var succeeded: Bool { self == .exited(code: 0) }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        case .timedOut(.terminate): "timed out; ended by SIGTERM"
        case .timedOut(.kill): "timed out; ignored SIGTERM and was killed by SIGKILL after the grace"
        case .statusUnavailable: "ended, but its exit status was collected by something else in this process"
        }
    }
}

/// What the run wrote, for the terminal event: stdout and stderr share one capture file, in
/// the order they were read.
public struct OutputSummary: Sendable, Equatable {
    /// The capture file (mode 0600), created at the first byte written; nil when the run wrote
    /// nothing (or the cap is 0), so silent runs leave no empty files behind.
    public var path: String?
    public var stdoutBytes: Int
    public var stderrBytes: Int
    /// Bytes written to `path`: at most the cap.
    public var capturedBytes: Int
    /// True when output went beyond the cap; the excess was counted and digested, not stored.
    public var capped: Bool
    /// The last 20 lines of the output, within its last 4 KiB (a longer final line is cut).
    public var tail: String
    /// Hex digest (SHA-256 once the lead wires libcrypto) of every byte read, capped or not,
    /// in the order read; for uncapped output, the digest of the capture file.
    public var sha256: String
    /// True when the run ended but something else (a background process of the job) still
    /// held its output open, and draining stopped at the launcher's deadline.
    public var drainCutShort: Bool
    /// The first error writing the capture file; capture stopped there, counting went on.
    public var fileError: SystemError?

    public var totalBytes: Int { stdoutBytes + stderrBytes }
}

/// Whether the run's private credentials directory is gone.
public enum CredentialsCleanup: Sendable, Equatable {
    /// The run listed no credentials; no directory was made.
    case notNeeded
    case removed(path: String)
    case failed(path: String, error: SystemError)

    public var removed: Bool {
        switch self {
        case .notNeeded, .removed: true
        case .failed: false
        }
    }
}

/// Everything known about a run once it has ended.
public struct LaunchCompletion: Sendable, Equatable {
    public var runID: String
    public var pid: Int32
    public var outcome: RunOutcome
    /// From spawn to the leader's exit.
    public var durationMilliseconds: Int64
    /// Wall time when the process was spawned.
    public var spawnedAt: EventTime
    public var output: OutputSummary
    public var account: ResolvedAccount
    /// The scheduler ran in development mode; the event must say so.
    public var developmentRun: Bool
    /// Set when the audit login uid could not be given to the run (common in containers).
    public var loginUIDWarning: String?
    public var credentials: CredentialsCleanup
}
