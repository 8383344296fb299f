import AscribeCore

/// What an identity or a job a control request names. The name alone is usually enough; the
/// kind settles the rare name that is both a job and an identity.
public struct ControlTarget: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case identity, job
    }

    public var name: String
    /// nil: whichever of job or identity the name matches.
    public var kind: Kind?

    public init(name: String, kind: Kind? = nil) {
        self.name = name
        self.kind = kind
    }
}

/// What a client asks the daemon, one JSON object on one line. The caller's identity is never
/// part of it: the daemon takes it from the kernel (`SO_PEERCRED`).
public enum ControlRequest: Equatable, Sendable {
    case status
    /// `force`: root's override of the run rules (`ascribe run --force`); the daemon checks the
    /// peer is root and records what was overridden.
    case run(job: String, reason: String?, force: Bool = false)
    case disable(ControlTarget, reason: String)
    case enable(ControlTarget, reason: String)
    /// Re-read the jobs directory, recorded with the caller as principal (SIGHUP cannot say who).
    case reload(reason: String?)
    /// `ascribe keys rotate`: the daemon signs with the keys, so it rotates them and records
    /// `key.rotated` with the caller as principal.
    case rotateKeys(KeyPurpose, reason: String)

    /// The longest request line the daemon reads; anything longer is refused unread.
    public static let maximumBytes = 64 * 1024
    /// The longest `reason`, in characters: enough for a sentence and a ticket link.
    public static let maximumReasonLength = 1000

    public var name: String {
        switch self {
        case .status: "status"
        case .run: "run"
        case .disable: "disable"
        case .enable: "enable"
        case .reload: "reload"
        case .rotateKeys: "rotate-keys"
        }
    }

    public var json: JSONValue {
        switch self {
        case .status:
            return .object([("request", .string("status"))])
        case .run(let job, let reason, let force):
            var fields: [(String, JSONValue)] = [("request", .string("run")), ("job", .string(job)), ("reason", .optional(reason))]
            if force { fields.append(("force", .bool(true))) }
            return .object(fields)
        case .reload(let reason):
            return .object([("request", .string("reload")), ("reason", .optional(reason))])
        case .rotateKeys(let purpose, let reason):
            return .object([("request", .string(name)), ("purpose", .string(purpose.rawValue)), ("reason", .string(reason))])
        case .disable(let target, let reason), .enable(let target, let reason):
            return .object([("request", .string(name)), ("target", .string(target.name)),
                             ("kind", .optional(target.kind?.rawValue)), ("reason", .string(reason))])
        }
    }

    /// A reason as it is recorded: trimmed, at most `maximumReasonLength` characters, and with
    /// nothing that could break or reorder a line where it is shown (`Event.needsEscaping`:
    /// controls, NEL, U+2028/U+2029, bidi overrides). nil when none was given (or only blanks,
    /// where it is optional). The daemon checks each request with it; the command line checks
    /// `--reason` with it before sending, so a bad reason is bad usage (exit 2) everywhere.
    public static func validatedReason(_ given: String?, required: Bool) throws(ControlRequestError) -> String? {
        let trimmed = given?.trimmingWhitespace ?? ""
        if required && trimmed.isEmpty { throw ControlRequestError("a reason is required: say why, in words") }
        guard trimmed.count <= maximumReasonLength else {
            throw ControlRequestError("the reason is longer than \(maximumReasonLength) characters")
        }
        if let bad = trimmed.unicodeScalars.first(where: Event.needsEscaping) {
            let hex = String(bad.value, radix: 16, uppercase: true)
            throw ControlRequestError("the reason contains U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex), "
                + "a control, line-breaking or direction-changing character")
        }
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Parses one request line; every problem is a `ControlRequestError` the client is told.
    public init(line: [UInt8]) throws(ControlRequestError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw ControlRequestError("not a JSON request: \(error.description)")
        }
        guard case .object = value, let request = value["request"]?.stringValue else {
            throw ControlRequestError("a request is a JSON object with a \"request\" field")
        }
        func text(_ key: String, required: Bool) throws(ControlRequestError) -> String? {
            guard let field = value[key], field != .null else {
                if required { throw ControlRequestError("\"\(key)\" is required for \(request)") }
                return nil
            }
            guard let string = field.stringValue else { throw ControlRequestError("\"\(key)\" must be a string") }
            return string
        }
        func reason(required: Bool) throws(ControlRequestError) -> String? {
            try Self.validatedReason(try text("reason", required: required), required: required)
        }
        switch request {
        case "status":
            self = .status
        case "run":
            var force = false
            if let given = value["force"], given != .null {
                guard let flag = given.boolValue else { throw ControlRequestError("\"force\" must be true or false") }
                force = flag
            }
            self = .run(job: try text("job", required: true) ?? "", reason: try reason(required: false), force: force)
        case "reload":
            self = .reload(reason: try reason(required: false))
        case "disable", "enable":
            let name = try text("target", required: true) ?? ""
            var kind: ControlTarget.Kind?
            if let given = try text("kind", required: false) {
                guard let parsed = ControlTarget.Kind(rawValue: given) else {
                    throw ControlRequestError("\"kind\" is identity or job, not \"\(given)\"")
                }
                kind = parsed
            }
            let target = ControlTarget(name: name, kind: kind)
            let why = try reason(required: true) ?? ""
            self = request == "disable" ? .disable(target, reason: why) : .enable(target, reason: why)
        case "rotate-keys":
            let given = try text("purpose", required: true) ?? ""
            guard let purpose = KeyPurpose(rawValue: given) else {
                throw ControlRequestError("\"purpose\" is token or checkpoint, not \"\(given)\"")
            }
            self = .rotateKeys(purpose, reason: try reason(required: true) ?? "")
        default:
            throw ControlRequestError("unknown request \"\(request)\" (status, run, disable, enable, reload, rotate-keys)")
        }
    }
}

