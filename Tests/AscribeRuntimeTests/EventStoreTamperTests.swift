import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport

private typealias Fixture = EventStoreFixture

/// Edits the store the way an intruder with root would: with the real `sqlite3` tool, after
/// dropping the append-only triggers. `verify` must name the first damaged event.
@Suite(.requires(EventStoreFixture.sqliteToolInstalled,
                "the sqlite3 command-line tool is not installed (apt-get install sqlite3); tamper tests skipped"))
struct EventStoreTamperTests {
    static let dropTriggers = """
        DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;
        DROP TRIGGER IF EXISTS events_append_at_head;
        """

    /// A store of `count` run events (seq 1…count), closed again so only the tool touches it.
    private func withStore(count: Int = 10, _ body: (String) throws -> Void) throws {
        try Fixture.withStorePath { path in
            let drafts = (0..<count).map { index in
                var draft = Fixture.draft(index % 2 == 0 ? .runFired : .runSucceeded, minute: Int64(index))
                if index % 2 == 1 { draft.exitCode = 0 }
                draft.reason = "rotating db creds"
                return draft
            }
            try EventStore.open(path: path).append(drafts)
            try body(path)
        }
    }

    private func verify(_ path: String) throws -> ChainVerification {
        try EventStore.open(path: path, access: .readOnly).verify()
    }

