import Foundation
import Testing
@testable import AscribeCore
import AscribeRuntime
import AscribeTestSupport

/// `ascribe run`, `log` and `verify` end to end: the real binary, real processes, a real store.
/// As root (CI) jobs run as `nobody`; elsewhere they run with `--dev` as the invoking user.
@Suite struct RunCommandTests {
    /// A scratch area: `jobs/` for job files, `state/` for the store, `drop/` writable by the job.
    struct Scratch {
        let root: String
        var jobs: String { root + "/jobs" }
        var state: String { root + "/state" }
        var drop: String { root + "/drop" }

        init() throws {
            root = NSTemporaryDirectory() + "ascribe-run-" + UUID().uuidString
            for directory in [root, root + "/jobs", root + "/drop"] {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/jobs")
            try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: root + "/drop")
        }

        func job(_ name: String, _ lines: [String]) throws {
            var text = ["schedule = @daily", "identity = \(name)-runner", "owner = test-team <test@example.com>"]
            if isRoot { text.append("run-as = nobody") }
            text += lines
            try (text.joined(separator: "\n") + "\n").write(toFile: "\(jobs)/\(name).job", atomically: true, encoding: .utf8)
        }

        func run(_ job: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> AscribeBinary.Result {
            try AscribeBinary.run(["run", job, "--jobs", jobs, "--state", state] + (isRoot ? [] : ["--dev"]) + extra,
                                  environment: environment)
        }

        func events() throws -> [[String: Any]] {
            let result = try AscribeBinary.run(["log", "--state", state, "--json"])
            return try result.stdout.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    @Test func failingJobIsRecordedWithExitCodeAndOutput() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.job("drill", ["shell = /bin/sh", "command = echo about to fail; exit 3"])
        let result = try scratch.run("drill", ["--reason", "checking the drill"])
        #expect(result.status == 1)
        let events = try scratch.events()
        #expect(events.map { $0["type"] as? String } == ["run.fired", "run.failed"])
        let failed = try #require(events.last)
        #expect(failed["exit_code"] as? Int == 3)
        #expect(failed["actor"] as? String == "drill-runner")
        #expect(failed["owner"] as? String == "test-team <test@example.com>")
        #expect(failed["reason"] as? String == "checking the drill")
        #expect(failed["output_tail"] as? String == "about to fail\n")
        #expect(failed["stdout_bytes"] as? Int == 14)
        #expect((failed["output_sha256"] as? String)?.count == 64)
        #expect((failed["config_hash"] as? String)?.count == 64)
        #expect(failed["run_id"] as? String == events.first?["run_id"] as? String)
        let verify = try AscribeBinary.run(["verify", "--state", scratch.state])
        #expect(verify.status == 0)
        #expect(verify.stdout == "2 events, chain intact\n")
        // The short line by default, every field with --verbose.
        #expect(result.stdout.contains("  run.failed  drill  drill-runner → "))
        #expect(result.stdout.contains(" exit 3 after ") && result.stdout.contains("  last \"about to fail\"  reason \"checking the drill\"  run "))
        #expect(!result.stdout.contains("recorder_pid") && !result.stdout.contains("spawned_at"))
        let verbose = try scratch.run("drill", ["--verbose"])
        #expect(verbose.stdout.contains("  run.failed  drill  actor drill-runner for ") && verbose.stdout.contains("recorder_pid=\""))
        #expect(try scratch.run("drill", ["--verbose", "--json"]).stderr.contains("--verbose and --json exclude each other"))
    }

    /// The principal comes from the kernel: environment variables a caller controls change nothing.
    @Test func principalIsTakenFromTheKernel() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.job("hello", ["command = /bin/true"])
        let result = try scratch.run("hello", environment: ["USER": "mallory", "LOGNAME": "mallory",
                                                           "SUDO_USER": "mallory", "ASCRIBE_PRINCIPAL": "mallory"])
        #expect(result.status == 0)
        let expected = try #require(getpwuid(getuid())).pointee.pw_name.map { String(cString: $0) }
        let loginUID = (try? String(contentsOfFile: "/proc/self/loginuid", encoding: .utf8))
            .flatMap { UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let events = try scratch.events()
        #expect(events.count == 2)
        if loginUID == nil || loginUID == UInt32.max {
            #expect(events.allSatisfy { $0["principal"] as? String == expected })
        }
        #expect(events.allSatisfy { $0["principal"] as? String != "mallory" })
    }

    /// Fail closed: when `run.fired` cannot be written, the job never starts.
    @Test(.requires(FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"),
                   "the sqlite3 command-line tool is missing (apt-get install sqlite3): fail-closed test skipped"))
    func jobDoesNotStartWhenItsFiredEventCannotBeWritten() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let marker = scratch.drop + "/ran"
        try scratch.job("marker", ["command = /usr/bin/touch \(marker)"])
        #expect(try scratch.run("marker").status == 0)
        try FileManager.default.removeItem(atPath: marker)
        // Make every further write fail, as a full disk or a broken store would.
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [scratch.state + "/events.db",
                            "CREATE TRIGGER refuse_all BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END;"]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)

