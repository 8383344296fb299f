import AscribeCore
import AscribeSystem

/// What happened: the types of PRODUCT.md section 5, plus `control.refused`. The raw value is
/// what the store holds and what `log --type` matches.
public enum EventType: String, CaseIterable, Sendable {
    case runFired = "run.fired"
    case runSucceeded = "run.succeeded"
    case runFailed = "run.failed"
    case runTimedOut = "run.timed_out"
    case runLaunchFailed = "run.launch_failed"
    case runSkipped = "run.skipped"
    case runMissed = "run.missed"
    case runLost = "run.lost"
    case daemonStarted = "daemon.started"
    case daemonStopped = "daemon.stopped"
    case daemonHeartbeat = "daemon.heartbeat"
    case configLoaded = "config.loaded"
    case configRejected = "config.rejected"
    case identityDisabled = "identity.disabled"
    case identityEnabled = "identity.enabled"
    case jobDisabled = "job.disabled"
    case jobEnabled = "job.enabled"
    /// A control request the daemon refused (not root, not its user, not in the control
    /// group): the attempt itself is evidence. Not in PRODUCT.md's list; see docs/CONTROL.md.
    case controlRefused = "control.refused"
    /// A run was given an identity token (PRODUCT.md §8): its jti (the run id), aud, kid and
    /// exp, never the token.
    case credentialIssued = "credential.issued"
    /// A signing key was made (at first start, or as the new next key of a rotation).
    case keyCreated = "key.created"
    /// A person rotated a purpose's keys: active → retired, next → active.
    case keyRotated = "key.rotated"
    /// The daemon signed a checkpoint of the log (PRODUCT.md section 9; docs/EVENTS.md).
    case checkpointSigned = "checkpoint.signed"
    /// A witness cosigned a checkpoint the daemon sent it.
    case checkpointCosigned = "checkpoint.cosigned"

    /// Run events are about one job's run, so the store requires their job, identity and owner.
    public var isRun: Bool { rawValue.hasPrefix("run.") }

    /// The events that end a fired run; each `run.fired` should be followed by exactly one.
    public var isRunTerminal: Bool {
        switch self {
        case .runSucceeded, .runFailed, .runTimedOut, .runLaunchFailed, .runLost: true
        default: false
        }
    }
}

/// An event's time: integer milliseconds since the Unix epoch (UTC). Seconds are too coarse to
/// order a fired event and its 3 ms failure; integers keep the hash input exact.
public struct EventTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// The start of `instant`'s second (schedule slots are whole seconds).
    public init(_ instant: Instant) {
        millisecondsSinceEpoch = instant.secondsSinceEpoch.multipliedReportingOverflow(by: 1000).overflow
            ? (instant.secondsSinceEpoch < 0 ? .min : .max)
            : instant.secondsSinceEpoch * 1000
    }

    /// The host's real-time clock now.
    public static func now() -> EventTime {
        let now = SystemCalls.realTime()
        return EventTime(millisecondsSinceEpoch: now.seconds * 1000 + now.nanoseconds / 1_000_000)
    }

    /// The second this time falls in (rounded down, also before 1970).
    public var instant: Instant {
        Instant(secondsSinceEpoch: millisecondsSinceEpoch.floorDivided(by: 1000))
    }

    /// `2026-11-23T18:30:00.123Z`: RFC 3339 in UTC with milliseconds.
    public var rfc3339: String {
        let remainder = millisecondsSinceEpoch % 1000
        let milliseconds = remainder < 0 ? remainder + 1000 : remainder
        let digits = String(milliseconds)
        let seconds = RFC3339.format(instant, offsetSeconds: 0).dropLast("+00:00".count)
        return seconds + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    public static func < (lhs: EventTime, rhs: EventTime) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public var description: String { rfc3339 }
}

