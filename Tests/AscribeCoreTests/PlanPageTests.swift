import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime

/// The page as a real browser renders it: Debian's `chromium`, headless, `--dump-dom`.
enum HeadlessBrowser {
    static let path = "/usr/bin/chromium"
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The DOM after the page's scripts ran, serialised.
    static func dumpDOM(_ file: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--dump-dom", "file://" + file]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return dom
    }

    /// An attribute value as the page set it (serialisers differ on escaping `<` and `>`).
    static func unescaped(_ value: String) -> String {
        value.replacing("&quot;", with: "\"").replacing("&lt;", with: "<").replacing("&gt;", with: ">")
            .replacing("&nbsp;", with: "\u{A0}").replacing("&amp;", with: "&")
    }

    /// Every rendered slot: its job, time, classes and hover text, in document order.
    static func slots(in dom: String) -> [(job: String, time: String, classes: Set<String>, title: String)] {
        dom.matches(of: /<span ([^>]*)>/).compactMap { match in
            let attributes = Dictionary(String(match.output.1).matches(of: /([a-z-]+)="([^"]*)"/).map {
                (String($0.output.1), unescaped(String($0.output.2)))
            }) { first, _ in first }
            guard let classes = attributes["class"]?.split(separator: " ").map(String.init), classes.first == "slot",
                  let job = attributes["data-job"] else { return nil }
            return (job, attributes["data-time"] ?? "", Set(classes.dropFirst()), attributes["title"] ?? "")
        }
    }
}

@Suite struct PlanPageTests {
    static let hostile = #"</script><script>document.title="pwned"</script> R&D "night" <ops@example.com>"#

    static func page(owner: String) -> PlanPage {
        PlanPage(from: Instant(secondsSinceEpoch: 0), to: Instant(secondsSinceEpoch: 7200), fromText: "start", toText: "end",
                 now: Instant(secondsSinceEpoch: 0), nowText: "start",
                 rows: [PlanPage.Row(job: "reaper", identity: "reaper-runner", owner: owner, schedule: "0 * * * *", zone: "UTC",
                                     slots: [PlanPage.Slot(time: "01:00", secondsSinceEpoch: 3600, status: "planned")])],
                 notes: ["line\u{2028}separator"])
    }

    /// The embedded JSON cannot close its script block or start markup, whatever a job says.
    @Test func jobTextCannotLeaveTheDataBlock() {
        let html = Self.page(owner: Self.hostile).html
        #expect(html.components(separatedBy: "</script>").count == 3)
        #expect(!html.contains("R&D") && !html.contains("<ops@"))
        #expect(html.contains(#"\u003c/script\u003e\u003cscript\u003edocument.title=\"pwned\"\u003c/script\u003e R\u0026D"#))
        #expect(html.contains(#"line\u2028separator"#))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains(" src="))
    }

    /// Hostile text renders as text in a real browser: the page title is untouched and the
    /// owner shows literally in the label and the slot's hover text.
    @Test func hostileTextRendersAsTextInABrowser() throws {
        guard HeadlessBrowser.installed else {
            print("SKIPPED hostileTextRendersAsTextInABrowser: \(HeadlessBrowser.path) not installed (apt-get install chromium)")
            return
        }
        try EventStoreFixture.withScratchDirectory { directory in
            let file = directory + "/page.html"
            try Self.page(owner: Self.hostile).html.write(toFile: file, atomically: true, encoding: .utf8)
            let dom = try HeadlessBrowser.dumpDOM(file)
            #expect(dom.contains("<title>ascribe plan</title>"))
            #expect(!dom.contains("pwned</title>"))
            #expect(dom.contains(#"owner &lt;/script&gt;&lt;script&gt;document.title="pwned"&lt;/script&gt; R&amp;D "night" &lt;ops@example.com&gt;"#))
            let slots = HeadlessBrowser.slots(in: dom)
            #expect(slots.count == 1)
            #expect(slots.first?.title.contains("owner " + Self.hostile) == true)
        }
    }

