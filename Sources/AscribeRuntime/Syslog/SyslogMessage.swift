import AscribeCore

/// An event as one RFC 5424 syslog message, so a SIEM fed by rsyslog receives actor,
/// principal, job, run and outcome as structured-data fields instead of parsing a line.
///
/// `<PRI>1 TIMESTAMP HOSTNAME ascribe PROCID MSGID [ascribe@32473 …] MSG`: facility `cron` (9),
/// a severity per event type, MSGID the event type, MSG the `ascribe log` line. 32473 is the
/// IANA example enterprise number (RFC 5612); Ascribe has no number of its own.
public enum SyslogMessage {
    /// The SD-ID of the one SD-ELEMENT every message carries.
    public static let structuredDataID = "ascribe@32473"
    /// Facility `cron` (RFC 5424 table 1).
    public static let facility = 9
    /// Messages are cut to this many bytes (MSG is shortened): what every common receiver
    /// accepts on a local socket (rsyslog's default `$MaxMessageSize` is 8 KiB).
    public static let maximumBytes = 8000
    /// Each PARAM-VALUE is cut to this many bytes, so free text (a long reason) cannot crowd
    /// out the other fields; every field together stays well under `maximumBytes`.
    public static let maximumValueBytes = 256

    /// RFC 5424 severities used here.
    public enum Severity: Int, Sendable {
        case error = 3
        case warning = 4
        case notice = 5
        case informational = 6
    }

    /// Failures are errors; slots that did not run and rejected configuration are warnings;
    /// changes made by people and daemon starts and stops are notices; the rest is routine.
    public static func severity(of type: EventType) -> Severity {
        switch type {
        case .runFailed, .runTimedOut, .runLaunchFailed, .runLost: .error
        case .runSkipped, .runMissed, .configRejected, .controlRefused: .warning
        case .daemonStarted, .daemonStopped, .configLoaded, .identityDisabled, .identityEnabled, .jobDisabled, .jobEnabled,
             .keyCreated, .keyRotated, .checkpointSigned, .checkpointCosigned: .notice
        case .runFired, .runSucceeded, .daemonHeartbeat, .credentialIssued: .informational
        }
    }

    /// What became of the run, for run events: the type without `run.` (`failed`, `skipped`).
    public static func outcome(of type: EventType) -> String? {
        type.isRun ? String(type.rawValue.dropFirst("run.".count)) : nil
    }

    /// The whole message; `processID` is the sender's pid (`-` when nil).
    public static func format(_ event: Event, processID: Int32?) -> String {
        let priority = facility * 8 + severity(of: event.type).rawValue
        let header = "<\(priority)>1 \(event.time.rfc3339) \(headerField(event.host, limit: 255)) ascribe "
            + "\(processID.map(String.init) ?? "-") \(headerField(event.type.rawValue, limit: 32))"
        let message = header + " " + structuredData(event) + " "
        return message + truncated(event.verboseLogLine, toBytes: maximumBytes - message.utf8.count)
    }

    /// `[ascribe@32473 type="…" …]`: the fields a SIEM filters on, absent ones left out. Values
    /// are escaped as in `ascribe log` lines (`Event.escaped`), so a reason cannot break the
    /// message into lines for a receiver that splits on NEL or U+2028.
    public static func structuredData(_ event: Event) -> String {
        var parameters: [(String, String)] = [("type", event.type.rawValue), ("actor", event.actor)]
        let optional: [(String, String?)] = [
            ("principal", event.principal), ("job", event.job), ("identity", event.identity), ("owner", event.owner),
            ("run_id", event.runID), ("outcome", outcome(of: event.type)),
            ("scheduled_for", event.scheduledFor?.rfc3339), ("exit_code", event.exitCode.map(String.init)),
            ("signal", event.signal.map(String.init)), ("duration_ms", event.durationMs.map(String.init)),
            ("reason", event.reason),
        ]
        parameters += optional.compactMap { name, value in value.map { (name, $0) } }
        if event.development { parameters.append(("development", "true")) }
        parameters += [("seq", String(event.seq)), ("event_id", event.eventID), ("hash", event.hash)]
        return "[" + structuredDataID
            + parameters.map { " \($0.0)=\"\(escapedParameterValue(truncated(Event.escaped($0.1), toBytes: maximumValueBytes)))\"" }.joined() + "]"
    }

    /// RFC 5424 section 6.3.3: `"`, `\` and `]` are escaped with a backslash inside a PARAM-VALUE.
    public static func escapedParameterValue(_ text: String) -> String {
        var output = ""
        for character in text.unicodeScalars {
            if character == "\"" || character == "\\" || character == "]" { output += "\\" }
            output.unicodeScalars.append(character)
        }
        return output
    }

    /// Header fields are 1 to `limit` printable US-ASCII characters; anything else becomes `_`,
    /// an empty field the NILVALUE `-`.
    static func headerField(_ text: String, limit: Int) -> String {
        let printable = String(text.unicodeScalars.prefix(limit).map { (33...126).contains($0.value) ? Character($0) : "_" })
        return printable.isEmpty ? "-" : printable
    }

    /// At most `bytes` UTF-8 bytes of `text`, cut at a character boundary, marked with `…`.
    static func truncated(_ text: String, toBytes bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var kept = ""
        var used = 3
        for character in text {
            used += character.utf8.count
            if used > bytes { break }
            kept.append(character)
        }
        return kept + "…"
    }
}
