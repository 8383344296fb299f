import Foundation
import Testing
import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// A log written before the event vocabulary was typed (`Fixtures/EventVocabulary/events.db`,
/// seeded with the details each writer recorded then) must still verify and read exactly as it
/// did: the expected texts beside it were captured from the code of that time. Set
/// `ASCRIBE_WRITE_VOCABULARY_FIXTURE=1` to re-seed the log and re-capture the texts (only when a
/// reader's output is meant to change).
@Suite struct EventVocabularyFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/EventVocabulary").path
    static var rewriting: Bool { ProcessInfo.processInfo.environment["ASCRIBE_WRITE_VOCABULARY_FIXTURE"] == "1" }

    /// Each reader's text over the fixture log: file name → output.
    static func readings(state: String) throws -> [(String, String)] {
        let jobs = directory + "/jobs"
        let window = ["--since", "2026-11-23T18:00:00Z", "--until", "2026-11-23T21:00:00Z"]
        var readings: [(String, String)] = []
        for (name, arguments) in [
            ("verify.txt", ["verify", "--state", state]),
            ("log.jsonl", ["log", "--state", state, "--json"]),
            ("log-verbose.txt", ["log", "--state", state, "--verbose"]),
            ("why-backup.txt", ["why", "backup", "--jobs", jobs, "--state", state] + window),
            ("why-backup.jsonl", ["why", "backup", "--jobs", jobs, "--state", state, "--json"] + window),
            ("why-report.txt", ["why", "report", "--jobs", jobs, "--state", state] + window),
            ("identities.json", ["identities", "--jobs", jobs, "--state", state, "--json"]),
        ] {
            let result = try AscribeBinary.run(arguments)
            // The checkout's path is not part of what is compared.
            readings.append((name, "exit \(result.status)\n" + result.stdout.replacingOccurrences(of: directory, with: "FIXTURE")))
        }
        let store = try EventStore.open(path: state + "/events.db", access: .readOnly)
        var metrics = JobMetrics()
        for event in try store.events(matching: EventFilter(order: .oldestFirst)) { metrics.apply(event, force: true) }
        let load = try JobDirectory.load(path: jobs, zones: { _ in .utc })
        readings.append(("metrics.prom", metrics.exposition(jobs: load.jobs, defaultZone: .utc,
                                                             now: Instant(secondsSinceEpoch: 1_795_474_800))))
        return readings
    }

    @Test func aLogWrittenBeforeTheTypedVocabularyVerifiesAndReadsTheSame() throws {
        let scratch = ScratchSweep.directory(prefix: "ascribe-vocabulary-")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if Self.rewriting {
            try? FileManager.default.removeItem(atPath: Self.directory + "/events.db")
            let store = try EventStore.open(path: Self.directory + "/events.db")
            try store.append(Self.seed())
        }
        try FileManager.default.copyItem(atPath: Self.directory + "/events.db", toPath: scratch + "/events.db")
        // The fixture is a schema-2 log: the first read-write open migrates it (the Merkle tree
        // is built from its events), as the daemon's would; every reader then reads it the same.
        let migrated = try EventStore.open(path: scratch + "/events.db")
        let count = try migrated.merkleTreeSize()
        let recomputed = try migrated.recomputedRoots(at: [count])
        let stored = try migrated.merkleRoot(size: count)
        #expect(count > 0 && recomputed.count == count && recomputed.roots[count] == stored)
        for (name, text) in try Self.readings(state: scratch) {
            let path = Self.directory + "/expected/" + name
            if Self.rewriting {
                try FileManager.default.createDirectory(atPath: Self.directory + "/expected", withIntermediateDirectories: true)
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            }
            let expected = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text == expected, "\(name) reads differently")
        }
        #expect(try AscribeBinary.run(["verify", "--state", scratch]).stdout.contains("intact"))
    }

    // MARK: The seed: drafts with the details the writers recorded before the change

    static let base: Int64 = 1_795_456_800_000  // 2026-11-23T18:00:00Z
    static let host = "web1"
    static let scheduler = "ascribe-scheduler@web1"
    static let backupHash = String(repeating: "ab", count: 32)
    static let reportHash = String(repeating: "cd", count: 32)

    static func time(_ minute: Int64, _ ms: Int64 = 0) -> EventTime {
        EventTime(millisecondsSinceEpoch: base + minute * 60_000 + ms)
    }

    static func daemon(_ type: EventType, _ minute: Int64, _ details: [String: String], reason: String? = nil) -> EventDraft {
        EventDraft(time: time(minute), host: host, type: type, actor: scheduler, reason: reason, details: details)
    }

    static func run(_ type: EventType, _ job: String, _ minute: Int64, ms: Int64 = 0, slot: Int64?, runID: String?,
                    reason: String? = nil, actor: String? = nil, principal: String? = nil,
                    details: [String: String]) -> EventDraft {
        let backup = job == "backup"
        var draft = EventDraft(time: time(minute, ms), host: host, type: type, actor: actor ?? "\(job)-runner",
                               principal: principal,
                               owner: backup ? "storage-team <storage@example.com>" : "data-team <data@example.com>",
                               job: job, identity: "\(job)-runner", runID: runID,
                               scheduledFor: slot.map { time($0) }, reason: reason,
                               argv: [backup ? "/bin/true" : "/bin/false"], runAs: "nobody",
                               configSource: "/etc/ascribe/jobs.d/\(job).job:1",
                               configHash: backup ? backupHash : reportHash, details: details)
        if type.isRunTerminal && type != .runLost {
            draft.pid = 4242
            draft.durationMs = 12
            draft.stdoutBytes = 0
            draft.stderrBytes = 5
            draft.outputCapBytes = 1 << 20
            draft.exitCode = type == .runSucceeded ? 0 : 1
        }
        return draft
    }

    static let recorder = ["recorder_pid": "999999", "recorder_start": "1"]

    static func seed() -> [EventDraft] {
        let r1 = "11111111111111111111111111111111", r2 = "22222222222222222222222222222222"
        let r3 = "33333333333333333333333333333333", r4 = "44444444444444444444444444444444"
        let r5 = "55555555555555555555555555555555", r6 = "66666666666666666666666666666666"
        let fired: [String: String] = recorder.merging(["trigger": "schedule", "process_group": "4242",
                                                        "pid_start": "123456", "spawned_at": time(15).rfc3339]) { $1 }
        let peer = ["principal_source": "socket-peer", "peer_pid": "777", "peer_uid": "1000", "peer_user": "alice",
                    "loginuid": "1000", "via_user": "alice"]
        return [
            daemon(.daemonStarted, 0, ["jobs": "2", "version": "0.9.0", "dev": "no", "pid": "100"]),
            daemon(.configLoaded, 0, ["directory": "/etc/ascribe/jobs.d",
                                      "jobs": "backup=\(backupHash),report=\(reportHash)",
                                      "writers": "backup=root(0),report=root(0)+alice(1000)"]),
            run(.runFired, "backup", 15, slot: 15, runID: r1, actor: nil, details: fired),
            run(.runSucceeded, "backup", 15, ms: 40, slot: 15, runID: r1, details: ["trigger": "schedule", "output_drain": "complete"]),
            run(.runFired, "backup", 30, slot: 30, runID: r2, details: fired),
            run(.runSkipped, "backup", 45, slot: 45, runID: nil, reason: "run \(r2) of backup is still in progress",
                actor: scheduler, details: ["trigger": "schedule", "skip_reason": "overlap", "running_run_id": r2]),
            run(.runFailed, "backup", 46, slot: 30, runID: r2, details: ["trigger": "schedule", "failure": "exit-status",
                                                                          "output_capped": "no"]),
            EventDraft(time: time(50), host: host, type: .jobDisabled, actor: scheduler, principal: "alice",
                       job: "backup", reason: "disk swap", details: peer.merging(["jobs": "backup"]) { $1 }),
            run(.runSkipped, "backup", 60, slot: 60, runID: nil, reason: "job backup is disabled by alice",
                actor: scheduler, details: ["trigger": "schedule", "skip_reason": "job-disabled", "disabled_by": "alice",
                                            "disabled_at": time(50).rfc3339, "disabled_reason": "disk swap",
                                            "disabled_seq": "8"]),
            EventDraft(time: time(62), host: host, type: .jobEnabled, actor: scheduler, principal: "alice",
                       job: "backup", reason: "swapped", details: peer.merging(["jobs": "backup"]) { $1 }),
            run(.runFired, "report", 60, slot: 60, runID: r3, details: fired),
            daemon(.daemonStopped, 64, ["stop_signal": "15", "running_runs": "1", "stopped_by_pid": "1",
                                        "stopped_by_uid": "0", "stopped_by_user": "root",
                                        "stopped_by_process": "systemd", "running_runs_continue": "yes"],
                   reason: "SIGTERM"),
            daemon(.daemonStarted, 100, ["jobs": "2", "version": "0.9.0", "dev": "no", "pid": "200",
                                         "down_cause": "stopped", "stopped_at": time(64).rfc3339,
                                         "stopped_seq": "12"]),
            run(.runLost, "report", 100, slot: 60, runID: r3, reason: "the daemon was down while it ran",
                actor: scheduler, details: ["trigger": "schedule", "fired_seq": "11", "process_group": "4242",
                                            "pid_start": "123456", "spawned_at": time(15).rfc3339]),
            run(.runMissed, "backup", 100, slot: 75, runID: nil, reason: "the daemon was down", actor: scheduler,
                details: ["down_from": time(64).rfc3339, "down_until": time(100).rfc3339, "down_cause": "stopped",
                          "count": "2", "first": time(75).rfc3339, "last": time(90).rfc3339, "catch_up": "skip"]),
            run(.runMissed, "report", 100, slot: 60 + 60, runID: nil, reason: "the daemon was down", actor: scheduler,
                details: ["down_from": time(64).rfc3339, "down_until": time(100).rfc3339, "catch_up": "all"]),
            run(.runFired, "report", 100, ms: 5, slot: 120, runID: r4,
                details: fired.merging(["trigger": "catch-up", "catch_up": "all"]) { $1 }),
            run(.runFailed, "report", 100, ms: 90, slot: 120, runID: r4, details: ["trigger": "catch-up", "catch_up": "all"]),
            daemon(.configRejected, 110, ["file_change": "modified", "kept": "the last good definition (abababababab) stays in force"],
                   reason: "backup.job:1: bad schedule"),
            daemon(.configLoaded, 110, ["directory": "/etc/ascribe/jobs.d", "jobs": "2", "added": "", "changed": "report",
                                        "removed": "old", "writers": "backup=root(0),report=root(0)",
                                        "rejected": "backup", "kept": "backup=\(backupHash)"]),
            run(.runSkipped, "backup", 120, slot: 120, runID: nil, reason: "the event store cannot be written",
                actor: scheduler, details: ["skip_reason": "store-unwritable", "store_error": "disk I/O error",
                                            "store_unwritable_from": time(118).rfc3339, "count": "1",
                                            "first": time(120).rfc3339, "last": time(120).rfc3339]),
            daemon(.daemonHeartbeat, 121, ["store_unwritable_from": time(118).rfc3339,
                                           "store_unwritable_until": time(121).rfc3339, "store_error": "disk I/O error",
                                           "skipped_slots": "1", "recorded_late": "0", "not_recorded": "0"]),
            run(.runFired, "backup", 125, slot: nil, runID: r5, actor: nil, principal: "alice",
                details: recorder.merging(["trigger": "manual", "principal_source": "loginuid", "forced": "yes",
                                           "overrode": "job-disabled", "overrode_reason": "off"]) { $1 }),
            run(.runSucceeded, "backup", 125, ms: 30, slot: nil, runID: r5, principal: "alice",
                details: ["trigger": "manual", "principal_source": "loginuid"]),
            run(.runSkipped, "backup", 130, slot: nil, runID: nil, reason: "manual run not started: job backup is disabled",
                actor: scheduler, principal: "alice",
                details: ["trigger": "manual", "principal_source": "loginuid", "skip_reason": "identity-disabled",
                          "disabled_by": "bob", "disabled_at": time(129).rfc3339, "disabled_reason": "audit",
                          "disabled_seq": "26"]),
            EventDraft(time: time(129), host: host, type: .identityDisabled, actor: scheduler, principal: "bob",
                       identity: "backup-runner", reason: "audit", details: peer),
            run(.runFired, "report", 180, slot: 180, runID: r6,
                details: fired.merging(["trigger": "reboot", "dst_shifted_from": "2026-11-23 20:59"]) { $1 }),
            run(.runSkipped, "report", 181, slot: 180, runID: nil, reason: "the daemon is stopping", actor: scheduler,
                details: ["skip_reason": "daemon-stopping", "stop_requested": "SIGTERM from root"]),
            run(.runLost, "report", 182, slot: 180, runID: r6, reason: "stopped", actor: scheduler,
                details: ["trigger": "reboot", "fired_seq": "29", "stopped_by": "daemon-shutdown",
                          "shutdown_requested_by": "root", "stop_reason": "daemon shutdown",
                          "stopped_at": time(182).rfc3339, "surviving_pids": "4243"]),
            daemon(.controlRefused, 183, peer.merging(["request": "disable", "refusal": "not in the control group"]) { $1 },
                   reason: "uid 1000 may not disable"),
            daemon(.daemonStopped, 184, ["stop_signal": "2", "running_runs": "0", "slots_while_stopping": "1",
                                         "unstarted_queued_runs": "0", "terminated_runs": "1"]),
        ]
    }
}
