import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// `ascribe run` without a daemon follows the daemon's rules (one `RunDecision`): `enabled =
/// no`, what the log disables and a run in progress refuse the run, recorded as `run.skipped`
/// (trigger manual, the caller as principal), exit 1; root may `--force`, and it is recorded.
@Suite struct LocalRunRuleTests {
    typealias Scratch = RunCommandTests.Scratch

    static func skipped(_ events: [[String: Any]]) -> [String: Any]? {
        events.first { $0["type"] as? String == "run.skipped" }
    }

    @Test func aJobDisabledByItsFileIsRefusedAndRecorded() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let marker = scratch.drop + "/ran"
        try scratch.job("paused", ["command = /usr/bin/touch \(marker)", "enabled = no"])
        let result = try scratch.run("paused", ["--reason", "try it"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("manual run not started: job paused is disabled by its job file \(scratch.jobs)/paused.job:"))
        #expect(!FileManager.default.fileExists(atPath: marker))
        let events = try scratch.events()
        #expect(events.map { $0["type"] as? String } == ["run.skipped"])
        let skipped = try #require(Self.skipped(events))
        let details = try #require(skipped["details"] as? [String: String])
        #expect(details["trigger"] == "manual" && details["skip_reason"] == "job-disabled")
        #expect(skipped["principal"] as? String == Principal.current().name)
        #expect(skipped["actor"] as? String == "ascribe-scheduler@\(HostName.current())")
    }

    @Test func anIdentityDisabledInTheLogIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.job("reaper", ["command = /bin/true"])
        let store = try EventStore.open(path: DefaultPaths.eventStore(stateDirectory: scratch.state))
        try store.append(EventDraft(time: .now(), host: HostName.current(), type: .identityDisabled,
                                    actor: "ascribe-scheduler@\(HostName.current())", principal: "alice",
                                    identity: "reaper-runner", reason: "rotating db creds"))
        let result = try scratch.run("reaper")
        #expect(result.status == 1)
        #expect(result.stderr.contains("identity reaper-runner was disabled by alice"))
        let events = try scratch.events()
        #expect(!events.contains { $0["type"] as? String == "run.fired" })
        let details = try #require(Self.skipped(events)?["details"] as? [String: String])
        #expect(details["skip_reason"] == "identity-disabled" && details["disabled_by"] == "alice")
        #expect(details["disabled_reason"] == "rotating db creds")
    }

    /// A first `ascribe run` still running (its job waits on a FIFO): a second one is refused
    /// as overlap, naming the run in progress; then the first is released and ends normally.
    @Test func aRunInProgressRefusesASecondOne() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let gate = scratch.drop + "/gate"
        #expect(mkfifo(gate, 0o666) == 0 && chmod(gate, 0o666) == 0)
        try scratch.job("slow", ["shell = /bin/sh", "command = read line < \(gate)"])
        func start() throws -> (Process, Pipe) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: AscribeBinary.path)
            process.arguments = ["run", "slow", "--jobs", scratch.jobs, "--state", scratch.state] + (isRoot ? [] : ["--dev"])
            let err = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = err
            try process.run()
            return (process, err)
        }
        let (first, _) = try start()
        var runs = [first]
        defer {
            // Release every job waiting on the FIFO (one line per open), whatever happened above.
            while runs.contains(where: \.isRunning) {
                let writer = open(gate, O_WRONLY | O_NONBLOCK)
                if writer >= 0 {
                    _ = write(writer, "\n", 1)
                    close(writer)
                }
                usleep(5000)
            }
        }
        func fired() throws -> [[String: Any]] { try scratch.events().filter { $0["type"] as? String == "run.fired" } }
        while try fired().isEmpty, first.isRunning { usleep(10_000) }
        let runID = try #require(try fired().first?["run_id"] as? String)

        let (second, secondErr) = try start()
        runs.append(second)
        // Refused, it ends at once; started (the old behaviour), it fires and waits on the gate.
        while second.isRunning, try fired().count < 2 { usleep(10_000) }
        try #require(try fired().count == 1, "the second run started")
        second.waitUntilExit()
        #expect(second.terminationStatus == 1)
        let stderr = String(decoding: secondErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("run \(runID) of slow is still in progress"))
        let details = Self.skipped(try scratch.events())?["details"] as? [String: String]
        #expect(details?["skip_reason"] == "overlap" && details?["running_run_id"] == runID)
    }

    @Test(.requires(isRoot, "--force is root's: needs root (CI runs as root)"))
    func rootForcesADisabledJobAndTheForceIsRecorded() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.job("paused", ["command = /bin/true", "enabled = no"])
        let result = try scratch.run("paused", ["--force"])
        #expect(result.status == 0)
        let events = try scratch.events()
        #expect(events.map { $0["type"] as? String } == ["run.fired", "run.succeeded"])
        let details = try #require(events.first?["details"] as? [String: String])
        #expect(details["forced"] == "yes" && details["overrode"] == "job-disabled")
        #expect(details["overrode_reason"]?.contains("disabled by its job file") == true)
    }

    @Test func forceByAnyoneButRootIsAUsageError() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.job("paused", ["command = /bin/true", "enabled = no"])
        let wrapper = isRoot ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        let result = try AscribeBinary.run(["run", "paused", "--jobs", scratch.jobs, "--state", scratch.state, "--force", "--dev"],
                                           wrapper: wrapper)
        #expect(result.status == 2)
        #expect(result.stderr.contains("--force is for root only"))
    }
}
