import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport

private typealias Fixture = EventStoreFixture

@Suite struct EventStoreTests {
    @Test func everyFieldSurvivesTheRoundTrip() throws {
        try Fixture.withStorePath { path in
            let written = try EventStore.open(path: path).append(Fixture.fullDraft())
            #expect(written.seq == 1)
            #expect(written.prevHash == Event.genesisHash)
            #expect(written.eventID.count == 32 && written.eventID.allSatisfy(\.isHexDigit))
            #expect(written.hash.count == 64 && written.hash.allSatisfy(\.isHexDigit))

            let reopened = try EventStore.open(path: path, access: .readOnly)
            let read = try reopened.events(matching: EventFilter())
            #expect(read == [written])
            #expect(read.first?.content == Fixture.fullDraft())
            #expect(try reopened.events(forRunID: "0123456789abcdef0123456789abcdef") == [written])
            #expect(try reopened.lastEvent() == written)
        }
    }

    @Test func storeFileIs0600InsideA0700Directory() throws {
        try Fixture.withScratchDirectory { directory in
            let path = directory + "/var/lib/ascribe/events.db"
            let store = try EventStore.open(path: path)
            try store.append(Fixture.draft())
            #expect(try Fixture.permissions(path) == 0o600)
            #expect(try Fixture.permissions(path + "-wal") == 0o600)
            #expect(try Fixture.permissions(path + "-shm") == 0o600)
            for created in ["/var", "/var/lib", "/var/lib/ascribe"] {
                #expect(try Fixture.permissions(directory + created) == 0o700, "\(created)")
            }
        }
    }

