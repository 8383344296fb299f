/// What a run executes. Without a shell the words are the argv, so `|` or `$HOME` mean
/// nothing special; with one, the whole text is a script and the shell interprets it.
public enum JobCommand: Hashable, Sendable {
    /// The program (`argv[0]`, absolute or looked up in the launcher's PATH) and its arguments.
    case argv([String])
    /// Run as `program -c script`.
    case shell(program: String, script: String)

    /// The argv the launcher hands to the kernel.
    public var arguments: [String] {
        switch self {
        case .argv(let words): words
        case .shell(let program, let script): [program, "-c", script]
        }
    }
}

/// What to do when a slot comes due while the previous run is still going.
public enum OverlapPolicy: String, Hashable, Sendable, CaseIterable {
    /// Record the slot as skipped (the default: cron jobs that pile up do damage).
    case skip
    /// Run once right after the current run ends.
    case queue
    /// Start another run alongside.
    case allow
}

/// What to do with slots that passed while the daemon was down.
public enum CatchUpPolicy: String, Hashable, Sendable, CaseIterable {
    /// Record them as missed, run nothing (the default).
    case none
    /// Record them, and run the latest once.
    case once
    /// Run every one of them.
    case all
}

/// Which hosts of a fleet (`daemon --store postgresql://…`, PRODUCT.md §10) run a slot. A
/// single host runs every slot either way.
public enum Placement: String, Hashable, Sendable, CaseIterable {
    /// One host of the fleet fires each slot (the default): the first to claim it.
    case once
    /// Every host fires each slot once.
    case everyHost = "every-host"
}

/// Where a definition came from, so every event and finding can cite `file:line`.
public struct JobSource: Hashable, Sendable {
    /// A 1-based line and column in a job file.
    public struct Position: Hashable, Sendable {
        public var line: Int
        public var column: Int

        public init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }
    }

    public var path: String
    /// For each key present in the file, the position of its value.
    public var positions: [JobKey: Position]

    public init(path: String, positions: [JobKey: Position]) {
        self.path = path
        self.positions = positions
    }

    public func line(of key: JobKey) -> Int? { positions[key]?.line }
    public func column(of key: JobKey) -> Int? { positions[key]?.column }
}

/// One loaded job: everything the scheduler, the launcher and the registry need, already
/// validated, with defaults filled in.
public struct JobDefinition: Hashable, Sendable {
    public var name: JobName
    public var schedule: Schedule
    public var identity: IdentityName
    public var owner: Owner
    public var command: JobCommand
    /// Nil: the daemon's own user (allowed only when the daemon does not run as root).
    public var runAs: RunAs?
    /// In the order listed, without duplicates.
    public var credentials: [CredentialName]
    public var purpose: String?
    public var runbook: String?
    /// Nil: the daemon's zone.
    public var timezone: ZoneRules?
    public var timeout: TimeSpan?
    /// Time between SIGTERM and SIGKILL when a run times out.
    public var killGrace: TimeSpan
    public var overlap: OverlapPolicy
    public var catchUp: CatchUpPolicy
    public var placement: Placement
    /// Always absolute.
    public var workingDirectory: String
    /// In the order listed, names unique.
    public var environment: [EnvironmentVariable]
    public var enabled: Bool
    public var source: JobSource

    /// The default `kill-grace`.
    public static let defaultKillGrace = TimeSpan(clamping: 10)

    public init(
        name: JobName, schedule: Schedule, identity: IdentityName, owner: Owner, command: JobCommand,
        runAs: RunAs? = nil, credentials: [CredentialName] = [], purpose: String? = nil, runbook: String? = nil,
        timezone: ZoneRules? = nil, timeout: TimeSpan? = nil, killGrace: TimeSpan = JobDefinition.defaultKillGrace,
        overlap: OverlapPolicy = .skip, catchUp: CatchUpPolicy = .none, placement: Placement = .once,
        workingDirectory: String = "/", environment: [EnvironmentVariable] = [], enabled: Bool = true, source: JobSource
    ) {
        self.name = name
        self.schedule = schedule
        self.identity = identity
        self.owner = owner
        self.command = command
        self.runAs = runAs
        self.credentials = credentials
        self.purpose = purpose
        self.runbook = runbook
        self.timezone = timezone
        self.timeout = timeout
        self.killGrace = killGrace
        self.overlap = overlap
        self.catchUp = catchUp
        self.placement = placement
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.enabled = enabled
        self.source = source
    }
}
