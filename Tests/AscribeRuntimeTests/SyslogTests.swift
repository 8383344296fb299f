import Foundation
import Synchronization
import Testing
@testable import AscribeRuntime
@testable import AscribeSystem
import AscribeTestSupport

/// An RFC 5424 message taken apart by an independent reading of the grammar (section 6), so
/// the tests check what a receiver would see, not the formatter's own strings.
struct ParsedSyslogMessage {
    var priority: Int
    var timestamp: String
    var hostname: String
    var appName: String
    var procID: String
    var msgID: String
    /// SD-ID → PARAM-NAME → unescaped value.
    var structuredData: [String: [String: String]]
    var message: String

    init?(_ text: String) {
        var rest = Substring(text)
        guard rest.hasPrefix("<"), let close = rest.firstIndex(of: ">"), let priority = Int(rest[rest.index(after: rest.startIndex)..<close]),
              (0...191).contains(priority)
        else { return nil }
        self.priority = priority
        rest = rest[rest.index(after: close)...]
        guard rest.hasPrefix("1 ") else { return nil }
        rest = rest.dropFirst(2)
        var header: [String] = []
        for _ in 0..<5 {
            guard let space = rest.firstIndex(of: " ") else { return nil }
            header.append(String(rest[..<space]))
            rest = rest[rest.index(after: space)...]
        }
        guard header.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.allSatisfy { (33...126).contains($0.value) } }) else { return nil }
        (timestamp, hostname, appName, procID, msgID) = (header[0], header[1], header[2], header[3], header[4])
        structuredData = [:]
        if rest.hasPrefix("-") {
            rest = rest.dropFirst()
        } else {
            while rest.hasPrefix("[") {
                rest = rest.dropFirst()
                let idEnd = rest.firstIndex { $0 == " " || $0 == "]" } ?? rest.endIndex
                let id = String(rest[..<idEnd])
                rest = rest[idEnd...]
                var parameters: [String: String] = [:]
                while rest.hasPrefix(" ") {
                    rest = rest.dropFirst()
                    guard let equals = rest.firstIndex(of: "=") else { return nil }
                    let name = String(rest[..<equals])
                    rest = rest[rest.index(after: equals)...]
                    guard rest.hasPrefix("\"") else { return nil }
                    rest = rest.dropFirst()
                    var value = ""
                    while true {
                        guard let character = rest.first else { return nil }
                        rest = rest.dropFirst()
                        if character == "\"" { break }
                        if character == "\\", let next = rest.first, next == "\"" || next == "\\" || next == "]" {
                            value.append(next)
                            rest = rest.dropFirst()
                        } else {
                            value.append(character)
                        }
                    }
                    parameters[name] = value
                }
                guard rest.hasPrefix("]") else { return nil }
                rest = rest.dropFirst()
                structuredData[id] = parameters
            }
        }
        guard rest.isEmpty || rest.hasPrefix(" ") else { return nil }
        message = String(rest.dropFirst())
    }
}

@Suite struct SyslogMessageTests {
    static func event(_ draft: EventDraft, seq: Int64 = 42) -> Event {
        Event(seq: seq, eventID: String(repeating: "e", count: 32), content: draft, prevHash: Event.genesisHash,
              hash: String(repeating: "f", count: 64))
    }