    @Test func aLooseExistingStoreIsTightenedAndALinkIsRefused() throws {
        try Fixture.withScratchDirectory { directory in
            let path = directory + "/events.db"
            _ = try EventStore.open(path: path)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            _ = try EventStore.open(path: path)
            #expect(try Fixture.permissions(path) == 0o600)

            try FileManager.default.createSymbolicLink(atPath: directory + "/link.db", withDestinationPath: path)
            #expect(throws: EventStoreError.unsafeFile(path: directory + "/link.db", problem: "it is a symbolic link")) {
                try EventStore.open(path: directory + "/link.db")
            }
        }
    }

    @Test func durabilityPragmasAreInEffect() throws {
        try Fixture.withStorePath { path in
            for access in [EventStore.Access.readWrite, .readOnly] {
                let store = try EventStore.open(path: path, access: access)
                #expect(try store.database.scalar("PRAGMA journal_mode") == .text("wal"))
                #expect(try store.database.scalar("PRAGMA synchronous") == .integer(2))
                #expect(try store.database.scalar("PRAGMA user_version") == .integer(EventSchema.version))
                #expect(try store.database.scalar("PRAGMA application_id") == .integer(EventSchema.applicationID))
            }
        }
    }

    @Test func triggersRefuseUpdateDeleteAndReplace() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            try store.append([Fixture.draft(), Fixture.draft(minute: 1)])
            let attempts = [
                "UPDATE events SET actor = 'someone-else' WHERE seq = 1",
                "DELETE FROM events WHERE seq = 2",
                "DELETE FROM events",
                "INSERT OR REPLACE INTO events SELECT * FROM events WHERE seq = 1",
                "INSERT INTO events SELECT 7, 'x', time_ms, host, type, actor, principal, owner, job, identity, run_id, scheduled_for_ms, reason, argv, run_as, config_source, config_hash, pid, exit_code, signal, duration_ms, stdout_bytes, stderr_bytes, output_sha256, output_tail, output_cap_bytes, output_path, development, details, prev_hash, hash FROM events WHERE seq = 1",
            ]
            for sql in attempts {
                do throws(SQLiteError) {
                    try store.database.execute(sql)
                    Issue.record("\(sql) was allowed")
                } catch {
                    #expect(error.message.hasPrefix("events are append-only"), "\(sql): \(error)")
                    #expect(error.extendedCode == 1811, "SQLITE_CONSTRAINT_TRIGGER")
                }
            }
            #expect(try store.count() == 2)
            #expect(try store.verify() == .intact(count: 2))
        }
    }

    @Test(arguments: [
        ("system", EventRefusal.bannedActor("system")),
        ("Ad_Min", .bannedActor("Ad_Min")),
        ("  ROOT ", .bannedActor("  ROOT ")),
        ("cron@web1", .bannedActor("cron@web1")),
        ("", .emptyActor),
        (" \t\n", .emptyActor),
    ])
    func anonymousOrEmptyActorsAreRefused(actor: String, refusal: EventRefusal) throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            var draft = Fixture.daemonDraft()
            draft.actor = actor
            #expect(throws: EventStoreError.refused(draftIndex: 0, refusal)) { try store.append(draft) }
            #expect(try store.count() == 0)
        }
    }

    @Test func theSchedulerActorAndNamedIdentitiesPass() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            try store.append([Fixture.daemonDraft(), Fixture.draft(job: "root-cause-mailer")])
            #expect(try store.count() == 2)
        }
    }

    @Test func runEventsNeedJobIdentityAndOwner() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            let cases: [(WritableKeyPath<EventDraft, String?>, String, String?)] = [
                (\.owner, "owner", nil), (\.job, "job", nil), (\.identity, "identity", nil), (\.owner, "owner", "  "),
            ]
            for type in EventType.allCases where type.isRun {
                for (field, name, value) in cases {
                    var draft = Fixture.draft(type)
                    draft[keyPath: field] = value
                    #expect(throws: EventStoreError.refused(draftIndex: 0, .missingField(name, type: type))) {
                        try store.append(draft)
                    }
                }
            }
            var banned = Fixture.draft()
            banned.identity = "Sys-Tem"
            #expect(throws: EventStoreError.refused(draftIndex: 0, .bannedIdentity("Sys-Tem"))) { try store.append(banned) }
            var disable = Fixture.daemonDraft(.identityDisabled)
            disable.actor = "alice"
            #expect(throws: EventStoreError.refused(draftIndex: 0, .missingField("identity", type: .identityDisabled))) {
                try store.append(disable)
            }
            #expect(try store.count() == 0)
        }
    }

    @Test func aBatchWithOneRefusedDraftStoresNothing() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            var anonymous = Fixture.draft(minute: 2)
            anonymous.actor = "automation"
            #expect(throws: EventStoreError.refused(draftIndex: 2, .bannedActor("automation"))) {
                try store.append([Fixture.draft(), Fixture.draft(minute: 1), anonymous])
            }
            #expect(try store.count() == 0)
            #expect(try store.append(Fixture.draft()).seq == 1)
        }
    }

    @Test func aBatchThatFailsInsideSQLiteStoresNothing() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            try store.append(Fixture.draft())
            try store.database.execute("""
                CREATE TEMP TRIGGER injected_failure BEFORE INSERT ON main.events WHEN NEW.job = 'disk-full-drill'
                BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                """)
            do throws(EventStoreError) {
                try store.append([Fixture.draft(minute: 1), Fixture.draft(job: "disk-full-drill", minute: 2)])
                Issue.record("the failing batch was accepted")
            } catch {
                guard case .sqlite(let failure) = error else { throw error }
                #expect(failure.message == "injected failure")
            }
            #expect(try store.count() == 1)
            #expect(try store.append(Fixture.draft(minute: 3)).seq == 2)
            #expect(try store.verify() == .intact(count: 2))
        }
    }

    @Test func manyBatchesChainIntoOneIntactLog() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            var seqs: [Int64] = []
            for batch in 0..<20 {
                let drafts = (0..<100).map { Fixture.draft(job: "job-\($0 % 7)", minute: Int64(batch * 100 + $0)) }
                let events = try store.append(drafts)
                seqs += events.map(\.seq)
                #expect(zip(events.dropFirst(), events).allSatisfy { $0.prevHash == $1.hash })
            }
            #expect(seqs == Array(1...2000))
            #expect(try store.count() == 2000)
            #expect(try store.verify() == .intact(count: 2000))
            #expect(try EventStore.open(path: path, access: .readOnly).verify() == .intact(count: 2000))
        }
    }

    @Test func twoConnectionsChainFromTheSharedHead() throws {
        try Fixture.withStorePath { path in
            let daemon = try EventStore.open(path: path)
            let manualRun = try EventStore.open(path: path)
            try daemon.append(Fixture.daemonDraft())
            try manualRun.append(Fixture.draft(minute: 1))
            try daemon.append(Fixture.draft(.runSucceeded, minute: 2))
            #expect(try daemon.verify() == .intact(count: 3))
        }
    }

    @Test func reopeningMigratesOnceAndKeepsAppending() throws {
        try Fixture.withStorePath { path in
            try EventStore.open(path: path).append(Fixture.draft())
            for minute in 1...3 {
                let store = try EventStore.open(path: path)
                #expect(try store.database.scalar("PRAGMA user_version") == .integer(EventSchema.version))
                try store.append(Fixture.draft(minute: Int64(minute)))
            }
            let store = try EventStore.open(path: path)
            #expect(try store.verify() == .intact(count: 4))
            let triggers = try store.database.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'events'")
            #expect(triggers == .integer(3))
            let archiveTriggers = try store.database.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'definitions'")
            #expect(archiveTriggers == .integer(2))
        }
    }

    @Test func definitionsAreKeptByHashAndRefusedWhenTheHashLies() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            let bytes = Array("schedule = 0 * * * *\n".utf8)
            let hash = try SHA256.digest(bytes).hex
            let kept = StoredDefinition(hash: hash, job: "report", path: "jobs.d/report.job", bytes: bytes)
            try store.archive([kept, kept], at: EventTime(millisecondsSinceEpoch: 0))
            #expect(try store.definition(hashPrefix: String(hash.prefix(12))) == kept)
            #expect(try store.definition(hashPrefix: "zz") == nil)
            var lying = kept
            lying.bytes = Array("schedule = 30 * * * *\n".utf8)
            #expect(throws: EventStoreError.self) { try store.archive([lying], at: EventTime(millisecondsSinceEpoch: 0)) }
            #expect(throws: SQLiteError.self) { try store.database.execute("DELETE FROM definitions") }
        }
    }

    @Test func readOnlyAccessNeverCreatesOrWrites() throws {
        try Fixture.withScratchDirectory { directory in
            let path = directory + "/events.db"
            #expect(throws: EventStoreError.storeMissing(path: path)) { try EventStore.open(path: path, access: .readOnly) }
            #expect(!FileManager.default.fileExists(atPath: path))
            try EventStore.open(path: path).append(Fixture.draft())
            let reader = try EventStore.open(path: path, access: .readOnly)
            #expect(throws: (any Error).self) { try reader.append(Fixture.draft(minute: 1)) }
            #expect(try reader.count() == 1)
        }
    }

    @Test func foreignOrNewerDatabasesAreRefused() throws {
        try Fixture.withScratchDirectory { directory in
            let foreign = directory + "/other.db"
            try SQLiteDatabase.createForTest(path: foreign, sql: "CREATE TABLE notes (text TEXT)")
            #expect(throws: EventStoreError.notAnEventStore(path: foreign)) { try EventStore.open(path: foreign) }

            let newer = directory + "/newer.db"
            try EventStore.open(path: newer).append(Fixture.draft())
            try SQLiteDatabase.createForTest(path: newer, sql: "PRAGMA user_version = 99")
            #expect(throws: EventStoreError.schemaTooNew(path: newer, found: 99, supported: EventSchema.version)) {
                try EventStore.open(path: newer)
            }
        }
    }

    @Test func filtersSelectAndOrderByTime() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            var drafts: [EventDraft] = []
            for minute in 0..<30 {
                drafts.append(Fixture.draft(minute % 3 == 0 ? .runFailed : .runSucceeded,
                                            job: minute % 2 == 0 ? "even-job" : "odd-job", minute: Int64(minute)))
            }
            drafts.append(Fixture.daemonDraft(.daemonHeartbeat, minute: 40))
            try store.append(drafts)
            func minutes(_ filter: EventFilter) throws -> [Int64] {
                try store.events(matching: filter).map { ($0.time.millisecondsSinceEpoch - Fixture.baseTime) / 60_000 }
            }
            #expect(try minutes(EventFilter(limit: 3)) == [40, 29, 28])
            #expect(try minutes(EventFilter(limit: 3, order: .oldestFirst)) == [0, 1, 2])
            #expect(try minutes(EventFilter(job: "even-job", limit: 2)) == [28, 26])
            #expect(try minutes(EventFilter(identity: "odd-job", type: .runFailed)) == [27, 21, 15, 9, 3])
            let since = EventTime(millisecondsSinceEpoch: Fixture.baseTime + 10 * 60_000)
            let until = EventTime(millisecondsSinceEpoch: Fixture.baseTime + 14 * 60_000)
            #expect(try minutes(EventFilter(since: since, until: until, order: .oldestFirst)) == [10, 11, 12, 13])
            #expect(try minutes(EventFilter(job: "even-job", since: since, until: until)) == [12, 10])
            #expect(try minutes(EventFilter(type: .daemonHeartbeat)) == [40])
            #expect(try minutes(EventFilter(job: "no-such-job")) == [])
            #expect(try minutes(EventFilter(limit: 0)) == [])
            #expect(throws: EventStoreError.invalidFilter("the limit must not be negative (got -1)")) {
                try store.events(matching: EventFilter(limit: -1))
            }
        }
    }

    @Test(arguments: [
        EventFilter(job: "x", since: EventTime(millisecondsSinceEpoch: 0), limit: 100),
        EventFilter(identity: "x", limit: 100),
        EventFilter(type: .runFailed, until: EventTime(millisecondsSinceEpoch: 0), limit: 100, order: .oldestFirst),
        EventFilter(since: EventTime(millisecondsSinceEpoch: 0), limit: 100),
        EventFilter(job: "x", type: .runFailed, limit: 100),
        EventFilter(limit: 100),
    ])
    func everyFilterUsesAnIndexWithoutSorting(filter: EventFilter) throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            let plan = try store.queryPlan(for: filter)
            #expect(plan.contains("USING INDEX events_by_"), "\(plan)")
            #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
        }
    }

    @Test func runLookupsFindTheRunsEvents() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            try store.append([Fixture.draft(runID: "run-a"), Fixture.draft(minute: 1, runID: "run-b")])
            try store.append(Fixture.draft(.runSucceeded, minute: 2, runID: "run-a"))
            #expect(try store.events(forRunID: "run-a").map(\.type) == [.runFired, .runSucceeded])
            #expect(try store.lastEvent(forRunID: "run-b")?.type == .runFired)
            #expect(try store.lastEvent(forRunID: "run-c") == nil)
        }
    }
}

extension SQLiteDatabase {
    /// Opens (creating) a plain SQLite file and runs `sql` on it, outside the event store.
    static func createForTest(path: String, sql: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        try SQLiteDatabase(path: path, access: .readWrite).execute(sql)
    }
}

extension EventStore {
    /// SQLite's plan for the query `filter` builds, as one string.
    func queryPlan(for filter: EventFilter) throws -> String {
        let query = try EventQuery(filter)
        let statement = try database.prepare("EXPLAIN QUERY PLAN " + query.sql)
        try statement.bind(query.parameters)
        var details: [String] = []
        while try statement.step() {
            if case .text(let detail) = try statement.value(at: 3) { details.append(detail) }
        }
        return details.joined(separator: "; ")
    }
}
