import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport

/// `ascribe daemon --store postgresql://… --host-name …` as an operator runs it, on a real
/// PostgreSQL 15.
@Suite(.serialized, .requires(PostgreSQLServer.isAvailable, Comment(rawValue: PostgreSQLServer.requirement)))
struct FleetCommandLineTests {
    @Test func theDaemonLogsToTheFleetStoreUnderItsHostName() async throws {
        try await PostgreSQLServer.withServer { server in
            try server.psql("CREATE ROLE ascribe_fleet LOGIN; CREATE SCHEMA ascribe AUTHORIZATION ascribe_fleet; ALTER ROLE ascribe_fleet SET search_path = ascribe")
            let root = ScratchSweep.directory(prefix: "ascribe-fleet-cli-")
            try FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let uri = server.uri(user: "ascribe_fleet")
            let daemon = try DaemonProcess(jobs: root + "/jobs", state: root + "/state", stderrPath: root + "/stderr",
                                           extra: ["--store", uri, "--host-name", "fleet-e2e"])
            #expect(try daemon.waitUntilAnswering(), "\(daemon.stderr)")
            #expect(daemon.stop() == 0, "\(daemon.stderr)")
            // The log is the fleet's: nothing in the state directory's SQLite store.
            #expect(!FileManager.default.fileExists(atPath: root + "/state/events.db"))
            let log = try PostgreSQLEventLog.open(uri, host: "check")
            let events = try log.events(matching: EventFilter(order: .oldestFirst))
            #expect(events.first?.type == .daemonStarted && events.last?.type == .daemonStopped)
            #expect(events.allSatisfy { $0.host == "fleet-e2e" && $0.actor == "ascribe-scheduler@fleet-e2e" })
            #expect(try log.verify() == .intact(count: events.count))
            let verified = try AscribeBinary.run(["verify", "--store", uri])
            #expect(verified.status == 0 && verified.stdout == "\(events.count) events, chain intact\n", "\(verified.stderr)")
            // A database with no Ascribe schema is not verified as an empty chain.
            let empty = try AscribeBinary.run(["verify", "--store", server.superuserURI])
            #expect(empty.status == 1 && empty.stderr.contains("no Ascribe schema here"), "\(empty.stderr)")
        }
    }
}
