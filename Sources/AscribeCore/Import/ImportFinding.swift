/// A line of a crontab: what every finding and every imported job points back to.
public struct CrontabLocation: Hashable, Sendable, CustomStringConvertible {
    public var path: String
    /// 1-based.
    public var line: Int

    public init(path: String, line: Int) {
        self.path = path
        self.line = line
    }

    /// `path:line`.
    public var description: String { "\(path):\(line)" }
}

/// Something about an import a human has to look at or decide, located at the crontab line
/// it comes from.
public struct ImportFinding: Equatable, Sendable, CustomStringConvertible {
    /// What it means for the import as a whole.
    public enum Effect: String, Equatable, Sendable {
        /// The line was not imported.
        case lineSkipped = "line-skipped"
        /// The job file was written without a command: it does not load until a human picks one.
        case commandNeeded = "command-needed"
        /// The job file was written without an owner: expected, a human names one.
        case ownerNeeded = "owner-needed"
        /// The job loads, but differs from what cron did or was named without a human.
        case review
    }

    public var location: CrontabLocation
    /// The jobs concerned, in import order (empty for a skipped line or an ignored file).
    public var jobs: [JobName]
    public var kind: ImportFindingKind

    public init(location: CrontabLocation, jobs: [JobName], kind: ImportFindingKind) {
        self.location = location
        self.jobs = jobs
        self.kind = kind
    }

    public var effect: Effect { kind.effect }
    public var message: String { kind.description }

    /// `path:line: message`.
    public var description: String { "\(location): \(message)" }
}

/// Why a variable from the crontab is not in the job's `environment`.
public enum DroppedVariableReason: Equatable, Sendable {
    /// `PATH`: every run gets the launcher's fixed PATH.
    case fixedPath
    /// `HOME`: the run-as user's HOME is set by the launcher; cron started commands in this
    /// directory, so it became the job's `working-directory`.
    case homeBecameWorkingDirectory
    /// `USER`, `LOGNAME`, `CREDENTIALS_DIRECTORY`, `TRACEPARENT`, `ASCRIBE_*`.
    case launcherOwned
    /// Not a name a job file can set (the parser's reason).
    case invalidName(String)
    /// The value ends in blanks, which a job file value cannot keep.
    case trailingBlanks
}

/// Every kind of finding, with the words the summary and the job file header use.
public enum ImportFindingKind: Equatable, Sendable, CustomStringConvertible {
    case skipped(CrontabLineProblem)
    /// An unescaped `%`: cron fed the rest of the line to the command's standard input.
    case standardInput(command: String, input: String)
    case missingOwner
    case variableDropped(name: String, value: String, reason: DroppedVariableReason)
    /// `MAILTO=address`: cron mailed output there.
    case mailNotSent(address: String)
    /// A user crontab imported without `--run-as`.
    case noRunAs
    case runsAsRoot
    /// The suggested identity was an anonymous actor name.
    case identityReplaced(suggested: String, chosen: String)
    /// Nothing in the command made a usable name.
    case identityGeneric(chosen: String)
    /// Another job of this import already has the suggested identity.
    case identityShared(suggested: String, chosen: String)
    /// A job file of that name already exists in the output directory.
    case nameTaken(suggested: String, chosen: String)
    /// `CRON_TZ=zone`, honoured as cronie does.
    case cronTimeZone(String)
    /// `TZ=zone`: passed to the command; the schedule stays in the system zone, as in cron.
    case timeZoneVariable(String)
    /// cron started the command in this user's home directory, which this host does not know.
    case homeUnknown(user: String)
    case rebootMeansDaemonStart
    case neverFires
    /// A user crontab line whose command starts with `root`: probably a system crontab.
    case looksLikeSystemCrontab
    /// A file in /etc/cron.d whose name cron skips.
    case fileIgnoredByCron

    public var effect: ImportFinding.Effect {
        switch self {
        case .skipped: .lineSkipped
        case .standardInput: .commandNeeded
        case .missingOwner: .ownerNeeded
        default: .review
        }
    }

    /// A short, stable tag for `--json`.
    public var tag: String {
        switch self {
        case .skipped: "skipped"
        case .standardInput: "standard-input"
        case .missingOwner: "missing-owner"
        case .variableDropped: "variable-dropped"
        case .mailNotSent: "mail-not-sent"
        case .noRunAs: "no-run-as"
        case .runsAsRoot: "runs-as-root"
        case .identityReplaced: "identity-replaced"
        case .identityGeneric: "identity-generic"
        case .identityShared: "identity-shared"
        case .nameTaken: "name-taken"
        case .cronTimeZone: "cron-tz"
        case .timeZoneVariable: "tz-variable"
        case .homeUnknown: "home-unknown"
        case .rebootMeansDaemonStart: "reboot"
        case .neverFires: "never-fires"
        case .looksLikeSystemCrontab: "looks-like-system-crontab"
        case .fileIgnoredByCron: "file-ignored-by-cron"
        }
    }

