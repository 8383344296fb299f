import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// A job file broken by an edit while the daemon was down (docs/DAEMON.md, "Definitions in
/// force"): the last good definition stays in force across the restart, and every view says
/// the file is rejected. A file that never loaded is not run, but is still shown as rejected.
@Suite struct KeptDefinitionTests {
    @Test func aFileBrokenWhileTheDaemonWasDownKeepsItsLastGoodDefinition() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("report", schedule: "*/15 * * * *", command: "/bin/echo kept")
        let start = DaemonHarness.startOfHour().adding(seconds: -86_400 / 2)
        let first = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: first)
        for _ in 0..<15 { await first.advance(by: 60, settling: daemon) }
        await daemon.stop()
        #expect(await task.value == .stopped)
        let goodHash = try #require(harness.events().first { $0.type == .runFired }?.configHash)

        // Broken while the daemon is down; another file never loaded at all.
        try "schedule = 61 * * * *\nidentity = report-runner\n".write(
            toFile: harness.jobs + "/report.job", atomically: true, encoding: .utf8)
        try "schedule = @sometimes\n".write(toFile: harness.jobs + "/never-good.job", atomically: true, encoding: .utf8)
        let restart = start.adding(seconds: 1000)
        let second = FakeDaemonClock(now: restart)
        let (restarted, again) = await harness.start(clock: second)
        for _ in 0..<15 { await second.advance(by: 60, settling: restarted) }
        let status = await restarted.statusJSON(now: second.now())
        await restarted.stop()
        #expect(await again.value == .stopped)

        let events = try harness.events()
        let restartedAt = try #require(events.last { $0.type == .daemonStarted }).seq
        let later = events.filter { $0.seq > restartedAt }
        // It still fires, from the archived definition.
        let fired = later.filter { $0.type == .runFired && $0.job == "report" }
        #expect(fired.count == 1 && fired.allSatisfy { $0.configHash == goodHash })
        #expect(later.last { $0.type == .runSucceeded }?.outputTail == "kept\n")
        // The start's rejection says so, and its config.loaded lists the kept definition.
        let rejected = events.filter { $0.type == .configRejected && $0.configSource?.hasPrefix(harness.jobs + "/report.job:") == true }
        #expect(!rejected.isEmpty && rejected.allSatisfy { $0.job == "report" && $0.details["kept"] != nil })
        let loaded = try #require(events.last { $0.type == .configLoaded })
        #expect(loaded.details["jobs"] == "report=\(goodHash.prefix(12))")
        #expect(loaded.details["kept"] == "report=\(goodHash.prefix(12))")
        #expect(loaded.details["rejected"] == "never-good,report")

        // status: both files rejected; one with its kept definition, one not loaded.
        let files = status["rejected_files"]?.arrayValue ?? []
        #expect(files.compactMap { $0["job"]?.stringValue } == ["never-good", "report"])
        #expect(files.map { $0["kept_hash"]?.stringValue } == [nil, String(goodHash.prefix(12))])
        #expect(files.allSatisfy { $0["since"]?.stringValue == EventTime(restart).rfc3339 && $0["line"]?.intValue == 1 })

        // why: the rejection, since when, and the definition that runs; its slots are answered.
        let why = try AscribeBinary.run(["why", "report", "--jobs", harness.jobs, "--state", harness.state,
                                         "--since", EventTime(start).rfc3339, "--until", EventTime(restart.adding(seconds: 900)).rfc3339])
        #expect(why.status == 0)
        let lines = why.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "the job file \(harness.jobs)/report.job is rejected since \(ZoneRules.utc.rfc3339(restart)) "
            + "(\(rejected[0].configSource ?? ""): \(rejected[0].reason ?? "")); the daemon keeps its last good definition in force (\(goodHash.prefix(12)))")
        #expect(lines.filter { $0.contains("ran and succeeded") }.count == 2)
        let neverGood = try AscribeBinary.run(["why", "never-good", "--jobs", harness.jobs, "--state", harness.state])
        #expect(neverGood.status == 2 && neverGood.stderr.contains("its file is rejected"))

        // identities: listed from the kept definition, flagged.
        let identities = try AscribeBinary.run(["identities", "--jobs", harness.jobs, "--state", harness.state, "--json"])
        let entries = (try JSONParser.parse(identities.stdout))["identities"]?.arrayValue ?? []
        #expect(entries.compactMap { $0["identity"]?.stringValue } == ["report-runner"])
        let kinds = (entries.first?["findings"]?.arrayValue ?? []).compactMap { $0["kind"]?.stringValue }
        #expect(kinds.contains("definition_rejected"))

        // metrics: the textfile's series for both files.
        var metrics = JobMetrics()
        for event in events { metrics.apply(event) }
        let keptDefinition = try #require(EventStore.open(path: harness.storePath, access: .readOnly)
            .definition(of: JobName("report"), hashPrefix: String(goodHash.prefix(12)), zones: { ZoneDatabase().rules(for: $0) }))
        let text = metrics.exposition(jobs: [keptDefinition.definition], defaultZone: .utc, now: second.now())
        #expect(text.contains("ascribe_job_definition_rejected{job=\"report\"} 1\n"))
        #expect(text.contains("ascribe_job_definition_rejected{job=\"never-good\"} 1\n"))
    }

    /// A deleted file still removes its job at the next start: nothing is kept for it.
    @Test func aDeletedFileIsNotKept() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("report", schedule: "*/15 * * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour().adding(seconds: -86_400 / 2)
        let first = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: first)
        await daemon.stop()
        _ = await task.value
        try FileManager.default.removeItem(atPath: harness.jobs + "/report.job")
        let second = FakeDaemonClock(now: start.adding(seconds: 1000))
        let (restarted, again) = await harness.start(clock: second)
        await second.advance(by: 900, settling: restarted)
        await restarted.stop()
        _ = await again.value
        let events = try harness.events()
        let lastStart = try #require(events.last { $0.type == .daemonStarted }).seq
        #expect(!events.contains { $0.seq > lastStart && $0.type == .runFired })
        #expect(events.last { $0.type == .configLoaded }?.details["jobs"] == "")
    }
}
