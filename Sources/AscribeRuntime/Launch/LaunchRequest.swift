import AscribeSystem

/// The Unix account a run executes as: a user, and optionally a group other than the user's
/// primary group. Names or numeric ids.
public struct RunAsTarget: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var group: String?

    public init(user: String, group: String? = nil) {
        self.user = user
        self.group = group
    }

    public var description: String { group.map { "\(user):\($0)" } ?? user }
}

/// The variables that tie whatever a run does back to its record (PRODUCT.md section 4).
public struct AttributionEnvironment: Sendable, Equatable {
    /// `ASCRIBE_JOB`.
    public var job: String
    /// `ASCRIBE_IDENTITY`.
    public var identity: String
    /// `ASCRIBE_SCHEDULED_FOR`, the slot as RFC 3339; nil (and the variable absent) for a run
    /// that no slot asked for, such as a manual `ascribe run`.
    public var scheduledFor: String?
    /// `TRACEPARENT`, W3C trace context.
    public var traceparent: String

    public init(job: String, identity: String, scheduledFor: String?, traceparent: String) {
        self.job = job
        self.identity = identity
        self.scheduledFor = scheduledFor
        self.traceparent = traceparent
    }

    /// With the trace context derived from the run id.
    public init(job: String, identity: String, runID: String, scheduledFor: String?) {
        self.init(job: job, identity: identity, scheduledFor: scheduledFor,
                  traceparent: Self.traceparent(runID: runID))
    }

    /// `00-<trace id>-<parent id>-01`. A run id that is a UUID (or any 32 hex digits) is the
    /// trace id itself, so logs can be joined to the run by eye; any other run id is hashed
    /// (FNV-1a; this is a correlation key, not a security property). The parent id is a hash of
    /// the run id. Both are deterministic: the same run always has the same trace context.
    public static func traceparent(runID: String) -> String {
        let compact = runID.lowercased().filter { $0 != "-" }
        let isHex = compact.utf8.count == 32 && compact.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        let traceID = isHex && compact.utf8.contains { $0 != 0x30 }
            ? compact
            : hex(fnv1a(runID, basis: 0xcbf2_9ce4_8422_2325)) + hex(fnv1a(runID, basis: 0x84222325_cbf29ce4))
        let parentID = hex(fnv1a("parent:" + runID, basis: 0xcbf2_9ce4_8422_2325))
        return "00-\(traceID)-\(parentID)-01"
    }

