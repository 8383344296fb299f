import AscribeCore

/// Inputs and renderings shared by the job file and job directory tests.
package enum JobFileFixture {
    /// Knows only the zones the tests use, so "unknown zone" is deterministic.
    package static let zones: @Sendable (String) -> ZoneRules? = { name in
        switch name {
        case "UTC": ZoneRules.utc
        case "Europe/Berlin": ZoneRules.fixed(identifier: "Europe/Berlin", offsetSeconds: 3600)
        default: nil
        }
    }

    /// A valid file; the table cases replace or append lines.
    package static let baseLines = [
        "schedule = */15 * * * *",
        "identity = stale-lock-reaper",
        "owner = storage-team <storage-oncall@example.com>",
        "command = /usr/bin/true",
    ]

    package static func parse(_ text: String, path: String = "/etc/ascribe/jobs.d/stale-lock-reaper.job") -> JobFileParseResult {
        JobFile.parse(Array(text.utf8), path: path, zones: zones,
                      zoneAdvice: { ZoneNameAdvice.advise($0, known: ["Europe/Berlin", "UTC"], databaseRoot: "/usr/share/zoneinfo") })
    }

    /// The base file with the line for `key` (a base key, or nil to change nothing) replaced
    /// and `extra` lines appended.
    package static func file(replacing key: String? = nil, with line: String = "", appending extra: [String] = []) -> String {
        let lines = baseLines.map { base in key.map { base.hasPrefix($0 + " =") } == true ? line : base } + extra
        return lines.joined(separator: "\n") + "\n"
    }

    /// `line:column: severity: message` for each diagnostic, in order.
    package static func rendered(_ result: JobFileParseResult) -> [String] {
        result.diagnostics.map { "\($0.line):\($0.column): \($0.severity): \($0.message)" }
    }
}
