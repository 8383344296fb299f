import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// `ascribe identities`: the registry over a seeded log, each finding, and the registry when
/// the log cannot be read.
@Suite struct IdentityRegistryTests {
    static let actor = "ascribe-scheduler@testhost"
    static func at(_ minutes: Int64) -> EventTime { WhyTests.at(minutes) }

    /// Writes `jobs/<name>.job` with its own identity and owner lines.
    static func job(_ harness: DaemonHarness, _ name: String, identity: String, schedule: String,
                    owner: String = "test-team <test@example.com>", _ extra: [String] = []) throws {
        let lines = ["schedule = \(schedule)", "identity = \(identity)", "owner = \(owner)", "command = /bin/true",
                     "timezone = UTC"] + extra
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(harness.jobs)/\(name).job", atomically: true, encoding: .utf8)
    }

    static func run(_ type: EventType, _ job: String, _ identity: String, at minutes: Int64, runID: String) -> EventDraft {
        EventDraft(time: at(minutes), host: "testhost", type: type, actor: identity, owner: "test-team <test@example.com>",
                   job: job, identity: identity, runID: runID, scheduledFor: at(minutes))
    }

    /// A fired run and how it ended, both at `minutes`.
    static func ran(_ end: EventType, _ job: String, _ identity: String, at minutes: Int64) -> [EventDraft] {
        let runID = "\(job)-\(minutes)"
        return [run(.runFired, job, identity, at: minutes, runID: runID), run(end, job, identity, at: minutes, runID: runID)]
    }

    static func control(_ type: EventType, at minutes: Int64, identity: String, job: String? = nil, reason: String) -> EventDraft {
        var draft = EventDraft(time: at(minutes), host: "testhost", type: type, actor: actor,
                               owner: "test-team <test@example.com>", job: job, identity: identity)
        draft.principal = "alice"
        draft.reason = reason
        return draft
    }

    /// Now is 01:05. reaper: last success 00:20, then a failure (four slots since: overdue).
    /// fresh: succeeded at 00:51 (one slot since: fine), disabled and enabled again.
    /// exporter-a/-b share metrics-exporter (a succeeded at 00:40, b failed at 00:50).
    /// drill: @reboot, owner without contact, failed twice. paused: `enabled = no`, old success.
    /// revoked: identity disabled by alice, old success.
    static func seeded() throws -> DaemonHarness {
        let harness = try DaemonHarness()
        try job(harness, "reaper", identity: "reaper-runner", schedule: "*/10 * * * *", ["purpose = reap locks"])
        try job(harness, "fresh", identity: "fresh-runner", schedule: "*/10 * * * *",
                ["runbook = https://runbooks.example.com/fresh", "credentials = token,api-key"])
        try job(harness, "exporter-a", identity: "metrics-exporter", schedule: "0 * * * *", ["purpose = export a"])
        try job(harness, "exporter-b", identity: "metrics-exporter", schedule: "0 * * * *", ["purpose = export b"])
        try job(harness, "drill", identity: "drill-runner", schedule: "@reboot", owner: "storage-team")
        try job(harness, "paused", identity: "paused-runner", schedule: "*/10 * * * *", ["enabled = no"])
        try job(harness, "revoked", identity: "revoked-runner", schedule: "*/10 * * * *")
        var drafts: [EventDraft] = []
        drafts += ran(.runSucceeded, "reaper", "reaper-runner", at: 20)
        drafts += ran(.runFailed, "reaper", "reaper-runner", at: 30)
        drafts += ran(.runSucceeded, "fresh", "fresh-runner", at: 51)
        drafts += ran(.runSucceeded, "exporter-a", "metrics-exporter", at: 40)
        drafts += ran(.runFailed, "exporter-b", "metrics-exporter", at: 50)
        drafts += ran(.runFailed, "drill", "drill-runner", at: 1)
        drafts += ran(.runLaunchFailed, "drill", "drill-runner", at: 2)
        drafts += ran(.runSucceeded, "paused", "paused-runner", at: 0)
        drafts += ran(.runSucceeded, "revoked", "revoked-runner", at: 10)
        // A success recorded under the job's former identity does not count for the current one.
        drafts += ran(.runSucceeded, "drill", "old-drill-runner", at: 3)
        drafts.append(control(.identityDisabled, at: 30, identity: "revoked-runner", reason: "rotating creds"))
        drafts.append(control(.jobDisabled, at: 52, identity: "fresh-runner", job: "fresh", reason: "checking"))
        drafts.append(control(.jobEnabled, at: 53, identity: "fresh-runner", job: "fresh", reason: "checked"))
        try harness.seed(drafts)
        return harness
    }