    /// All-zero ids are invalid in trace context, so a zero hash becomes one.
    private static func fnv1a(_ text: String, basis: UInt64) -> UInt64 {
        let hash = text.utf8.reduce(basis) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return hash == 0 ? 1 : hash
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Everything the launcher needs to start one run, independent of job files: the scheduler
/// maps a `JobDefinition` and a fire time onto it.
public struct LaunchRequest: Sendable, Equatable {
    /// One `NAME=value` added to the run's environment.
    public struct Variable: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// One credential: the file name the run sees, and the store file it is copied from
    /// (`<store>/<identity>/<name>`).
    public struct Credential: Sendable, Equatable {
        public var name: String
        public var source: String

        public init(name: String, source: String) {
            self.name = name
            self.source = source
        }
    }

    /// A file the scheduler made for this run alone (an identity token), placed beside the
    /// copied credentials with the same owner and mode.
    public struct GeneratedCredential: Sendable, Equatable {
        public var name: String
        public var bytes: [UInt8]

        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// The PATH every run gets, and where bare program names are looked up.
    public static let searchPath = HostFindings.searchPath

    public var runID: String
    /// Absolute path of the program; see `resolveProgram(_:)` for bare names.
    public var executable: String
    /// The complete argv, `argv[0]` included.
    public var arguments: [String]
    /// Required when the scheduler is root; see `Launcher.prepare(_:)`.
    public var runAs: RunAsTarget?
    /// Absolute; entered by the job's user, so it must be reachable by that user.
    public var workingDirectory: String
    /// The job's own variables. Names the launcher sets itself are refused.
    public var extraEnvironment: [Variable]
    public var attribution: AttributionEnvironment
    public var credentials: [Credential]
    public var generatedCredentials: [GeneratedCredential]
    /// Nil: no limit.
    public var timeout: Duration?
    /// Between SIGTERM and SIGKILL to the process group when the run times out.
    public var killGrace: Duration
    /// The per-run capture file for stdout and stderr: must not exist yet; created (mode 0600)
    /// at the first byte of output, so a silent run leaves none.
    public var outputPath: String
    /// At most this many bytes of output are written to `outputPath`; the rest is counted and
    /// digested only.
    public var outputCapBytes: Int

    public init(
        runID: String, executable: String, arguments: [String], runAs: RunAsTarget? = nil,
        workingDirectory: String = "/", extraEnvironment: [Variable] = [], attribution: AttributionEnvironment,
        credentials: [Credential] = [], generatedCredentials: [GeneratedCredential] = [], timeout: Duration? = nil, killGrace: Duration = .seconds(10),
        outputPath: String, outputCapBytes: Int = 1 << 20
    ) {
        self.runID = runID
        self.executable = executable
        self.arguments = arguments
        self.runAs = runAs
        self.workingDirectory = workingDirectory
        self.extraEnvironment = extraEnvironment
        self.attribution = attribution
        self.credentials = credentials
        self.generatedCredentials = generatedCredentials
        self.timeout = timeout
        self.killGrace = killGrace
        self.outputPath = outputPath
        self.outputCapBytes = outputCapBytes
    }

    /// The absolute path `execvp` would pick for a bare program name in `searchPath`: the first
    /// regular file with an execute bit. Names containing `/` are returned unchanged when
    /// absolute, nil otherwise.
    public static func resolveProgram(_ name: String) -> String? {
        if name.hasPrefix("/") { return name }
        guard !name.isEmpty, !name.contains("/") else { return nil }
        for directory in searchPath {
            let candidate = directory + "/" + name
            if let status = try? FileStatus(path: candidate, followingLinks: true),
               status.kind == .regular, status.isExecutableBySomeone {
                return candidate
            }
        }
        return nil
    }

    /// Names the launcher sets for every run; a job cannot override them.
    static let launcherVariables: Set<String> = [
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "CREDENTIALS_DIRECTORY", "TRACEPARENT",
    ]

    /// Refuses what would be silently wrong later: NUL bytes (C strings would cut them short),
    /// relative paths, an empty argv, variables the launcher owns, unusable credential names.
    func validate() throws(LaunchFailure) {
        func refuse(_ reason: String) -> LaunchFailure { .invalidRequest(reason) }
        let texts = [runID, executable, workingDirectory, outputPath, attribution.job, attribution.identity,
                     attribution.traceparent, attribution.scheduledFor ?? ""]
            + arguments + extraEnvironment.flatMap { [$0.name, $0.value] } + credentials.flatMap { [$0.name, $0.source] } + generatedCredentials.map(\.name)
        guard !texts.contains(where: { $0.utf8.contains(0) }) else { throw refuse("a value contains a NUL byte") }
        guard !runID.isEmpty else { throw refuse("the run id is empty") }
        guard executable.hasPrefix("/") else {
            if !executable.isEmpty, !executable.contains("/") { throw .programNotInSearchPath(name: executable) }
            throw refuse("executable `\(executable)` is not an absolute path (resolve bare names with LaunchRequest.resolveProgram)")
        }
        guard !arguments.isEmpty else { throw refuse("the argument list is empty; it must hold at least argv[0]") }
        guard workingDirectory.hasPrefix("/") else { throw refuse("working directory `\(workingDirectory)` is not absolute") }
        guard !outputPath.isEmpty else { throw refuse("the output path is empty") }
        guard outputCapBytes >= 0 else { throw refuse("the output cap is negative") }
        guard killGrace >= .zero else { throw refuse("the kill grace is negative") }
        if let timeout, timeout <= .zero { throw refuse("the timeout is not positive") }
        var names = Set<String>()
        for variable in extraEnvironment {
            guard Self.isVariableName(variable.name) else { throw refuse("`\(variable.name)` is not a valid variable name") }
            guard !Self.launcherVariables.contains(variable.name), !variable.name.hasPrefix("ASCRIBE_") else {
                throw refuse("`\(variable.name)` is set by the launcher and cannot be overridden")
            }
            guard names.insert(variable.name).inserted else { throw refuse("`\(variable.name)` is set twice") }
        }
        var credentialNames = Set<String>()
        for name in credentials.map(\.name) + generatedCredentials.map(\.name) {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw refuse("`\(name)` cannot name a file in the credentials directory")
            }
            guard credentialNames.insert(name).inserted else { throw refuse("credential `\(name)` is listed twice") }
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`, the names every shell can read back.
    private static func isVariableName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F }
        guard let first = bytes.first, isLetter(first) else { return false }
        return bytes.allSatisfy { isLetter($0) || (0x30...0x39).contains($0) }
    }
}