    public var description: String {
        switch self {
        case .skipped(let problem):
            return "skipped: \(problem)"
        case .standardInput(let command, _):
            return "the command has an unescaped `%`: cron ran only `\(Self.shorten(command))` and fed the rest to its standard input, which Ascribe jobs do not have; the job file has no `command` line until you pick one (its header suggests two)"
        case .missingOwner:
            return "no owner: fill in `owner =` with who is accountable, or re-run with --owner; the job does not load until then"
        case .variableDropped(let name, let value, let reason):
            let setting = "\(name)=\(Self.shorten(value))"
            switch reason {
            case .fixedPath:
                let lost = Self.directoriesLost(value)
                let consequence = lost.isEmpty ? "" : ", so \(lost.joined(separator: ", ")) \(lost.count == 1 ? "is" : "are") no longer searched: call programs there by full path"
                return "\(setting) is not carried over: jobs always run with PATH=\(Self.launcherPath.joined(separator: ":"))\(consequence)"
            case .homeBecameWorkingDirectory:
                return "\(setting) is not carried over (each run gets the run-as user's HOME); cron started commands there, so it is the job's working-directory"
            case .launcherOwned:
                return "\(setting) is not carried over: the launcher sets \(name) for every run"
            case .invalidName(let why):
                return "\(Self.shorten(setting)) is not carried over: \(why)"
            case .trailingBlanks:
                return "\(name) is not carried over: its value ends in blanks, which a job file cannot keep; set it by hand if it matters"
            }
        case .mailNotSent(let address):
            return "MAILTO=\(Self.shorten(address)): cron mailed output there; Ascribe sends no mail (each run's output is kept with its events: ascribe log), so alert on failed runs instead"
        case .noRunAs:
            return "user crontab: no run-as (re-run with --run-as USER, the crontab's owner); cron ran the command as that user, in their home directory, and a daemon running as root launches no job without run-as"
        case .runsAsRoot:
            return "runs as root, as the cron line did; give it an unprivileged user that can change only what it needs to"
        case .identityReplaced(let suggested, let chosen):
            return "\"\(suggested)\" is an anonymous actor name and cannot be an identity; named \(chosen) instead: rename it for what it does"
        case .identityGeneric(let chosen):
            return "nothing in the command names it; named \(chosen): rename it for what it does"
        case .identityShared(let suggested, let chosen):
            return "another imported job is already \(suggested); this one is \(chosen). One identity per automation: rename it for what it does"
        case .nameTaken(let suggested, let chosen):
            return "\(suggested).job already exists in the output directory; written as \(chosen).job (--force replaces existing files)"
        case .cronTimeZone(let zone):
            return "CRON_TZ=\(zone): scheduled in \(zone), as cronie does; Debian's cron ignores CRON_TZ and used the system zone, so check which one was meant"
        case .timeZoneVariable(let zone):
            return "TZ=\(Self.shorten(zone)) is passed to the command as cron did, but cron read the schedule in the system zone and so does this job; add `timezone = \(Self.shorten(zone))` if the times were meant there"
        case .homeUnknown(let user):
            return "cron started the command in the home directory of \(user), which this host does not know; set working-directory if the command relies on it"
        case .rebootMeansDaemonStart:
            return "@reboot runs each time the Ascribe daemon starts (restarts included), not only at boot"
        case .neverFires:
            return "the schedule matches no date, so cron never ran this line and the job never runs either"
        case .looksLikeSystemCrontab:
            return "the command starts with `root`: if this is a system crontab (with a user field), re-run with --format system"
        case .fileIgnoredByCron:
            return "not imported: cron skips files in /etc/cron.d whose names hold anything but letters, digits, `_` and `-`, so these lines never ran"
        }
    }

    /// The PATH every run gets (PRODUCT.md section 4).
    public static let launcherPath = ["/usr/local/bin", "/usr/bin", "/bin"]

    /// Directories of a crontab PATH that the launcher's PATH does not search.
    static func directoriesLost(_ path: String) -> [String] {
        var lost: [String] = []
        for directory in path.split(separator: ":").map(String.init)
        where !launcherPath.contains(directory) && !lost.contains(directory) {
            lost.append(directory)
        }
        return lost
    }

    static func shorten(_ text: String) -> String { JobFileParser.shorten(text) }
}