    static func entries(_ harness: DaemonHarness, withLog: Bool = true) throws -> [String: IdentityEntry] {
        let load = try JobDirectory.load(path: harness.jobs, zones: { _ in .utc })
        let store = withLog ? try EventStore.open(path: harness.storePath, access: .readOnly) : nil
        let disablements = try store.map { store throws(EventStoreError) in try Disablements(store: store) } ?? Disablements()
        let entries = try IdentityRegistry.entries(load: load, store: store, disablements: disablements,
                                                   now: at(65).instant, defaultZone: .utc)
        #expect(entries.map(\.identity.rawValue) == entries.map(\.identity.rawValue).sorted())
        return Dictionary(uniqueKeysWithValues: entries.map { ($0.identity.rawValue, $0) })
    }

    static func words(_ entry: IdentityEntry?) -> [String] {
        entry?.findings.map { $0.words(in: .utc) } ?? ["(no entry)"]
    }

    @Test func eachFindingFromTheLogAndTheJobFiles() throws {
        let harness = try Self.seeded()
        defer { harness.remove() }
        let entries = try Self.entries(harness)
        #expect(entries.keys.sorted() == ["drill-runner", "fresh-runner", "metrics-exporter", "paused-runner",
                                          "reaper-runner", "revoked-runner"])

        let fresh = try #require(entries["fresh-runner"])
        #expect(fresh.findings.isEmpty, "\(Self.words(fresh))")
        #expect(fresh.disabled.isEmpty)
        #expect(fresh.runbooks == ["https://runbooks.example.com/fresh"])
        #expect(fresh.credentials.map(\.rawValue) == ["api-key", "token"])
        #expect(fresh.record?.lastSuccess?.time == Self.at(51))

        let reaper = try #require(entries["reaper-runner"])
        #expect(reaper.purposes == ["reap locks"])
        #expect(reaper.record?.lastOutcome?.type == .runFailed)
        #expect(reaper.record?.lastOutcome?.time == Self.at(30))
        #expect(reaper.record?.lastSuccess?.time == Self.at(20))
        #expect(reaper.record?.runs == nil)
        #expect(reaper.findings.map(\.kind) == ["overdue"])
        #expect(Self.words(reaper) == ["job reaper last succeeded at 2026-11-23T00:20:00+00:00 [seq \(reaper.record?.lastSuccess?.seq ?? 0)]; 4 slots since (schedule */10 * * * *)"])

        let shared = try #require(entries["metrics-exporter"])
        #expect(shared.jobs.map(\.name.rawValue) == ["exporter-a", "exporter-b"])
        #expect(shared.purposes == ["export a", "export b"])
        #expect(shared.owners.count == 1)
        #expect(shared.record?.lastOutcome?.job == "exporter-b")
        #expect(shared.record?.lastOutcome?.type == .runFailed)
        #expect(shared.record?.lastSuccess?.job == "exporter-a")
        #expect(shared.findings.map(\.kind) == ["shared_identity"])
        #expect(Self.words(shared)[0].hasPrefix("shared identity: jobs exporter-a, exporter-b all run as it"))

        let drill = try #require(entries["drill-runner"])
        #expect(drill.findings.map(\.kind) == ["no_owner_contact", "never_succeeded"])
        #expect(Self.words(drill)[0].hasPrefix("no owner contact: owner `storage-team` (job drill) has no e-mail address or URL"))
        #expect(Self.words(drill)[1] == "never succeeded: no run.succeeded in the log for any of its jobs (2 runs recorded)")
        #expect(drill.record?.lastOutcome?.type == .runLaunchFailed)
        #expect(drill.record?.runs == 2)

        let paused = try #require(entries["paused-runner"])
        #expect(paused.findings.map(\.kind) == ["disabled"])
        #expect(Self.words(paused) == ["disabled: job paused has enabled = no in \(harness.jobs)/paused.job:6"])

        let revoked = try #require(entries["revoked-runner"])
        #expect(revoked.findings.map(\.kind) == ["disabled"])
        let seq = try #require(revoked.disabled.first.flatMap { mark -> Int64? in
            if case .byPerson(let disablement) = mark { disablement.seq } else { nil }
        })
        #expect(Self.words(revoked) == ["disabled: identity revoked-runner was disabled by alice at 2026-11-23T00:30:00.000Z (\"rotating creds\") [seq \(seq)]"])
    }

    @Test func typesReadWholeOrJobByJobGiveTheSameRecords() throws {
        let harness = try Self.seeded()
        defer { harness.remove() }
        let jobs = try JobDirectory.load(path: harness.jobs, zones: { _ in .utc }).jobs
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let whole = try IdentityRegistry.records(of: jobs, store: store)
        let jobByJob = try IdentityRegistry.records(of: jobs, store: store, wholeTypeLimit: 0)
        #expect(whole.count == 7)
        #expect(whole == jobByJob)
        #expect(whole[try JobName("drill")]?.lastSuccess == nil)
        #expect(whole[try JobName("paused")]?.lastSuccess?.time == Self.at(0))
    }

    @Test func withoutTheLogOnlyTheJobFilesFindings() throws {
        let harness = try Self.seeded()
        defer { harness.remove() }
        let entries = try Self.entries(harness, withLog: false)
        #expect(entries.values.allSatisfy { $0.record == nil })
        #expect(entries["metrics-exporter"]?.findings.map(\.kind) == ["shared_identity"])
        #expect(entries["drill-runner"]?.findings.map(\.kind) == ["no_owner_contact"])
        #expect(entries["paused-runner"]?.findings.map(\.kind) == ["disabled"])
        for clean in ["reaper-runner", "revoked-runner", "fresh-runner"] {
            #expect(entries[clean]?.findings == [], "\(clean): \(Self.words(entries[clean]))")
        }
    }

    @Test func overdueNeedsTwoSlotsAndSkipsRebootAndDisabled() throws {
        let text = "schedule = 0 * * * *\nidentity = hourly-runner\nowner = t <t@example.com>\ncommand = /bin/true\n"
        let job = try #require(JobFile.parse(Array(text.utf8), path: "hourly.job", zones: { _ in .utc }).definition)
        let success = RecordedOutcome(type: .runSucceeded, time: Self.at(0), job: "hourly", seq: 1)
        let record = JobRecord(lastOutcome: success, lastSuccess: success, runs: 1)
        let oneSlot = IdentityRegistry.overdue(job, record: record, disablements: Disablements(),
                                               now: Self.at(119).instant, defaultZone: .utc)
        #expect(oneSlot == nil)
        let twoSlots = IdentityRegistry.overdue(job, record: record, disablements: Disablements(),
                                                now: Self.at(120).instant, defaultZone: .utc)
        #expect(twoSlots?.kind == "overdue")
        #expect(twoSlots?.words(in: .utc).contains("; 2 slots since") == true)
        let years = IdentityRegistry.overdue(job, record: record, disablements: Disablements(),
                                             now: Self.at(12 * 366 * 1440).instant, defaultZone: .utc)
        #expect(years?.words(in: .utc).contains("; \(IdentityRegistry.slotCountLimit) or more slots since") == true)
        var reboot = job
        reboot.schedule = .reboot
        #expect(IdentityRegistry.overdue(reboot, record: record, disablements: Disablements(),
                                         now: Self.at(600).instant, defaultZone: .utc) == nil)
        var disabled = job
        disabled.enabled = false
        #expect(IdentityRegistry.overdue(disabled, record: record, disablements: Disablements(),
                                         now: Self.at(600).instant, defaultZone: .utc) == nil)
    }

    @Test func theBinaryListsTheRegistryWithAndWithoutTheLog() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try Self.job(harness, "reaper", identity: "reaper-runner", schedule: "*/10 * * * *")
        try Self.job(harness, "fresh", identity: "fresh-runner", schedule: "*/10 * * * *")
        let now = EventTime.now().millisecondsSinceEpoch
        func ranAgo(_ minutes: Int64, _ job: String, _ identity: String) -> [EventDraft] {
            Self.ran(.runSucceeded, job, identity, at: 0).map { draft in
                var draft = draft
                draft.time = EventTime(millisecondsSinceEpoch: now - minutes * 60_000)
                draft.scheduledFor = nil
                return draft
            }
        }
        try harness.seed(ranAgo(60, "reaper", "reaper-runner") + ranAgo(1, "fresh", "fresh-runner"))

        let human = try AscribeBinary.run(["identities", "--jobs", harness.jobs, "--state", harness.state])
        #expect(human.status == 1, "\(human.stderr)")
        #expect(human.stderr.isEmpty, "\(human.stderr)")
        #expect(human.stdout.contains("reaper-runner\n  purpose       (none given)\n  owner         test-team <test@example.com>\n"))
        #expect(human.stdout.contains("job reaper last succeeded at "))
        #expect(human.stdout.contains("2 identities from 2 job(s); 1 with findings (1 in all)\n"))

        let json = try AscribeBinary.run(["identities", "--jobs", harness.jobs, "--state", harness.state, "--json"])
        #expect(json.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["outcomes_known"] as? Bool == true)
        let identities = try #require(document["identities"] as? [[String: Any]])
        #expect(identities.compactMap { $0["identity"] as? String } == ["fresh-runner", "reaper-runner"])
        #expect((identities[0]["findings"] as? [Any])?.isEmpty == true)
        #expect(((identities[1]["findings"] as? [[String: Any]])?.first?["kind"]) as? String == "overdue")
        #expect((identities[1]["last_success"] as? [String: Any])?["job"] as? String == "reaper")

        try FileManager.default.removeItem(atPath: "\(harness.jobs)/reaper.job")
        let noLog = try AscribeBinary.run(["identities", "--jobs", harness.jobs, "--state", harness.root + "/absent"])
        #expect(noLog.status == 0, "\(noLog.stdout)\(noLog.stderr)")
        #expect(noLog.stderr.contains("outcomes unknown"))
        #expect(noLog.stdout.contains("  last outcome  unknown (no readable event log)\n"))

        let usage = try AscribeBinary.run(["identities", "extra", "--jobs", harness.jobs])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("unexpected argument extra"))
    }
}