    @Test func theToolSeesTheTriggersToo() throws {
        try withStore { path in
            #expect(throws: Fixture.SQLiteToolFailure.self) {
                try Fixture.sqlite3(path, "UPDATE events SET reason = 'x' WHERE seq = 3")
            }
            let result = try verify(path)
            #expect(result == .intact(count: 10))
        }
    }

    @Test(arguments: 1...10)
    func oneChangedByteIsNamed(seq: Int) throws {
        try withStore { path in
            try Fixture.sqlite3(path, Self.dropTriggers + """
                UPDATE events SET reason = substr(reason, 1, 3) || 'A' || substr(reason, 5) WHERE seq = \(seq);
                """)
            #expect(try Fixture.sqlite3(path, "SELECT reason FROM events WHERE seq = \(seq)") == "rotAting db creds")
            guard case .broken(let brokenSeq, let reason) = try verify(path) else {
                Issue.record("the edit was not detected")
                return
            }
            #expect(brokenSeq == Int64(seq))
            #expect(reason == "seq \(seq): stored hash does not match its contents (the event was altered)")
        }
    }

    @Test(arguments: [
        ("exit_code = 1", 4), ("time_ms = time_ms + 1", 5), ("actor = 'failure-drilL'", 6), ("development = 1", 7),
        ("principal = 'mallory'", 8), ("argv = '[]'", 9), ("details = '{\"a\":\"b\"}'", 3), ("event_id = 'x'", 2),
    ])
    func everyFieldIsCovered(assignment: String, seq: Int) throws {
        try withStore { path in
            try Fixture.sqlite3(path, Self.dropTriggers + "UPDATE events SET \(assignment) WHERE seq = \(seq);")
            #expect(try verify(path) == .broken(
                seq: Int64(seq), reason: "seq \(seq): stored hash does not match its contents (the event was altered)"))
        }
    }

    @Test func aDeletedRowIsNamedByTheSeqAfterTheGap() throws {
        try withStore { path in
            try Fixture.sqlite3(path, Self.dropTriggers + "DELETE FROM events WHERE seq = 5;")
            #expect(try verify(path) == .broken(
                seq: 6, reason: "seq 6: prev_hash does not match seq 4's hash; seq 5 is missing (deleted?)"))
        }
    }

    @Test func deletingTheFirstRowsIsCaught() throws {
        try withStore { path in
            try Fixture.sqlite3(path, Self.dropTriggers + "DELETE FROM events WHERE seq <= 2;")
            #expect(try verify(path) == .broken(
                seq: 3, reason: "seq 3: prev_hash does not match the genesis value (64 zeros); seq 1…2 are missing (deleted?)"))
        }
    }

    @Test func aRenumberedRowIsCaught() throws {
        try withStore { path in
            try Fixture.sqlite3(path, Self.dropTriggers + "DELETE FROM events WHERE seq = 5; UPDATE events SET seq = 5 WHERE seq = 6;")
            guard case .broken(let seq, _) = try verify(path) else {
                Issue.record("renumbering was not detected")
                return
            }
            #expect(seq == 5)
        }
    }

    @Test func aRecomputedHashIsCaughtByTheNextLink() throws {
        try withStore { path in
            let forged = try forge(path: path, seq: 4)
            try Fixture.sqlite3(path, Self.dropTriggers + "UPDATE events SET reason = 'forged', hash = '\(forged)' WHERE seq = 4;")
            #expect(try verify(path) == .broken(
                seq: 5, reason: "seq 5: prev_hash does not match seq 4's hash (seq 4 was altered or replaced, its hash recomputed)"))
        }
    }

    /// The documented limit (docs/EVENTS.md): a consistent rewrite or removal of the newest
    /// events leaves a valid chain. Only an anchor kept elsewhere (the last hash) shows it.
    @Test func theNewestEventsNeedAnAnchorKeptElsewhere() throws {
        try withStore { path in
            let anchor = try EventStore.open(path: path, access: .readOnly).lastEvent()?.hash
            let forged = try forge(path: path, seq: 10)
            try Fixture.sqlite3(path, Self.dropTriggers + "UPDATE events SET reason = 'forged', hash = '\(forged)' WHERE seq = 10;")
            #expect(try verify(path) == .intact(count: 10))
            #expect(try EventStore.open(path: path, access: .readOnly).lastEvent()?.hash != anchor)

            try Fixture.sqlite3(path, Self.dropTriggers + "DELETE FROM events WHERE seq = 10;")
            #expect(try verify(path) == .intact(count: 9))
        }
    }

    @Test func anAppendedForgeryIsCaught() throws {
        try withStore { path in
            try Fixture.sqlite3(path, Self.dropTriggers + """
                INSERT INTO events SELECT 11, 'forged-id', time_ms, host, type, actor, principal, owner, job, identity,
                  run_id, scheduled_for_ms, reason, argv, run_as, config_source, config_hash, pid, exit_code, signal,
                  duration_ms, stdout_bytes, stderr_bytes, output_sha256, output_tail, output_cap_bytes, output_path,
                  development, details, prev_hash, hash FROM events WHERE seq = 10;
                """)
            #expect(try verify(path) == .broken(
                seq: 11, reason: "seq 11: stored hash does not match its contents (the event was altered)"))
        }
    }

    @Test func aRowBeforeTheFirstIsCaught() throws {
        try withStore { path in
            try Fixture.sqlite3(path, Self.dropTriggers + """
                INSERT INTO events SELECT 0, 'early', time_ms, host, type, actor, principal, owner, job, identity,
                  run_id, scheduled_for_ms, reason, argv, run_as, config_source, config_hash, pid, exit_code, signal,
                  duration_ms, stdout_bytes, stderr_bytes, output_sha256, output_tail, output_cap_bytes, output_path,
                  development, details, prev_hash, hash FROM events WHERE seq = 1;
                """)
            #expect(try verify(path) == .broken(seq: 0, reason: "seq 0: the log must start at seq 1 (a row was inserted)"))
        }
    }

    @Test(arguments: [
        ("argv = '[1]'", "column argv holds TEXT where a JSON array of strings belongs"),
        ("details = 'not json'", "column details holds TEXT where a JSON object of strings belongs"),
        ("type = 'run.erased'", "type \"run.erased\" is not an event type"),
        ("development = 7", "column development holds INTEGER where 0 or 1 belongs"),
        ("pid = 99999999999", "column pid holds INTEGER where a 32-bit integer belongs"),
    ])
    func unreadableRowsAreReportedNotTrusted(assignment: String, problem: String) throws {
        try withStore { path in
            try Fixture.sqlite3(path, Self.dropTriggers + "UPDATE events SET \(assignment) WHERE seq = 3;")
            #expect(try verify(path) == .broken(seq: 3, reason: "seq 3: \(problem) (the event was altered)"))
            #expect(throws: EventStoreError.corruptRow(seq: 3, problem: problem)) {
                try EventStore.open(path: path, access: .readOnly).events(matching: EventFilter(order: .oldestFirst))
            }
        }
    }

    /// The hash an intruder would compute for event `seq` with `reason = 'forged'`.
    private func forge(path: String, seq: Int64) throws -> String {
        let store = try EventStore.open(path: path, access: .readOnly)
        let original = try store.events(matching: EventFilter(order: .oldestFirst)).first { $0.seq == seq }
        guard let original else { throw EventStoreError.corruptRow(seq: seq, problem: "missing in the fixture") }
        var content = original.content
        content.reason = "forged"
        let bytes = CanonicalEncoding.bytes(seq: seq, eventID: original.eventID, content: content, prevHash: original.prevHash)
        return try SHA256.digest(bytes).hex
    }
}
