import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// A Prometheus text exposition read back by the format's rules: every family's `# HELP` and
/// `# TYPE` once and before its samples, a family's samples together, names and label names
/// well-formed, label values unescaped, values numbers.
struct ParsedExposition {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var types: [String: String] = [:]
    var samples: [Sample] = []

    enum Problem: Error, CustomStringConvertible {
        case line(String, String)
        var description: String {
            switch self { case .line(let line, let why): "\(why): \(line)" }
        }
    }

    init(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw Problem.line(String(text.suffix(40)), "no final line feed") }
        var helped: Set<String> = []
        var finished: Set<String> = []
        var current: String?
        func isName(_ name: Substring) -> Bool {
            guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
            return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
        }
        func enter(_ name: String, _ line: String) throws {
            if current != name {
                if let current { finished.insert(current) }
                guard !finished.contains(name) else { throw Problem.line(line, "family \(name) appears twice") }
                current = name
            }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard parts.count == 2, isName(parts[0]) else { throw Problem.line(line, "bad comment") }
                let name = String(parts[0])
                try enter(name, line)
                if line.hasPrefix("# HELP ") {
                    guard helped.insert(name).inserted, types[name] == nil else { throw Problem.line(line, "HELP repeated or after TYPE") }
                } else {
                    guard types[name] == nil, ["gauge", "counter"].contains(parts[1]) else { throw Problem.line(line, "bad TYPE") }
                    types[name] = String(parts[1])
                }
                continue
            }
            var rest = Substring(line)
            let name = rest.prefix { $0 != "{" && $0 != " " }
            guard isName(name), helped.contains(String(name)), types[String(name)] != nil else {
                throw Problem.line(line, "sample without its HELP and TYPE")
            }
            try enter(String(name), line)
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.hasPrefix("{") {
                rest = rest.dropFirst()
                while !rest.hasPrefix("}") {
                    let label = rest.prefix { $0 != "=" }
                    guard isName(label), rest.dropFirst(label.count).hasPrefix("=\"") else { throw Problem.line(line, "bad label") }
                    rest = rest.dropFirst(label.count + 2)
                    var value = ""
                    while let character = rest.first, character != "\"" {
                        rest = rest.dropFirst()
                        if character == "\\" {
                            switch rest.first {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw Problem.line(line, "bad escape")
                            }
                            rest = rest.dropFirst()
                        } else {
                            guard character != "\n" else { throw Problem.line(line, "raw line feed") }
                            value.append(character)
                        }
                    }
                    guard rest.hasPrefix("\"") else { throw Problem.line(line, "unterminated label value") }
                    rest = rest.dropFirst()
                    labels[String(label)] = value
                    if rest.hasPrefix(",") { rest = rest.dropFirst() }
                }
                rest = rest.dropFirst()
            }
            guard rest.hasPrefix(" "), let value = Double(rest.dropFirst()) else { throw Problem.line(line, "bad value") }
            samples.append(Sample(name: String(name), labels: labels, value: value))
        }
    }

    func value(_ name: String, job: String, _ extra: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && sample.labels["job"] == job && extra.allSatisfy { key, value in sample.labels[key] == value }
        }?.value
    }
}

