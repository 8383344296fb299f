import AscribeCore

/// Where the daemon reads and writes, and its timings (shortened by tests).
public struct DaemonConfiguration: Sendable {
    public var jobsDirectory: String
    public var stateDirectory: String
    public var credentialStore: String
    /// `--dev`: every job runs as the invoking user; every event is marked development.
    public var development: Bool
    /// The name every event records as its host (`--host-name`); in a fleet, each host's own.
    public var host: String
    /// Where the log lives (`--store`); `.local` unless the host is one of a fleet.
    public var store: DaemonStore = .local
    public var zones: ZoneDatabase
    /// The zone of jobs that name none.
    public var defaultZone: ZoneRules
    /// How often `daemon.heartbeat` is written; it bounds how much of a crash's downtime the
    /// next start cannot see.
    public var heartbeatSeconds: Int64 = 300
    /// The longest the loop sleeps, so a wall-clock step is noticed within this time.
    public var maxSleepSeconds: Int64 = 60
    /// A wall-clock move at least this large is a jump: slots it skips are missed, not fired.
    public var largeJumpSeconds: Int64 = 3 * 3600
    /// On SIGTERM, how long running jobs may finish before they are sent SIGTERM.
    public var drainGrace: Duration = .seconds(30)
    /// After that SIGTERM, how long before SIGKILL.
    public var terminateGrace: Duration = .seconds(10)
    public var helperPath: String?
    /// While the event store cannot be written, how often the daemon tries again (besides
    /// every wake-up of the loop and every manual run).
    public var storeRetryInterval: Duration = .seconds(5)
    /// Reload when job files change (inotify, else a poll), not only on SIGHUP.
    public var watchJobsDirectory = true
    /// Who may use the control socket; nil: no control socket.
    public var control: ControlAccess?
    /// What the state directory rules removed before this start (`StateDirectory.prepare`),
    /// named in `daemon.started` (`state_removed`).
    public var stateDirectoryRemovals: [StateDirectoryRemoval] = []
    /// Signs the identity tokens jobs ask for (`--issuer`); nil: such jobs fail to launch.
    public var tokens: TokenAuthority?
    /// The signing-key directory (`--keys`), for `keys rotate` through the control socket; nil:
    /// this daemon signs nothing.
    public var keys: KeyStoreSettings?
    /// Keys the key store made for this start (its first with the directory), recorded as `key.created`.
    public var keysMadeAtStart: [KeyRecord] = []
    /// Signing checkpoints and sending them off the host (Daemon+Checkpoints.swift); nil: off.
    public var checkpoints: CheckpointPublishing?

    public init(jobsDirectory: String, stateDirectory: String, credentialStore: String, development: Bool,
                host: String, zones: ZoneDatabase = ZoneDatabase(), defaultZone: ZoneRules, helperPath: String? = nil,
                control: ControlAccess? = nil) {
        self.control = control
        self.jobsDirectory = jobsDirectory
        self.stateDirectory = stateDirectory
        self.credentialStore = credentialStore
        self.development = development
        self.host = host
        self.zones = zones
        self.defaultZone = defaultZone
        self.helperPath = helperPath
    }
}

/// How a daemon's run ended.
public enum DaemonOutcome: Sendable, Equatable {
    /// Drained and recorded `daemon.stopped`.
    case stopped
    /// Nothing was scheduled: the store or the jobs directory could not be opened.
    case failedToStart(String)
}
