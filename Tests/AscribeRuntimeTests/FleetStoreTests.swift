import Foundation
import Synchronization
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// The fleet's PostgreSQL store against a real PostgreSQL 15 (`PostgreSQLServer`): one chain
/// for every host, the database's own append-only rules, and one claim per slot.
@Suite(.serialized, .requires(PostgreSQLServer.isAvailable, Comment(rawValue: PostgreSQLServer.requirement)))
struct FleetStoreTests {
    /// The role docs/FLEET.md tells an administrator to create, with its own schema.
    static func createDaemonRole(_ server: PostgreSQLServer, name: String = "ascribe_fleet") throws {
        try server.psql("CREATE ROLE \(name) LOGIN; CREATE SCHEMA ascribe AUTHORIZATION \(name); ALTER ROLE \(name) SET search_path = ascribe")
    }

    @Test func theFleetChainVerifiesAndHashesAsTheSQLiteStoreDoes() async throws {
        try await PostgreSQLServer.withServer { server in
            try Self.createDaemonRole(server)
            let log = try PostgreSQLEventLog.open(server.uri(user: "ascribe_fleet"), host: "web1")
            var full = EventStoreFixture.fullDraft()
            full.outputTail = "nul\u{0}in the output tail"
            let drafts = [EventStoreFixture.daemonDraft(), full, EventStoreFixture.draft(minute: 1, runID: RandomIdentifier.hex128())]
            let written = try log.append(drafts)
            #expect(try log.append([EventStoreFixture.daemonDraft(.daemonHeartbeat, minute: 2)]).map(\.seq) == [4])
            let read = try log.events(matching: EventFilter(order: .oldestFirst))
            #expect(Array(read.prefix(3)) == written)
            #expect(read.map(\.content) == drafts + [EventStoreFixture.daemonDraft(.daemonHeartbeat, minute: 2)])
            // The same bytes and hash the SQLite store computes for the same event.
            for event in read {
                let canonical = CanonicalEncoding.bytes(seq: event.seq, eventID: event.eventID, content: event.content, prevHash: event.prevHash)
                #expect(try SHA256.digest(canonical).hex == event.hash)
            }
            #expect(try log.verify() == .intact(count: 4))
            // A reopened log migrates nothing and chains on.
            let again = try PostgreSQLEventLog.open(server.uri(user: "ascribe_fleet"), host: "web2")
            #expect(try again.append(EventStoreFixture.daemonDraft(minute: 3)).prevHash == read.last?.hash)
            #expect(try log.verify() == .intact(count: 5))
        }
    }

    @Test func theDatabaseRefusesUpdatesDeletesAndForgedLinks() async throws {
        try await PostgreSQLServer.withServer { server in
            try Self.createDaemonRole(server)
            let log = try PostgreSQLEventLog.open(server.uri(user: "ascribe_fleet"), host: "web1")
            let first = try log.append(EventStoreFixture.daemonDraft())
            try log.append(EventStoreFixture.daemonDraft(.daemonHeartbeat, minute: 1))
            let daemon = try PostgreSQLConnection(server.uri(user: "ascribe_fleet"))
            // The daemon's role: no privilege to change or remove an event, a claim or a definition.
            for statement in ["UPDATE events SET host = 'elsewhere'", "DELETE FROM events", "TRUNCATE events",
                              "DELETE FROM slot_claims", "UPDATE definitions SET job = 'x'", "DELETE FROM chain_head"] {
                let refused = Self.failure(of: statement, on: daemon)
                #expect(refused?.sqlState == "42501" && refused?.message.hasPrefix("permission denied") == true, "\(statement): \(String(describing: refused))")
            }
            // A superuser has every privilege; the triggers still refuse.
            let superuser = try PostgreSQLConnection(server.superuserURI)
            try superuser.execute("SET search_path = ascribe")
            for statement in ["UPDATE events SET host = 'elsewhere'", "DELETE FROM events WHERE seq = 2", "TRUNCATE events"] {
                let refused = Self.failure(of: statement, on: superuser)
                #expect(refused?.sqlState == "42501" && refused?.message == "events is append-only", "\(statement): \(String(describing: refused))")
            }
            // An insert that does not follow the head is refused by the link trigger.
            var forged = Event(seq: 3, eventID: RandomIdentifier.hex128(), content: EventStoreFixture.daemonDraft(minute: 2),
                               prevHash: first.hash, hash: String(repeating: "a", count: 64))
            #expect(Self.sqlState(of: PostgreSQLSchema.insertSQL, PostgreSQLSchema.parameters(of: forged), on: daemon) == "23514")
            forged = Event(seq: 5, eventID: forged.eventID, content: forged.content, prevHash: forged.prevHash, hash: forged.hash)
            #expect(Self.sqlState(of: PostgreSQLSchema.insertSQL, PostgreSQLSchema.parameters(of: forged), on: daemon) == "23514")
            #expect(try log.verify() == .intact(count: 2))
        }
    }