@Suite struct PrometheusTextTests {
    @Test func labelValuesAndHelpAreEscapedAndFamiliesGrouped() throws {
        var text = PrometheusText()
        text.metric("a_total", .counter, help: "counts \\ things\nover lines", samples: [
            .init([("job", "x\"y\\z\nw")], "3"), .init([("job", "plain")], "4"),
        ])
        text.metric("empty", .gauge, help: "left out", samples: [])
        #expect(text.text == """
            # HELP a_total counts \\\\ things\\nover lines
            # TYPE a_total counter
            a_total{job="x\\"y\\\\z\\nw"} 3
            a_total{job="plain"} 4

            """)
        let parsed = try ParsedExposition(text.text)
        #expect(parsed.samples.map(\.labels) == [["job": "x\"y\\z\nw"], ["job": "plain"]])
        #expect(PrometheusText.seconds(milliseconds: 1_795_458_600_012) == "1795458600.012")
        #expect(PrometheusText.seconds(milliseconds: -1500) == "-1.500")
    }

    @Test func theParserRejectsWhatTheFormatForbids() {
        #expect(throws: ParsedExposition.Problem.self) { try ParsedExposition("a 1\n") }
        #expect(throws: ParsedExposition.Problem.self) { try ParsedExposition("# HELP a x\n# TYPE a gauge\na{l=\"\\q\"} 1\n") }
        #expect(throws: ParsedExposition.Problem.self) {
            try ParsedExposition("# HELP a x\n# TYPE a gauge\na 1\n# HELP b y\n# TYPE b gauge\nb 1\na 2\n")
        }
    }
}

@Suite struct JobMetricsTests {
    static func event(_ draft: EventDraft, seq: Int64) -> Event {
        Event(seq: seq, eventID: String(seq), content: draft, prevHash: Event.genesisHash, hash: String(seq))
    }

    @Test func countsByJobAndIgnoresEventsAlreadyCounted() throws {
        var metrics = JobMetrics()
        var missed = EventStoreFixture.draft(.runMissed, job: "reaper", minute: 1)
        missed.details = ["count": "5"]
        var succeeded = EventStoreFixture.draft(.runSucceeded, job: "reaper", minute: 3)
        succeeded.durationMs = 1500
        let events = [
            Self.event(EventStoreFixture.draft(.runSkipped, job: "reaper", minute: 0), seq: 1), Self.event(missed, seq: 2),
            Self.event(EventStoreFixture.draft(.runMissed, job: "reaper", minute: 2), seq: 3), Self.event(succeeded, seq: 4),
            // Written later, but for an earlier time (clock stepped back): not the latest outcome.
            Self.event(EventStoreFixture.draft(.runFailed, job: "reaper", minute: -10), seq: 5),
        ]
        for event in events + events { metrics.apply(event) }
        let job = JobFile.parse(Array("schedule = */15 * * * *\nidentity = reaper\nowner = ops\ncommand = /bin/true\n".utf8),
                                path: "/jobs/reaper.job", zones: { _ in nil }).definition
        let now = Instant(secondsSinceEpoch: EventStoreFixture.baseTime / 1000 + 5 * 60)
        let parsed = try ParsedExposition(metrics.exposition(jobs: [job].compactMap { $0 }, defaultZone: .utc, now: now))
        #expect(parsed.value("ascribe_job_skipped_total", job: "reaper") == 1)
        #expect(parsed.value("ascribe_job_missed_total", job: "reaper") == 6)
        #expect(parsed.value("ascribe_job_last_outcome", job: "reaper", ["outcome": "succeeded"]) == 1)
        #expect(parsed.value("ascribe_job_last_outcome", job: "reaper", ["outcome": "failed"]) == 0)
        #expect(parsed.value("ascribe_job_last_run_duration_seconds", job: "reaper") == 1.5)
        #expect(parsed.value("ascribe_job_last_success_timestamp_seconds", job: "reaper") == Double(EventStoreFixture.baseTime / 1000 + 180))
        #expect(parsed.value("ascribe_job_schedule_period_seconds", job: "reaper") == 900)
        #expect(parsed.value("ascribe_job_next_fire_timestamp_seconds", job: "reaper") == Double(EventStoreFixture.baseTime / 1000 + 900))
    }
}

@Suite struct MetricsTextfileTests {
    /// The textfile follows the daemon's own view of its jobs: the full list at start, then
    /// added/changed/removed on reload, a rejected file keeping its previous definition.
    @Test func configLoadedEventsDecideWhichJobsAreListed() throws {
        func job(_ name: String, _ command: String) throws -> JobDefinition {
            let text = "schedule = */5 * * * *\nidentity = \(name)-runner\nowner = ops\ncommand = \(command)\n"
            return try #require(JobFile.parse(Array(text.utf8), path: "/jobs/\(name).job", zones: { _ in nil }).definition)
        }
        func loaded(_ details: [String: String]) -> Event {
            var draft = EventStoreFixture.daemonDraft(.configLoaded)
            draft.details = details
            return JobMetricsTests.event(draft, seq: 1)
        }
        let fresh = ["a": try job("a", "/bin/true"), "b": try job("b", "/bin/true"), "stray": try job("stray", "/bin/true")]
        var jobs: [String: JobDefinition] = [:]
        MetricsTextfile.update(&jobs, from: loaded(["jobs": "a=0123,b=4567"]), with: fresh)
        #expect(jobs.keys.sorted() == ["a", "b"])

        let reloaded = ["a": try job("a", "/bin/echo changed"), "c": try job("c", "/bin/true")]
        MetricsTextfile.update(&jobs, from: loaded(["jobs": "2", "added": "c=89ab", "changed": "a=cdef", "removed": "b=4567"]),
                               with: reloaded)
        #expect(jobs.keys.sorted() == ["a", "c"])
        #expect(jobs["a"]?.command == reloaded["a"]?.command)
    }

    /// The real daemon over a log with history: totals counted from the whole log at start,
    /// then two @reboot runs (one fails, one succeeds) arrive as events; the file parses by the
    /// format's rules, has mode 0644 and leaves no temp file behind.
    @Test func daemonWritesTheTextfileFromTheLogAndNewRuns() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true")
        try harness.job("boot-fail", schedule: "@reboot", command: #"/bin/sh -c "exit 3""#)
        try harness.job("boot-ok", schedule: "@reboot", command: "/bin/true")
        // An owner with the characters a label value must escape.
        let bootOK = harness.jobs + "/boot-ok.job"
        try (try String(contentsOfFile: bootOK, encoding: .utf8)).replacing("owner = test-team <test@example.com>",
            with: #"owner = ops "night" \ team <ops@example.com>"#).write(toFile: bootOK, atomically: true, encoding: .utf8)
        let store = try EventStore.open(path: harness.storePath)
        var missed = EventStoreFixture.draft(.runMissed, job: "reaper", minute: 1)
        missed.details = ["count": "3"]
        try store.append([
            EventStoreFixture.draft(.runSucceeded, job: "reaper", minute: 0), EventStoreFixture.draft(.runSkipped, job: "reaper", minute: 1),
            EventStoreFixture.draft(.runSkipped, job: "reaper", minute: 2), missed,
            EventStoreFixture.draft(.runMissed, job: "reaper", minute: 3), EventStoreFixture.draft(.runFailed, job: "reaper", minute: 4),
        ])
        let metricsDirectory = harness.root + "/textfiles"
        try FileManager.default.createDirectory(atPath: metricsDirectory, withIntermediateDirectories: false)
        let metricsPath = metricsDirectory + "/ascribe.prom"

        let started = Date().timeIntervalSince1970
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: AscribeBinary.path)
        daemon.arguments = ["daemon", "--jobs", harness.jobs, "--state", harness.state, "--metrics-file", metricsPath,
                            "--keys", harness.state + "/keys",
                            "--no-syslog", "--quiet"] + (isRoot ? [] : ["--dev"])
        let errors = Pipe()
        daemon.standardError = errors
        daemon.diesWithTestProcess()
        try daemon.run()
        defer { if daemon.isRunning { daemon.terminate() } }
        let deadline = Date().addingTimeInterval(15)
        var text = ""
        while Date() < deadline {
            text = (try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? ""
            if text.contains(#"job="boot-fail""#) && text.contains(#"ascribe_job_last_success_timestamp_seconds{job="boot-ok""#) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        daemon.terminate()
        daemon.waitUntilExit()
        let ended = Date().timeIntervalSince1970
        #expect(daemon.terminationStatus == 0)
        #expect(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).isEmpty)

        let parsed = try ParsedExposition(try String(contentsOfFile: metricsPath, encoding: .utf8))
        #expect(parsed.types["ascribe_job_skipped_total"] == "counter" && parsed.types["ascribe_job_last_outcome"] == "gauge")
        #expect(parsed.value("ascribe_job_skipped_total", job: "reaper") == 2)
        #expect(parsed.value("ascribe_job_missed_total", job: "reaper") == 4)
        #expect(parsed.value("ascribe_job_last_success_timestamp_seconds", job: "reaper") == Double(EventStoreFixture.baseTime) / 1000)
        #expect(parsed.value("ascribe_job_last_outcome", job: "reaper", ["outcome": "failed"]) == 1)
        #expect(parsed.value("ascribe_job_schedule_period_seconds", job: "reaper") == 900)
        let next = try #require(parsed.value("ascribe_job_next_fire_timestamp_seconds", job: "reaper"))
        #expect(next > started && next <= ended + 900 && next.truncatingRemainder(dividingBy: 900) == 0)

        #expect(parsed.value("ascribe_job_last_outcome", job: "boot-fail", ["outcome": "failed"]) == 1)
        #expect(parsed.value("ascribe_job_last_outcome", job: "boot-fail", ["outcome": "succeeded"]) == 0)
        #expect(parsed.value("ascribe_job_last_success_timestamp_seconds", job: "boot-fail") == nil)
        #expect((parsed.value("ascribe_job_last_run_duration_seconds", job: "boot-fail") ?? -1) >= 0)
        #expect(parsed.value("ascribe_job_schedule_period_seconds", job: "boot-fail") == nil)
        let success = try #require(parsed.value("ascribe_job_last_success_timestamp_seconds", job: "boot-ok"))
        #expect(success >= started - 1 && success <= ended + 1)
        #expect(parsed.samples.first { $0.labels["job"] == "boot-ok" }?.labels["owner"] == #"ops "night" \ team <ops@example.com>"#)
        #expect(parsed.samples.first { $0.labels["job"] == "boot-ok" }?.labels["identity"] == "boot-ok-runner")

        let attributes = try FileManager.default.attributesOfItem(atPath: metricsPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: metricsDirectory) == ["ascribe.prom"])
    }
}
