import AscribeCore

/// How `ascribe log` shows an event: one JSON object per line for machines, one line of plain
/// words for people.
extension Event {
    /// Every stored field under its section 5 name, absent ones as `null`, in table order, so
    /// scripts see the same keys on every line.
    public var jsonObject: JSONValue {
        func int(_ value: Int64?) -> JSONValue { value.map(JSONValue.int) ?? .null }
        func int32(_ value: Int32?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
        let details = content.details.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return .object([
            ("seq", .int(seq)),
            ("event_id", .string(eventID)),
            ("time", .string(content.time.rfc3339)),
            ("host", .string(content.host)),
            ("type", .string(content.type.rawValue)),
            ("actor", .string(content.actor)),
            ("principal", .optional(content.principal)),
            ("owner", .optional(content.owner)),
            ("job", .optional(content.job)),
            ("identity", .optional(content.identity)),
            ("run_id", .optional(content.runID)),
            ("scheduled_for", .optional(content.scheduledFor?.rfc3339)),
            ("reason", .optional(content.reason)),
            ("argv", content.argv.map { .array($0.map(JSONValue.string)) } ?? .null),
            ("run_as", .optional(content.runAs)),
            ("config_source", .optional(content.configSource)),
            ("config_hash", .optional(content.configHash)),
            ("pid", int32(content.pid)),
            ("exit_code", int32(content.exitCode)),
            ("signal", int32(content.signal)),
            ("duration_ms", int(content.durationMs)),
            ("stdout_bytes", int(content.stdoutBytes)),
            ("stderr_bytes", int(content.stderrBytes)),
            ("output_sha256", .optional(content.outputSHA256)),
            ("output_tail", .optional(content.outputTail)),
            ("output_cap_bytes", int(content.outputCapBytes)),
            ("output_path", .optional(content.outputPath)),
            ("development", .bool(content.development)),
            ("details", .object(details.map { ($0.key, JSONValue.string($0.value)) })),
            ("prev_hash", .string(prevHash)),
            ("hash", .string(hash)),
        ])
    }

    /// The default line, for a person: time, type, job, who (identity → principal), the
    /// outcome in words and the run id cut to 8 characters, e.g.
    /// `2026-11-23T18:30:00.123Z  run.failed  failure-drill  failure-drill → alice  exit 3 after 12ms  last "disk full"  run 0123abcd`.
    /// Internal fields (pids, recorder, hashes, most `details`) are left to `verboseLogLine`
    /// and `--json`. Escaped as `verboseLogLine` is.
    public var logLine: String {
        var parts = [content.time.rfc3339, content.type.rawValue, content.job.map { Self.escaped($0) } ?? "-"]
        var who = Self.escaped(content.actor)
        if let principal = content.principal { who += " → " + Self.escaped(principal) }
        parts.append(who)
        if let identity = content.identity, identity != content.actor { parts.append("identity \(Self.escaped(identity))") }
        parts += outcomeWords
        if let runID = content.runID { parts.append("run " + Self.escaped(String(runID.prefix(8)))) }
        if content.development { parts.append("[dev]") }
        return parts.joined(separator: "  ")
    }

    /// What the event says happened, in words, by type.
    private var outcomeWords: [String] {
        var words: [String] = []
        switch content.type {
        case .runFired, .runMissed, .runLost:
            if let slot = content.scheduledFor { words.append("slot \(slot.rfc3339)") }
        case .runSkipped:
            if let slot = content.scheduledFor { words.append("slot \(slot.rfc3339)") }
            words.append("skipped: " + SlotHistory.skipWords(self))
            return words
        case .runSucceeded, .runFailed, .runTimedOut:
            var end: [String] = []
            if let exitCode = content.exitCode { end.append("exit \(exitCode)") }
            if let signal = content.signal { end.append("signal \(signal)") }
            if let durationMs = content.durationMs { end.append("after \(Self.duration(durationMs))") }
            if !end.isEmpty { words.append(end.joined(separator: " ")) }
            if content.type != .runSucceeded, let lastLine = content.outputTail.flatMap(Self.lastLine) {
                words.append("last \(Self.quoted(lastLine))")
            }
        case .runLaunchFailed:
            if let error = content.details[.error] { words.append("could not launch: " + Self.escaped(error)) }
        case .configRejected:
            if let source = content.configSource { words.append(Self.escaped(source)) }
        default:
            break
        }
        if let reason = content.reason { words.append("reason \(Self.quoted(reason))") }
        return words
    }

    /// Every field a person might ask about, `details` included:
    /// `2026-11-23T18:30:00.123Z  run.failed  failure-drill  actor failure-drill  exit 3 after 12ms  last "disk full"`.
    /// Control and direction-changing characters are escaped, so text a job printed can never
    /// start a fake line or reorder what on-call reads.
    public var verboseLogLine: String {
        var outcome: [String] = []
        if let pid = content.pid { outcome.append("pid \(pid)") }
        if let runAs = content.runAs { outcome.append("as \(Self.escaped(runAs))") }
        if let exitCode = content.exitCode { outcome.append("exit \(exitCode)") }
        if let signal = content.signal { outcome.append("signal \(signal)") }
        if let durationMs = content.durationMs { outcome.append("after \(Self.duration(durationMs))") }
        var parts = [content.time.rfc3339, content.type.rawValue, content.job.map { Self.escaped($0) } ?? "-"]
        var actor = "actor \(Self.escaped(content.actor))"
        if let principal = content.principal { actor += " for \(Self.escaped(principal))" }
        parts.append(actor)
        if let identity = content.identity, identity != content.actor { parts.append("identity \(Self.escaped(identity))") }
        if !outcome.isEmpty { parts.append(outcome.joined(separator: " ")) }
        if let scheduledFor = content.scheduledFor { parts.append("slot \(scheduledFor.rfc3339)") }
        if let reason = content.reason { parts.append("reason \(Self.quoted(reason))") }
        for (key, value) in content.details.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            parts.append("\(Self.escaped(key))=\(Self.quoted(value))")
        }
        if let lastLine = content.outputTail.flatMap(Self.lastLine) { parts.append("last \(Self.quoted(lastLine))") }
        if content.development { parts.append("[dev]") }
        return parts.joined(separator: "  ")
    }