extension Int64 {
    /// Division rounding toward negative infinity (Swift's `/` rounds toward zero).
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// What a caller asks the store to record. The store adds `seq`, `event_id` and the hashes,
/// and refuses drafts that break the attribution rules (see `EventStoreError.refused`).
public struct EventDraft: Equatable, Sendable {
    public var time: EventTime
    /// The host name this store belongs to (one log per host).
    public var host: String
    public var type: EventType
    /// Who acted: the job's identity for run events, `ascribe-scheduler@<host>` for the daemon,
    /// the scheduler for what it carries out on a person's request (the person is the principal).
    /// Never empty, never an anonymous name.
    public var actor: String
    /// On whose behalf, when delegated (the human behind `ascribe run`), as the kernel says.
    public var principal: String?
    public var owner: String?
    public var job: String?
    /// The job's identity, kept apart from `actor` so `log --identity` finds every event about
    /// an identity, including ones another actor wrote (`identity.disabled` by a human).
    public var identity: String?
    public var runID: String?
    /// The schedule slot a run belongs to (absent for manual runs).
    public var scheduledFor: EventTime?
    public var reason: String?
    public var argv: [String]?
    public var runAs: String?
    /// `file:line` of the definition that ran.
    public var configSource: String?
    public var configHash: String?
    public var pid: Int32?
    public var exitCode: Int32?
    public var signal: Int32?
    public var durationMs: Int64?
    public var stdoutBytes: Int64?
    public var stderrBytes: Int64?
    /// SHA-256 (lowercase hex) of the captured output.
    public var outputSHA256: String?
    /// The last lines of the captured output, as text.
    public var outputTail: String?
    /// The capture limit in bytes that applied to this run.
    public var outputCapBytes: Int64?
    public var outputPath: String?
    /// Written by a `--dev` daemon, which runs every job as the invoking user.
    public var development: Bool
    /// Anything else worth keeping, e.g. `skip_reason = overlap`, `launch_failure = no-such-command`.
    public var details: [String: String]

    public init(
        time: EventTime, host: String, type: EventType, actor: String, principal: String? = nil,
        owner: String? = nil, job: String? = nil, identity: String? = nil, runID: String? = nil,
        scheduledFor: EventTime? = nil, reason: String? = nil, argv: [String]? = nil, runAs: String? = nil,
        configSource: String? = nil, configHash: String? = nil, pid: Int32? = nil, exitCode: Int32? = nil,
        signal: Int32? = nil, durationMs: Int64? = nil, stdoutBytes: Int64? = nil, stderrBytes: Int64? = nil,
        outputSHA256: String? = nil, outputTail: String? = nil, outputCapBytes: Int64? = nil,
        outputPath: String? = nil, development: Bool = false, details: [String: String] = [:]
    ) {
        self.time = time
        self.host = host
        self.type = type
        self.actor = actor
        self.principal = principal
        self.owner = owner
        self.job = job
        self.identity = identity
        self.runID = runID
        self.scheduledFor = scheduledFor
        self.reason = reason
        self.argv = argv
        self.runAs = runAs
        self.configSource = configSource
        self.configHash = configHash
        self.pid = pid
        self.exitCode = exitCode
        self.signal = signal
        self.durationMs = durationMs
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
        self.outputSHA256 = outputSHA256
        self.outputTail = outputTail
        self.outputCapBytes = outputCapBytes
        self.outputPath = outputPath
        self.development = development
        self.details = details
    }
}

/// A stored event: the draft as recorded, plus what the store assigned. Fields of the draft
/// read straight through (`event.job`, `event.type`).
@dynamicMemberLookup
public struct Event: Equatable, Sendable {
    /// Position in the host's log: 1, 2, 3, … with no gaps.
    public let seq: Int64
    /// 128 random bits as 32 lowercase hex digits: a name for the event that is unique across hosts.
    public let eventID: String
    public let content: EventDraft
    /// The previous event's `hash` (64 zeros for seq 1).
    public let prevHash: String
    /// SHA-256 (lowercase hex) of this event's canonical encoding (docs/EVENTS.md).
    public let hash: String

    public subscript<Value>(dynamicMember field: KeyPath<EventDraft, Value>) -> Value {
        content[keyPath: field]
    }

    /// The `prev_hash` of the first event.
    public static let genesisHash = String(repeating: "0", count: 64)
}

/// Random identifiers for events and runs.
public enum RandomIdentifier {
    /// 128 bits from the system's random source, as 32 lowercase hex digits. Also the right
    /// shape for a W3C trace id, so a run id can be one directly.
    public static func hex128() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<2).flatMap { _ in
            let word = generator.next()
            return (0..<8).map { UInt8(truncatingIfNeeded: word >> (56 - 8 * $0)) }
        }
        return lowercaseHex(bytes)
    }
}