    @Test func everyFieldArrivesEscapedAndParsesBack() throws {
        var draft = EventStoreFixture.fullDraft()
        draft.owner = "storage \"team\" [a\\b] <oncall@example.com>"
        draft.principal = "alice]"
        let event = Self.event(draft)
        let text = SyslogMessage.format(event, processID: 4242)
        #expect(text.hasPrefix("<75>1 2026-11-23T18:30:00.123Z web1.example.com ascribe 4242 run.failed [ascribe@32473 "))
        #expect(text.contains(#"owner="storage \"team\" [a\\b\] <oncall@example.com>""#))
        #expect(text.contains(#"principal="alice\]""#))

        let parsed = try #require(ParsedSyslogMessage(text))
        #expect(parsed.priority == 9 * 8 + 3)
        #expect(parsed.timestamp == "2026-11-23T18:30:00.123Z")
        #expect(parsed.appName == "ascribe" && parsed.procID == "4242" && parsed.msgID == "run.failed")
        let fields = try #require(parsed.structuredData["ascribe@32473"])
        #expect(fields == [
            "type": "run.failed", "actor": "failure-drill", "principal": "alice]", "job": "failure-drill",
            "identity": "failure-drill", "owner": "storage \"team\" [a\\b] <oncall@example.com>",
            "run_id": "0123456789abcdef0123456789abcdef", "outcome": "failed",
            "scheduled_for": "2026-11-23T18:30:00.000Z", "exit_code": "3", "duration_ms": "12",
            "reason": "drill \"quoted\"\\nsecond line", "development": "true", "seq": "42",
            "event_id": String(repeating: "e", count: 32), "hash": String(repeating: "f", count: 64),
        ])
        #expect(parsed.message == event.verboseLogLine)
    }

    @Test func schedulerEventsLeaveOutAbsentFieldsAndUseTheirSeverity() throws {
        let started = Self.event(EventStoreFixture.daemonDraft(.daemonStarted), seq: 1)
        let parsed = try #require(ParsedSyslogMessage(SyslogMessage.format(started, processID: nil)))
        #expect(parsed.priority == 9 * 8 + 5)
        #expect(parsed.procID == "-")
        #expect(parsed.structuredData["ascribe@32473"]?.keys.sorted() == ["actor", "event_id", "hash", "seq", "type"])
        let severities = Dictionary(uniqueKeysWithValues: EventType.allCases.map { ($0, SyslogMessage.severity(of: $0)) })
        #expect(severities[.runSucceeded] == .informational && severities[.runMissed] == .warning)
        #expect(severities[.runLost] == .error && severities[.jobDisabled] == .notice)
    }

    @Test func escapingCoversExactlyTheThreeCharacters() {
        #expect(SyslogMessage.escapedParameterValue(#"a"b\c]d[e=f"#) == #"a\"b\\c\]d[e=f"#)
        #expect(SyslogMessage.escapedParameterValue("plain ünïcødé") == "plain ünïcødé")
    }

    @Test func headerFieldsStayPrintableAndLongMessagesAreCut() throws {
        var draft = EventStoreFixture.daemonDraft(.configRejected)
        draft.host = "web 1\u{7}"
        draft.reason = String(repeating: "ü", count: 9000)
        let text = SyslogMessage.format(Self.event(draft), processID: 1)
        #expect(text.utf8.count <= SyslogMessage.maximumBytes)
        let parsed = try #require(ParsedSyslogMessage(text))
        #expect(parsed.hostname == "web_1_")
        #expect(parsed.message.hasSuffix("…"))
        let reason = try #require(parsed.structuredData["ascribe@32473"]?["reason"])
        #expect(reason.hasSuffix("…") && reason.utf8.count <= SyslogMessage.maximumValueBytes)
    }
}

@Suite struct SyslogForwardingTests {
    static let journaldSocket = "/run/systemd/journal/dev-log"
    static let journaldRunning = FileManager.default.fileExists(atPath: journaldSocket)
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl")

    /// The real daemon binary forwards to a datagram socket bound in a scratch directory: an
    /// @reboot job that fails yields daemon.started, config.loaded, run.fired and run.failed,
    /// each a well-formed RFC 5424 message with the run's fields.
    @Test func daemonForwardsEveryEventToTheSocket() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("failure-drill", schedule: "@reboot", command: #"/bin/sh -c "echo 'disk] \"full\"'; exit 3""#)
        let socketPath = harness.root + "/log"
        let receiver = try UnixDatagramSocket(boundTo: socketPath)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: AscribeBinary.path)
        daemon.arguments = ["daemon", "--jobs", harness.jobs, "--state", harness.state, "--syslog", socketPath, "--quiet",
                            "--no-checkpoints"]
            + (isRoot ? [] : ["--dev"])
        let errors = Pipe()
        daemon.standardError = errors
        daemon.diesWithTestProcess()
        try daemon.run()
        defer { if daemon.isRunning { daemon.terminate() } }