    private static func lastLine(of text: String) -> String? {
        let line = text.split(whereSeparator: \.isNewline).last { !$0.allSatisfy(\.isWhitespace) }
        return line.map { $0.count > 120 ? String($0.prefix(119)) + "…" : String($0) }
    }

    /// In double quotes, with `"` and `\` escaped too, so the quoted text cannot end early.
    private static func quoted(_ text: String) -> String { "\"" + escaped(text, quoting: true) + "\"" }

    /// `\n`, `\t`, `\r` spelled out; other controls, line separators and bidi overrides as
    /// `\u{…}`. Every text view of free text (log lines, `why`, `identities`, syslog, what the
    /// command line prints of the daemon's replies) goes through here.
    public static func escaped(_ text: String, quoting: Bool = false) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22 where quoting: output += "\\\""
            case 0x5C where quoting: output += "\\\\"
            case 0x0A: output += "\\n"
            case 0x09: output += "\\t"
            case 0x0D: output += "\\r"
            case _ where needsEscaping(scalar): output += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// Characters that could start a fake line or reorder what a reader sees: C0 and C1
    /// controls (VT, FF, the FS/GS/RS separators some tools split on, NEL U+0085), the line and
    /// paragraph separators U+2028/U+2029, and bidi marks and overrides. Also what a reason
    /// may not contain (`ControlRequest.validatedReason`).
    public static func needsEscaping(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true
        default: false
        }
    }

    /// `12ms`, `4.2s`, `3m05s`, `2h03m`.
    static func duration(_ milliseconds: Int64) -> String {
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        if milliseconds < 60_000 { return "\(milliseconds / 1000).\(milliseconds % 1000 / 100)s" }
        let seconds = milliseconds / 1000
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if seconds < 3600 { return "\(seconds / 60)m\(two(seconds % 60))s" }
        return "\(seconds / 3600)h\(two(seconds % 3600 / 60))m"
    }
}