        let result = try scratch.run("marker")
        #expect(result.status == 1)
        #expect(result.stderr.contains("was not started"))
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(try scratch.events().count == 2)
    }

    @Test func timeoutIsRecordedAsTimedOut() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.job("slow", ["shell = /bin/sh", "command = sleep 30 & sleep 30", "timeout = 1s", "kill-grace = 1s"])
        let began = Date()
        let result = try scratch.run("slow")
        #expect(Date().timeIntervalSince(began) < 20)
        #expect(result.status == 1)
        let events = try scratch.events()
        #expect(events.last?["type"] as? String == "run.timed_out")
        #expect(events.last?["signal"] as? Int == Int(SIGTERM))
    }

    @Test func launchFailureIsRecordedAfterFired() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.job("missing", ["command = /nonexistent/program --flag"])
        let result = try scratch.run("missing")
        #expect(result.status == 1)
        #expect(result.stderr.contains("could not launch"))
        let events = try scratch.events()
        #expect(events.map { $0["type"] as? String } == ["run.fired", "run.launch_failed"])
        let details = try #require(events.last?["details"] as? [String: Any])
        #expect(details["failure"] as? String == "command-not-found")
        #expect((details["error"] as? String)?.contains("/nonexistent/program") == true)
    }

    /// Each way a launch can fail becomes `run.fired` + `run.launch_failed` with its reason.
    @Test(arguments: [
        ("not-executable", ["command = DROP/plain-file"]),
        ("credential-missing", ["command = /bin/true", "credentials = api-token"]),
        ("working-directory", ["command = /bin/true", "working-directory = /nonexistent-ascribe-dir"]),
    ])
    func launchFailuresMapToTheirReasons(code: String, lines: [String]) throws {
        try expectLaunchFailure(code: code, lines: lines)
    }

    /// The same for failures only a root scheduler meets (a `--dev` run ignores run-as).
    @Test(.requires(isRoot, "needs root: a non-root scheduler runs --dev, which ignores run-as"), arguments: [
        ("unknown-user", ["command = /bin/true", "run-as = no-such-user-ascribe"]),
        ("run-as-required", ["command = /bin/true"]),
    ])
    func rootLaunchFailuresMapToTheirReasons(code: String, lines: [String]) throws {
        try expectLaunchFailure(code: code, lines: lines)
    }

    private func expectLaunchFailure(code: String, lines: [String]) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try "#!/bin/sh\n".write(toFile: scratch.drop + "/plain-file", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: scratch.drop + "/plain-file")
        var text = ["schedule = @daily", "identity = failing-launcher", "owner = test-team <test@example.com>"]
        text += lines.map { $0.replacingOccurrences(of: "DROP", with: scratch.drop) }
        if isRoot, !lines.contains(where: { $0.hasPrefix("run-as") }), code != "run-as-required" { text.append("run-as = nobody") }
        try (text.joined(separator: "\n") + "\n").write(toFile: scratch.jobs + "/launcher.job", atomically: true, encoding: .utf8)
        let result = try AscribeBinary.run(["run", "launcher", "--jobs", scratch.jobs, "--state", scratch.state,
                                            "--credentials", scratch.root + "/empty-store"] + (isRoot ? [] : ["--dev"]))
        #expect(result.status == 1)
        let events = try scratch.events()
        #expect(events.map { $0["type"] as? String } == ["run.fired", "run.launch_failed"])
        let details = try #require(events.last?["details"] as? [String: Any])
        #expect(details["failure"] as? String == code, "\(details)")
        #expect(!((details["error"] as? String) ?? "").isEmpty)
    }

    @Test(.requires(FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"),
                   "the sqlite3 command-line tool is missing (apt-get install sqlite3): tamper test skipped"))
    func verifyNamesAnEditedEvent() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.job("hello", ["command = /bin/true"])
        for _ in 0..<3 { #expect(try scratch.run("hello").status == 0) }
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        // Triggers stop casual edits; a determined editor drops them first.
        sqlite.arguments = [scratch.state + "/events.db", """
            SELECT name FROM sqlite_master WHERE type = 'trigger';
            """]
        let names = Pipe()
        sqlite.standardOutput = names
        try sqlite.run()
        let triggers = String(decoding: names.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n")
        sqlite.waitUntilExit()
        let edit = Process()
        edit.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        edit.arguments = [scratch.state + "/events.db",
                          triggers.map { "DROP TRIGGER \($0);" }.joined() + "UPDATE events SET reason = 'edited' WHERE seq = 4;"]
        try edit.run()
        edit.waitUntilExit()
        #expect(edit.terminationStatus == 0)
        let verify = try AscribeBinary.run(["verify", "--state", scratch.state])
        #expect(verify.status == 1)
        #expect(verify.stdout.hasPrefix("chain broken at seq 4:"))
    }
}