        var messages: [ParsedSyslogMessage] = []
        while !messages.contains(where: { $0.msgID == "run.failed" }),
              let datagram = try receiver.receive(timeoutMilliseconds: 10_000) {
            messages.append(try #require(ParsedSyslogMessage(String(decoding: datagram, as: UTF8.self))))
        }
        daemon.terminate()
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        while let datagram = try receiver.receive(timeoutMilliseconds: 300) {
            messages.append(try #require(ParsedSyslogMessage(String(decoding: datagram, as: UTF8.self))))
        }

        #expect(messages.map(\.msgID) == ["daemon.started", "config.loaded", "run.fired", "run.failed", "daemon.stopped"])
        #expect(messages.allSatisfy { $0.appName == "ascribe" && $0.procID == "\(daemon.processIdentifier)" && $0.hostname != "-" })
        let failed = try #require(messages.first { $0.msgID == "run.failed" }?.structuredData["ascribe@32473"])
        let fired = try #require(messages.first { $0.msgID == "run.fired" }?.structuredData["ascribe@32473"])
        #expect(failed["job"] == "failure-drill" && failed["identity"] == "failure-drill-runner")
        #expect(failed["owner"] == "test-team <test@example.com>" && failed["outcome"] == "failed")
        #expect(failed["exit_code"] == "3" && failed["run_id"] == fired["run_id"] && failed["run_id"]?.count == 32)
        let seqs = messages.compactMap { $0.structuredData["ascribe@32473"]?["seq"].flatMap { Int($0) } }
        #expect(seqs == Array(1...5))
        let stored = try harness.events().sorted { $0.seq < $1.seq }
        #expect(messages.compactMap { $0.structuredData["ascribe@32473"]?["hash"] } == stored.map(\.hash))
        #expect(messages[3].message.contains(#"last "disk] \"full\"""#))
        #expect(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).isEmpty)
    }

    /// A missing socket is reported once, not per event, and forwarding resumes (with the count
    /// of events not forwarded) as soon as a receiver binds the path again.
    @Test func anOutageIsReportedOnceAndForwardingResumes() throws {
        try EventStoreFixture.withScratchDirectory { directory in
            let path = directory + "/log"
            let reports = ReportLog()
            let forwarder = try SyslogForwarder(path: path, processID: 7) { reports.append($0) }
            for seq in 1...3 { forwarder.forward(SyslogMessageTests.event(EventStoreFixture.daemonDraft(.daemonHeartbeat), seq: Int64(seq))) }
            #expect(reports.lines.count == 1)
            #expect(reports.lines.first?.contains("sendto \(path): No such file or directory") == true)

            let receiver = try UnixDatagramSocket(boundTo: path)
            forwarder.forward(SyslogMessageTests.event(EventStoreFixture.daemonDraft(.daemonHeartbeat), seq: 4))
            #expect(reports.lines.count == 2)
            #expect(reports.lines.last?.contains("resumed; 3 event(s) were not forwarded") == true)
            let datagram = try #require(try receiver.receive(timeoutMilliseconds: 2000))
            #expect(ParsedSyslogMessage(String(decoding: datagram, as: UTF8.self))?.structuredData["ascribe@32473"]?["seq"] == "4")
        }
    }

    /// Socket errors carry errno, the call and the path.
    @Test func socketErrorsNameTheCallAndPath() throws {
        let long = "/tmp/" + String(repeating: "x", count: 200)
        #expect(throws: SystemError(code: ENAMETOOLONG, call: "sockaddr_un", context: long)) { try UnixDatagramSocket(boundTo: long) }
        #expect(throws: SystemError(code: ENOENT, call: "bind", context: "/nonexistent/dir/log")) {
            try UnixDatagramSocket(boundTo: "/nonexistent/dir/log")
        }
        #expect(throws: SystemError(code: EINVAL, call: "sockaddr_un", context: "")) { try UnixDatagramSocket().send([1], to: "") }
    }

    /// journald parses the syslog header of a datagram on /dev/log but not RFC 5424's structured
    /// data: the check is that a message sent there is accepted and lands under our identifier.
    /// Skipped where no journald runs (a container without systemd, such as CI's).
    @Test(.enabled(if: Self.journaldRunning, "no running journald (/run/systemd/journal/dev-log absent, e.g. a container without systemd)"))
    func journaldAcceptsTheMessageWhenAvailable() throws {
        let socket = Self.journaldSocket
        let marker = UUID().uuidString
        var draft = EventStoreFixture.daemonDraft(.configRejected)
        draft.reason = marker
        try UnixDatagramSocket().send(Array(SyslogMessage.format(SyslogMessageTests.event(draft), processID: 1).utf8), to: socket)
        var found = ""
        for _ in 0..<20 where !found.contains(marker) {
            Thread.sleep(forTimeInterval: 0.25)
            let journal = Process()
            journal.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
            journal.arguments = ["--since", "-1m", "--no-pager", "-o", "cat", "-g", marker]
            let out = Pipe()
            journal.standardOutput = out
            try journal.run()
            found = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            journal.waitUntilExit()
        }
        #expect(found.contains(marker))
    }
}

/// Lines a forwarder reported, collected across threads.
final class ReportLog: Sendable {
    private let state = Mutex<[String]>([])
    func append(_ line: String) { state.withLock { $0.append(line) } }
    var lines: [String] { state.withLock { $0 } }
}
