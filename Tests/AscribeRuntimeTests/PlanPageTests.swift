import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// The page as a real browser renders it: Debian's `chromium`, headless, `--dump-dom`.
enum HeadlessBrowser {
    static let path = "/usr/bin/chromium"
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: path) }
    /// Why the browser tests are skipped without it.
    static let missing: Comment = "needs /usr/bin/chromium (apt-get install chromium; .ci/run installs it)"

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

    /// A PNG of the page after its scripts ran, `width` × `height` CSS pixels.
    static func screenshot(_ file: String, to png: String, width: Int, height: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                             "--screenshot=" + png, "--window-size=\(width),\(height)", "file://" + file]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }

    /// Every element with `className` among its classes, as its attributes and text.
    static func elements(in dom: String, tag: String, className: String) -> [(attributes: [String: String], text: String)] {
        dom.matches(of: try! Regex("<\(tag) ([^>]*)>([^<]*)")).compactMap { match in
            guard let body = match.output[1].substring, let text = match.output[2].substring else { return nil }
            let attributes = Dictionary(String(body).matches(of: /([a-z-]+)="([^"]*)"/).map {
                (String($0.output.1), unescaped(String($0.output.2)))
            }) { first, _ in first }
            guard attributes["class"]?.split(separator: " ").contains(Substring(className)) == true else { return nil }
            return (attributes, unescaped(String(text)))
        }
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
        PlanPage(from: Instant(secondsSinceEpoch: 0), to: Instant(secondsSinceEpoch: 7200), zone: .utc, now: Instant(secondsSinceEpoch: 0),
                 rows: [PlanPage.Row(job: "reaper", identity: "reaper-runner", owner: owner, schedule: "0 * * * *", zone: "UTC",
                                     slots: [PlanPage.Slot(time: "01:00", secondsSinceEpoch: 3600, status: .planned)])],
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
    @Test(.requires(HeadlessBrowser.installed, HeadlessBrowser.missing))
    func hostileTextRendersAsTextInABrowser() throws {
        try EventStoreFixture.withScratchDirectory { directory in
            let file = directory + "/page.html"
            try Self.page(owner: Self.hostile).html.write(toFile: file, atomically: true, encoding: .utf8)
            let dom = try HeadlessBrowser.dumpDOM(file)
            #expect(dom.contains("<title>ascribe plan</title>"))
            #expect(!dom.contains("pwned</title>"))
            #expect(dom.contains(#"reaper-runner → &lt;/script&gt;&lt;script&gt;document.title="pwned"&lt;/script&gt; R&amp;D "night" &lt;ops@example.com&gt;"#))
            let slots = HeadlessBrowser.slots(in: dom)
            #expect(slots.count == 1)
            #expect(slots.first?.title.contains("owner " + Self.hostile) == true)
        }
    }

    /// The real binary over a real log: past slots take what the log says (missed, succeeded,
    /// failed, skipped, no record), later ones are planned, rendered by chromium.
    @Test(.requires(HeadlessBrowser.installed, HeadlessBrowser.missing))
    func pastSlotsShowWhatTheLogSaysAndLaterOnesArePlanned() throws {
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
        try #require(slots.map(\.classes) == [["missed"], ["succeeded"], ["failed"], ["skipped"], ["no-record"], ["planned"], ["planned"], ["planned"]])
        #expect(slots.map(\.time) == (-4...3).map { ZoneRules.utc.rfc3339(Instant(secondsSinceEpoch: hour + $0 * 3600)) })
        #expect(slots.allSatisfy { $0.job == "hourly" && $0.title.contains("identity hourly-runner") && $0.title.contains("owner test-team") })
        #expect(slots[2].title.contains("failed with exit 3"))
    }

    /// Daylight saving and pile-ups, as `plan` computes them, are marked on the rendered slots.
    @Test(.requires(HeadlessBrowser.installed, HeadlessBrowser.missing))
    func dstShiftsAndPileUpsAreMarked() throws {
        try requireSystemZone("Europe/Berlin")
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
        try #require(slots.map(\.job) == ["berlin", "noon-a", "noon-b"])
        #expect(slots[0].classes == ["planned", "dst"] && slots[0].time == "2027-03-28T03:00:00+02:00")
        #expect(slots[0].title.contains("DST: 02:30 moved to 03:00 (Europe/Berlin)"))
        #expect(slots[1].classes == ["planned", "pileup"] && slots[2].classes == ["planned", "pileup"])
        #expect(slots[1].title.contains("pile-up: 2 jobs"))
    }

    /// The README's example as a person sees it: `plan --jobs jobs.d --from now --to 7d --html`,
    /// rendered by chromium. The structure must be there after the scripts ran (a day label per
    /// day, hour ticks, a legend entry per outcome with its count, a "now" line on every row,
    /// and exactly as many slot marks as the plan has slots), and the screenshot must show it:
    /// a PNG of the window's size and far from a blank page's few kilobytes.
    @Test(.requires(HeadlessBrowser.installed, HeadlessBrowser.missing))
    func theReadmeWeekIsDrawnWithAxesLegendAndEverySlot() throws {
        try EventStoreFixture.withScratchDirectory { directory in
            let file = directory + "/week.html"
            let result = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--state", directory, "--from", "now", "--to", "7d",
                                                "--tz", "UTC", "--html", file])
            #expect(result.status == 2 && result.stderr.contains("no event store here"))
            let written = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--from", "now", "--to", "7d", "--tz", "UTC", "--html", file])
            #expect(written.status == 0)
            let count = try #require(written.stdout.firstMatch(of: /: (\d+) slots of 5 jobs/).flatMap { Int($0.output.1) })
            #expect((2_860...2_870).contains(count))

            let dom = try HeadlessBrowser.dumpDOM(file)
            let slots = HeadlessBrowser.slots(in: dom)
            #expect(slots.count == count)
            #expect(slots.allSatisfy { $0.classes.contains("planned") })
            #expect(Set(slots.map(\.job)) == ["disk-usage-report", "failure-drill", "kernel-version-report", "load-heartbeat", "stale-lock-reaper"])
            let days = HeadlessBrowser.elements(in: dom, tag: "div", className: "day")
            #expect(days.count == 8)
            #expect(days.allSatisfy { $0.text.count >= 6 && $0.attributes["style"]?.contains("left:") == true })
            let hours = HeadlessBrowser.elements(in: dom, tag: "div", className: "hour")
            #expect(hours.count == 7 * 24)
            let shownHours = hours.filter { $0.attributes["style"]?.contains("display: none") != true }.map(\.text)
            #expect(shownHours.contains("12"))
            let legend = HeadlessBrowser.elements(in: dom, tag: "span", className: "item").compactMap { $0.attributes["data-status"] }
            #expect(legend == PlanPage.Status.allCases.map(\.rawValue))
            #expect(dom.contains("planned (\(count))"))
            #expect(HeadlessBrowser.elements(in: dom, tag: "div", className: "now").count == 5)
            #expect(HeadlessBrowser.elements(in: dom, tag: "button", className: "active").map(\.text) == ["whole window"])

            let png = directory + "/week.png"
            try HeadlessBrowser.screenshot(file, to: png, width: 1400, height: 760)
            let image = try Data(contentsOf: URL(fileURLWithPath: png))
            #expect(image.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            func bigEndian(_ offset: Int) -> Int { image.dropFirst(offset).prefix(4).reduce(0) { $0 << 8 | Int($1) } }
            #expect(bigEndian(16) == 1400 && bigEndian(20) == 760)
            // A blank 1400×760 page compresses to about 5 KB; the drawn week is over 50 KB.
            #expect(image.count > 40_000, "\(image.count) bytes")
        }
    }

    /// The axes in the display zone: a day per civil day (the first and last cut to the
    /// window), its DST change named on it, and hour ticks an hour apart on the time line,
    /// so the spring-forward night reads 01, 03.
    @Test func axesFollowTheDisplayZoneThroughDaylightSaving() throws {
        let berlin = try #require(ZoneDatabase().rules(for: "Europe/Berlin"))
        let from = Instant(secondsSinceEpoch: 1_837_551_600)  // 2028-03-24T23:00:00Z, Saturday 00:00 in Berlin
        let to = from.adding(seconds: 2 * 86_400 - 3600)
        let page = PlanPage(from: from, to: to, zone: berlin, now: from, rows: [], notes: [])
        #expect(page.days.map(\.label) == ["Sat 2028-03-25", "Sun 2028-03-26"])
        #expect(page.days.map(\.changes) == [[], ["DST: Europe/Berlin: clocks go forward 1 h at 02:00"]])
        #expect(page.days[1].start == from.adding(seconds: 86_400) && page.days[1].end == to)
        #expect(page.hours.count == 48)
        #expect(page.hours.dropFirst(24).prefix(4).map(\.label) == ["00", "01", "03", "04"])
        #expect(page.changes.map(\.at) == [Instant(secondsSinceEpoch: 1_837_645_200)])
    }
}