/// Why a request line could not be understood.
public struct ControlRequestError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One line of the daemon's answer. Most requests get one final reply; `run` gets `started`,
/// each durable event of the run, then `ended`.
public enum ControlReply: Sendable {
    /// Why the request was not carried out. Final.
    case refused(ControlRefusal, message: String)
    /// Carried out (or nothing to do); the events it recorded. Final.
    case done(message: String, events: [RenderedEvent])
    case runStarted(runID: String, pid: Int32)
    case runEvent(RenderedEvent)
    /// The run is accounted for. Final.
    case runEnded(succeeded: Bool, message: String)
    /// Final.
    case status(JSONValue)

    public var isFinal: Bool {
        switch self {
        case .runStarted, .runEvent: false
        default: true
        }
    }

    public var json: JSONValue {
        switch self {
        case .refused(let refusal, let message):
            .object([("reply", .string("refused")), ("code", .string(refusal.rawValue)), ("message", .string(message))])
        case .done(let message, let events):
            .object([("reply", .string("done")), ("message", .string(message)), ("events", .array(events.map(\.json)))])
        case .runStarted(let runID, let pid):
            .object([("reply", .string("started")), ("run_id", .string(runID)), ("pid", .int(Int64(pid)))])
        case .runEvent(let event):
            .object([("reply", .string("event")), ("event", event.json)])
        case .runEnded(let succeeded, let message):
            .object([("reply", .string("ended")), ("succeeded", .bool(succeeded)), ("message", .string(message))])
        case .status(let status):
            .object([("reply", .string("status")), ("status", status)])
        }
    }

    public var line: [UInt8] { Array((json.rendered + "\n").utf8) }

    public init(line: [UInt8]) throws(ControlRequestError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw ControlRequestError("the daemon's reply is not JSON: \(error.description)")
        }
        let message = value["message"]?.stringValue ?? ""
        switch value["reply"]?.stringValue {
        case "refused":
            self = .refused(ControlRefusal(rawValue: value["code"]?.stringValue ?? "") ?? .badRequest, message: message)
        case "done":
            self = .done(message: message, events: (value["events"]?.arrayValue ?? []).compactMap(RenderedEvent.init(json:)))
        case "started":
            self = .runStarted(runID: value["run_id"]?.stringValue ?? "", pid: Int32(clamping: value["pid"]?.intValue ?? 0))
        case "event":
            guard let event = value["event"].flatMap(RenderedEvent.init(json:)) else {
                throw ControlRequestError("the daemon's event reply has no event")
            }
            self = .runEvent(event)
        case "ended":
            self = .runEnded(succeeded: value["succeeded"]?.boolValue ?? false, message: message)
        case "status":
            self = .status(value["status"] ?? .null)
        default:
            throw ControlRequestError("the daemon's reply has no known \"reply\" field")
        }
    }
}

/// Why the daemon did not carry out a request.
public enum ControlRefusal: String, Sendable {
    /// The caller is not root, not the daemon's user, and not in the control group.
    case notAllowed = "not-allowed"
    case badRequest = "bad-request"
    case unknownTarget = "unknown-target"
    case ambiguousTarget = "ambiguous-target"
    /// The job or its identity is disabled, or a run is in progress and overlap forbids another.
    case notRun = "not-run"
    case busy
    case stopping
}

/// An event as a client prints it: its log lines and its JSON object (the client has no store).
public struct RenderedEvent: Sendable {
    public var line: String
    /// `--verbose`'s line; a daemon from before it existed sends none, and `line` stands in.
    public var verboseLine: String
    public var object: JSONValue

    public init(_ event: Event) {
        line = event.logLine
        verboseLine = event.verboseLogLine
        object = event.jsonObject
    }

    var json: JSONValue { .object([("line", .string(line)), ("verbose_line", .string(verboseLine)), ("object", object)]) }

    init?(json: JSONValue) {
        guard let line = json["line"]?.stringValue, let object = json["object"] else { return nil }
        self.line = line
        verboseLine = json["verbose_line"]?.stringValue ?? line
        self.object = object
    }
}