    /// The real binary over a real log: past slots take what the log says (missed, succeeded,
    /// failed, skipped, no record), later ones are planned, rendered by chromium.
    @Test func pastSlotsShowWhatTheLogSaysAndLaterOnesArePlanned() throws {
        guard HeadlessBrowser.installed else {
            print("SKIPPED pastSlotsShowWhatTheLogSaysAndLaterOnesArePlanned: \(HeadlessBrowser.path) not installed")
            return
        }
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("hourly", schedule: "0 * * * *", command: "/bin/true")
        // Not across an hour boundary: the test's "now" and the binary's must share their hour.
        while SystemClock.now().secondsSinceEpoch % 3600 > 3590 { Thread.sleep(forTimeInterval: 1) }
        let hour = DaemonHarness.startOfHour().secondsSinceEpoch
        func at(_ hours: Int64, _ minutes: Int64 = 0) -> EventTime { EventTime(millisecondsSinceEpoch: (hour + hours * 3600 + minutes * 60) * 1000) }
        func draft(_ type: EventType, slot: Int64, run: String? = nil, minute: Int64 = 0) -> EventDraft {
            EventDraft(time: at(slot, minute), host: "testhost", type: type, actor: "hourly-runner", owner: "test-team <test@example.com>",
                       job: "hourly", identity: "hourly-runner", runID: run, scheduledFor: at(slot))
        }
        var loaded = EventDraft(time: at(-6), host: "testhost", type: .configLoaded, actor: "ascribe-scheduler@testhost")
        loaded.details = ["jobs": "hourly=0123456789ab"]
        var failed = draft(.runFailed, slot: -2, run: "b", minute: 1)
        failed.exitCode = 3
        var skipped = draft(.runSkipped, slot: -1)
        skipped.details = ["skip_reason": "overlap", "running_run_id": "b"]
        let store = try EventStore.open(path: harness.storePath)
        try store.append([
            EventDraft(time: at(-6), host: "testhost", type: .daemonStarted, actor: "ascribe-scheduler@testhost"), loaded,
            draft(.runMissed, slot: -4, minute: 30), draft(.runFired, slot: -3, run: "a"), draft(.runSucceeded, slot: -3, run: "a", minute: 1),
            draft(.runFired, slot: -2, run: "b"), failed, skipped,
        ])
        let file = harness.root + "/plan.html"
        let from = ZoneRules.utc.rfc3339(Instant(secondsSinceEpoch: hour - 4 * 3600 - 1800))
        let to = ZoneRules.utc.rfc3339(Instant(secondsSinceEpoch: hour + 3 * 3600))
        let result = try AscribeBinary.run(["plan", "--jobs", harness.jobs, "--state", harness.state, "--from", from, "--to", to,
                                            "--html", file])
        #expect(result.status == 0)
        #expect(result.stdout == "wrote \(file): 8 slots of 1 job\n")

        let slots = HeadlessBrowser.slots(in: try HeadlessBrowser.dumpDOM(file))
        #expect(slots.map(\.classes) == [["missed"], ["succeeded"], ["failed"], ["skipped"], ["no-record"], ["planned"], ["planned"], ["planned"]])
        #expect(slots.map(\.time) == (-4...3).map { ZoneRules.utc.rfc3339(Instant(secondsSinceEpoch: hour + $0 * 3600)) })
        #expect(slots.allSatisfy { $0.job == "hourly" && $0.title.contains("identity hourly-runner") && $0.title.contains("owner test-team") })
        #expect(slots[2].title.contains("failed with exit 3"))
    }

    /// Daylight saving and pile-ups, as `plan` computes them, are marked on the rendered slots.
    @Test func dstShiftsAndPileUpsAreMarked() throws {
        guard HeadlessBrowser.installed else {
            print("SKIPPED dstShiftsAndPileUpsAreMarked: \(HeadlessBrowser.path) not installed")
            return
        }
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("berlin", schedule: "30 2 * * *", command: "/bin/true", ["timezone = Europe/Berlin"])
        try harness.job("noon-a", schedule: "0 12 * * *", command: "/bin/true")
        try harness.job("noon-b", schedule: "0 12 * * *", command: "/bin/true")
        let file = harness.root + "/plan.html"
        let result = try AscribeBinary.run(["plan", "--jobs", harness.jobs, "--state", harness.state + "-none", "--from",
                                            "2027-03-27T12:00:00Z", "--to", "2027-03-28T12:00:00Z", "--html", file])
        #expect(result.status == 2 && result.stderr.contains("no event store here"))
        let missing = try AscribeBinary.run(["plan", "--jobs", harness.jobs, "--from", "2027-03-27T12:00:00Z",
                                             "--to", "2027-03-28T12:00:00Z", "--html", file])
        #expect(missing.status == 0)
        let slots = HeadlessBrowser.slots(in: try HeadlessBrowser.dumpDOM(file))
        #expect(slots.map(\.job) == ["berlin", "noon-a", "noon-b"])
        #expect(slots[0].classes == ["planned", "dst"] && slots[0].time == "2027-03-28T03:00:00+02:00")
        #expect(slots[0].title.contains("DST: 2027-03-28 02:30 moved"))
        #expect(slots[1].classes == ["planned", "pileup"] && slots[2].classes == ["planned", "pileup"])
        #expect(slots[1].title.contains("pile-up: 2 jobs"))
    }
}