/// Runs due together: each gets its `run.fired` before anything starts and exactly one
/// terminal event, and the chain stays intact.
@Suite struct RunTogetherTests {
    func job(_ name: String, command: String) throws -> JobDefinition {
        var lines = ["schedule = * * * * *", "identity = \(name)", "owner = test-team <test@example.com>",
                     "shell = /bin/sh", "command = \(command)"]
        if isRoot { lines.append("run-as = nobody") }
        let parsed = JobFile.parse(Array((lines.joined(separator: "\n") + "\n").utf8), path: "/jobs/\(name).job",
                                   zones: { _ in nil })
        return try #require(parsed.definition, "\(parsed.diagnostics)")
    }

    @Test func manyRunsFinishingAtOnceAreEachRecordedOnce() async throws {
        let state = NSTemporaryDirectory() + "ascribe-together-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: state) }
        let store = try EventStore.open(path: state + "/events.db")
        let execution = RunExecution(store: store, environment: RunEnvironment(
            host: "test-host", stateDirectory: state, credentialStore: state + "/credentials", development: !isRoot))
        let quick = try job("quick-runner", command: "exit 0")
        let failing = try job("failing-runner", command: "echo no; exit 4")
        let missing = try job("missing-runner", command: "x")
        var broken = missing
        broken.command = .argv(["/nonexistent/tool"])
        let slot = EventTime(millisecondsSinceEpoch: 1_800_000_000_000)
        var orders = (0..<150).map { RunOrder(job: $0 % 3 == 0 ? failing : quick, definitionHash: nil, scheduledFor: slot) }
        orders.append(RunOrder(job: broken, definitionHash: nil, scheduledFor: slot))

        let reports = await execution.runTogether(orders)
        #expect(reports.count == orders.count)
        #expect(Set(reports.map(\.runID)).count == orders.count)
        for (order, report) in zip(orders, reports) {
            let types = report.events.map(\.content.type)
            #expect(types.count == 2, "\(order.job.name): \(types)")
            #expect(types.first == .runFired)
            #expect(report.events.allSatisfy { $0.content.runID == report.runID && $0.content.scheduledFor == slot })
            switch order.job.name.rawValue {
            case "quick-runner": #expect(types.last == .runSucceeded)
            case "failing-runner": #expect(types.last == .runFailed && report.events.last?.content.exitCode == 4)
            default: #expect(types.last == .runLaunchFailed)
            }
        }
        // Every fired event was written before the first run ended.
        let all = try store.events(matching: EventFilter(order: .oldestFirst))
        let lastFired = try #require(all.lastIndex { $0.content.type == .runFired })
        let firstTerminal = try #require(all.firstIndex { $0.content.type == .runSucceeded || $0.content.type == .runFailed })
        #expect(lastFired < firstTerminal)
        #expect(all.count == orders.count * 2)
        #expect(try store.verify() == .intact(count: orders.count * 2))
    }
}
