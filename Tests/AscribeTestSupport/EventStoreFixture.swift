import Foundation
import Testing
import AscribeRuntime

/// Drafts, scratch stores and the `sqlite3` tool, shared by the event store tests.
package enum EventStoreFixture {
    /// 2026-11-23T18:30:00Z.
    package static let baseTime: Int64 = 1_795_458_600_000

    package static func draft(_ type: EventType = .runFired, job: String = "failure-drill", minute: Int64 = 0,
                      runID: String? = nil) -> EventDraft {
        EventDraft(time: EventTime(millisecondsSinceEpoch: baseTime + minute * 60_000), host: "web1", type: type,
                   actor: job, owner: "storage-team <storage-oncall@example.com>", job: job, identity: job,
                   runID: runID)
    }

    package static func daemonDraft(_ type: EventType = .daemonStarted, minute: Int64 = 0) -> EventDraft {
        EventDraft(time: EventTime(millisecondsSinceEpoch: baseTime + minute * 60_000), host: "web1", type: type,
                   actor: "ascribe-scheduler@web1")
    }

    /// A draft with every field set, strings chosen to trip up encoders (NUL, quotes, newlines,
    /// non-ASCII, JSON-looking text).
    package static func fullDraft() -> EventDraft {
        EventDraft(
            time: EventTime(millisecondsSinceEpoch: baseTime + 123), host: "web1.example.com", type: .runFailed,
            actor: "failure-drill", principal: "alice", owner: "storage-team <storage-oncall@example.com>",
            job: "failure-drill", identity: "failure-drill", runID: "0123456789abcdef0123456789abcdef",
            scheduledFor: EventTime(millisecondsSinceEpoch: baseTime), reason: "drill \"quoted\"\nsecond line",
            argv: ["/usr/bin/env", "sh", "-c", "exit 3", "", "nul\u{0}byte", "ünïcødé ✓", "[\"json\"]"],
            runAs: "drill:drill", configSource: "/etc/ascribe/jobs.d/failure-drill.job:4",
            configHash: String(repeating: "ab", count: 32), pid: 4242, exitCode: 3, signal: nil, durationMs: 12,
            stdoutBytes: 1_048_576, stderrBytes: 0, outputSHA256: String(repeating: "cd", count: 32),
            outputTail: "starting\nerror: disk full\n", outputCapBytes: 1 << 20,
            outputPath: "/var/lib/ascribe/output/0123.log", development: true,
            details: ["launch_failure": "none", "note": "a=b, c\td", "": "empty key"])
    }

    /// Runs `body` with a fresh directory under /tmp, removed afterwards.
    package static func withScratchDirectory(_ body: (String) throws -> Void) throws {
        let path = "/tmp/ascribe-events-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    /// Runs `body` with a new, empty store's path.
    package static func withStorePath(_ body: (String) throws -> Void) throws {
        try withScratchDirectory { directory in try body(directory + "/state/events.db") }
    }

    package static let sqliteTool = "/usr/bin/sqlite3"
    package static var sqliteToolInstalled: Bool { FileManager.default.isExecutableFile(atPath: sqliteTool) }

    /// Runs SQL through the real `sqlite3` command-line tool, as an intruder with root would.
    @discardableResult
    package static func sqlite3(_ path: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sqliteTool)
        process.arguments = ["-batch", "-bail", path, sql]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SQLiteToolFailure(sql: sql, message: problem) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    package struct SQLiteToolFailure: Error, CustomStringConvertible {
        package var sql: String
        package var message: String
        package var description: String { "sqlite3 failed on \(sql): \(message)" }
    }

    package static func permissions(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}
