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

    /// A key's position in 12 bytes, against a `Position`'s 16 and a dictionary's buckets: a
    /// daemon keeps one `JobSource` per loaded job (with 10,000 jobs the dictionary was 2 MB).
    private struct KeyPosition: Hashable, Sendable {
        var key: JobKey
        var line: UInt32
        var column: UInt32
    }

    public var path: String
    /// For each key present in the file, the position of its value, in `JobKey.allCases` order.
    private var positions: [KeyPosition]

    public init(path: String, positions: [JobKey: Position]) {
        self.path = path
        var compact: [KeyPosition] = []
        compact.reserveCapacity(positions.count)
        for key in JobKey.allCases {
            guard let position = positions[key] else { continue }
            compact.append(KeyPosition(key: key, line: UInt32(clamping: position.line), column: UInt32(clamping: position.column)))
        }
        self.positions = compact
    }

    public func line(of key: JobKey) -> Int? { positions.first { $0.key == key }.map { Int($0.line) } }
    public func column(of key: JobKey) -> Int? { positions.first { $0.key == key }.map { Int($0.column) } }
}

/// One loaded job: everything the scheduler, the launcher and the registry need, already
/// validated, with defaults filled in. Read and set its fields as properties
/// (`definition.schedule`, `definition.enabled = false`).
///
/// Why a box: the fields take about 400 bytes, and a daemon keeps one definition per job in a
/// dictionary whose buckets outnumber the jobs (16,384 for 10,000). Inline, the buckets alone
/// were 7.5 MB; boxed, each bucket holds a pointer and each job's fields are allocated once.
/// Copies share the box; a change copies the fields into a new one.
@dynamicMemberLookup
public struct JobDefinition: Hashable, Sendable {
    public struct Fields: Hashable, Sendable {
        public var name: JobName
        public var schedule: Schedule
        public var identity: IdentityName
        public var owner: Owner
        public var command: JobCommand
        /// Nil: the daemon's own user (allowed only when the daemon does not run as root).
        public var runAs: RunAs?
        /// In the order listed, without duplicates.
        public var credentials: [CredentialName]
        /// Identity tokens minted for each run, in the order listed, names unique.
        public var tokens: [TokenRequest]
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
    }

    /// Immutable, so sharing it between copies and threads is safe.
    private final class Box: Sendable {
        let fields: Fields

        init(_ fields: Fields) {
            self.fields = fields
        }
    }

    private var box: Box

    public subscript<Value>(dynamicMember field: KeyPath<Fields, Value>) -> Value {
        box.fields[keyPath: field]
    }

    public subscript<Value>(dynamicMember field: WritableKeyPath<Fields, Value>) -> Value {
        get { box.fields[keyPath: field] }
        set {
            var fields = box.fields
            fields[keyPath: field] = newValue
            box = Box(fields)
        }
    }

    public static func == (lhs: JobDefinition, rhs: JobDefinition) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
    }

    public func hash(into hasher: inout Hasher) {
        box.fields.hash(into: &hasher)
    }

    /// The default `kill-grace`.
    public static let defaultKillGrace = TimeSpan(clamping: 10)

    public init(
        name: JobName, schedule: Schedule, identity: IdentityName, owner: Owner, command: JobCommand,
        runAs: RunAs? = nil, credentials: [CredentialName] = [], tokens: [TokenRequest] = [], purpose: String? = nil, runbook: String? = nil,
        timezone: ZoneRules? = nil, timeout: TimeSpan? = nil, killGrace: TimeSpan = JobDefinition.defaultKillGrace,
        overlap: OverlapPolicy = .skip, catchUp: CatchUpPolicy = .none, placement: Placement = .once,
        workingDirectory: String = "/", environment: [EnvironmentVariable] = [], enabled: Bool = true, source: JobSource
    ) {
        box = Box(Fields(
            name: name, schedule: schedule, identity: identity, owner: owner, command: command, runAs: runAs,
            credentials: credentials, tokens: tokens, purpose: purpose, runbook: runbook, timezone: timezone, timeout: timeout,
            killGrace: killGrace, overlap: overlap, catchUp: catchUp, placement: placement, workingDirectory: workingDirectory,
            environment: environment, enabled: enabled, source: source))
    }
}