    @Test func concurrentAppendsFromSeveralConnectionsKeepOneDenseChain() async throws {
        try await PostgreSQLServer.withServer { server in
            try Self.createDaemonRole(server)
            let uri = server.uri(user: "ascribe_fleet")
            _ = try PostgreSQLEventLog.open(uri, host: "setup")
            let hosts = ["web1", "web2", "web3", "web4"]
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: hosts.count) { index in
                do {
                    let log = try PostgreSQLEventLog.open(uri, host: hosts[index])
                    for minute in 0..<20 {
                        var draft = EventStoreFixture.daemonDraft(.daemonHeartbeat, minute: Int64(minute))
                        draft.host = hosts[index]
                        try log.append([draft, draft])
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 } == [])
            let log = try PostgreSQLEventLog.open(uri, host: "check")
            #expect(try log.verify() == .intact(count: 160))
            let events = try log.events(matching: EventFilter(order: .oldestFirst))
            #expect(events.map(\.seq).sorted() == Array(1...160))
            for host in hosts { #expect(events.filter { $0.host == host }.count == 40) }
        }
    }

    @Test func aSlotIsClaimedOnceForTheFleetOrOncePerHost() async throws {
        try await PostgreSQLServer.withServer { server in
            try Self.createDaemonRole(server)
            let uri = server.uri(user: "ascribe_fleet")
            let web1 = try PostgreSQLEventLog.open(uri, host: "web1")
            let web2 = try PostgreSQLEventLog.open(uri, host: "web2")
            let slot = EventTime(millisecondsSinceEpoch: EventStoreFixture.baseTime)
            func attempt(_ log: PostgreSQLEventLog, _ placement: Placement, job: String) throws -> ClaimedAppend {
                let runID = RandomIdentifier.hex128()
                var fired = EventStoreFixture.draft(job: job, runID: runID)
                fired.host = log.host
                fired.scheduledFor = slot
                let claim = SlotClaim(job: job, scheduledFor: slot, placement: placement, host: log.host, runID: runID, configHash: "c0ffee")
                return try log.append([fired, EventStoreFixture.daemonDraft(.daemonHeartbeat)], claiming: [claim])
            }
            let won = try attempt(web1, .once, job: "reaper")
            let lost = try attempt(web2, .once, job: "reaper")
            #expect(won.claimedElsewhere.isEmpty && won.events.map(\.type) == [.runFired, .daemonHeartbeat])
            // The loser's run.fired is not stored; its other events are.
            #expect(lost.claimedElsewhere.count == 1 && lost.events.map(\.type) == [.daemonHeartbeat])
            #expect(try attempt(web1, .once, job: "reaper").claimedElsewhere.count == 1)
            for log in [web1, web2] {
                #expect(try attempt(log, .everyHost, job: "rotate-logs").claimedElsewhere.isEmpty)
                #expect(try attempt(log, .everyHost, job: "rotate-logs").claimedElsewhere.count == 1)
            }
            let fired = try web1.events(matching: EventFilter(type: .runFired, order: .oldestFirst))
            #expect(fired.map { "\($0.job ?? "") \($0.host)" } == ["reaper web1", "rotate-logs web1", "rotate-logs web2"])
            #expect(try web1.verify() == .intact(count: 10))
        }
    }

    /// The SQLSTATE `sql` fails with on `connection`, nil when it succeeds.
    static func sqlState(of sql: String, _ parameters: [PostgreSQLParameter] = [], on connection: PostgreSQLConnection) -> String? {
        failure(of: sql, parameters, on: connection)?.sqlState
    }

    /// How `sql` fails on `connection`, nil when it succeeds.
    static func failure(of sql: String, _ parameters: [PostgreSQLParameter] = [], on connection: PostgreSQLConnection) -> PostgreSQLError? {
        do {
            try connection.execute(sql, parameters)
            return nil
        } catch {
            return error
        }
    }
}

/// Several daemons in this process on one PostgreSQL store, each with its own host name, state
/// directory and fake clock, moved through the same minutes together.
@Suite(.serialized, .requires(PostgreSQLServer.isAvailable, Comment(rawValue: PostgreSQLServer.requirement)))
struct FleetDaemonTests {
    @Test func threeDaemonsFireEachOnceSlotOnceAndEachEveryHostSlotOncePerHost() async throws {
        try await PostgreSQLServer.withServer { server in
            try FleetStoreTests.createDaemonRole(server)
            let uri = server.uri(user: "ascribe_fleet")
            let hosts = ["web1", "web2", "web3"]
            let harnesses = try hosts.map { _ in try DaemonHarness() }
            defer { for harness in harnesses { harness.remove() } }
            let onceJobs = (1...4).map { "reaper-\($0)" }
            for harness in harnesses {
                for job in onceJobs { try harness.job(job, schedule: "* * * * *", command: "/bin/true") }
                try harness.job("rotate-logs", schedule: "* * * * *", command: "/bin/true", ["placement = every-host"])
            }
            let start = DaemonHarness.startOfHour()
            var fleet: [(clock: FakeDaemonClock, daemon: Daemon, task: Task<DaemonOutcome, Never>)] = []
            for (harness, host) in zip(harnesses, hosts) {
                // `ascribe daemon` makes it (DaemonLock); the SQLite store would make it too.
                try FileManager.default.createDirectory(atPath: harness.state, withIntermediateDirectories: false,
                                                        attributes: [.posixPermissions: 0o700])
                let clock = FakeDaemonClock(now: start)
                var configuration = harness.configuration()
                configuration.host = host
                configuration.store = .postgreSQL(uri)
                let problems = Mutex<[String]>([])
                let daemon = Daemon(configuration: configuration, clock: clock) { output in
                    if case .problem(let text) = output { problems.withLock { $0.append(text) } }
                }
                let task = Task { await daemon.run() }
                let outcome = await clock.waitForSleeperOrEnd(of: task)
                try #require(outcome == nil, "\(host) did not start: \(String(describing: outcome)) \(problems.withLock { $0 })")
                fleet.append((clock, daemon, task))
            }
            let minutes = 5
            for _ in 0..<minutes {
                // Every host wakes for the same minute before any has settled: they race for it.
                for member in fleet { member.clock.advance(by: 60) }
                for member in fleet {
                    await member.clock.waitForSleeper()
                    await DaemonHarness.waitUntilIdle(member.daemon)
                }
            }
            for member in fleet { await member.daemon.stop() }
            for member in fleet { #expect(await member.task.value == .stopped) }

            let log = try PostgreSQLEventLog.open(uri, host: "check")
            #expect(try log.verify() == .intact(count: try log.events(matching: EventFilter()).count))
            let events = try log.events(matching: EventFilter(order: .oldestFirst))
            let fired = events.filter { $0.type == .runFired }
            let slots = (1...minutes).map { EventTime(start.adding(seconds: Int64($0) * 60)) }
            for job in onceJobs {
                #expect(fired.filter { $0.job == job }.compactMap(\.scheduledFor).sorted() == slots, "\(job)")
            }
            for host in hosts {
                #expect(fired.filter { $0.job == "rotate-logs" && $0.host == host }.compactMap(\.scheduledFor).sorted() == slots, "\(host)")
            }
            // Exactly one terminal event for every run fired, on the host that fired it.
            for run in fired {
                let terminals = events.filter { $0.runID == run.runID && $0.type.isRunTerminal }
                #expect(terminals.map(\.type) == [.runSucceeded] && terminals.first?.host == run.host)
            }
            // Every host recorded its own start and stop in the one chain.
            for host in hosts {
                #expect(events.filter { $0.host == host && ($0.type == .daemonStarted || $0.type == .daemonStopped) }.count == 2)
            }
        }
    }
}

extension FakeDaemonClock {
    /// Waits until the daemon sleeps (nil) or its run ends (its outcome: it failed to start).
    func waitForSleeperOrEnd(of task: Task<DaemonOutcome, Never>) async -> DaemonOutcome? {
        let ended = Mutex<DaemonOutcome?>(nil)
        let watcher = Task { let outcome = await task.value; ended.withLock { $0 = outcome } }
        defer { watcher.cancel() }
        while !hasSleeper {
            if let outcome = ended.withLock({ $0 }) { return outcome }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }
}

extension FleetStoreTests {
    /// `pg_terminate_backend` (or a server restart) ends the daemon's session: its next append
    /// reconnects and chains on, rather than the host staying in an outage for good.
    @Test func aTerminatedSessionIsReconnectedOnTheNextAppend() async throws {
        try await PostgreSQLServer.withServer { server in
            try Self.createDaemonRole(server)
            let log = try PostgreSQLEventLog.open(server.uri(user: "ascribe_fleet"), host: "web1")
            try log.append(EventStoreFixture.daemonDraft())
            try server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'ascribe_fleet'")
            // The first statement after the kill may see the broken connection; the next reconnects.
            let first = Result { () throws(EventStoreError) in try log.append(EventStoreFixture.daemonDraft(.daemonHeartbeat, minute: 1)) }
            if case .failure(let error) = first { #expect(error.meansStoreUnwritable, "\(error)") }
            try log.append(EventStoreFixture.daemonDraft(.daemonHeartbeat, minute: 2))
            let expected = (try? first.get()) == nil ? 2 : 3
            #expect(try log.verify() == .intact(count: expected))
        }
    }
}
