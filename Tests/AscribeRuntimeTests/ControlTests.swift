import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeSystem
import AscribeTestSupport

@Suite struct JSONParserTests {
    @Test func readsWhatTheRendererWrites() throws {
        let value: JSONValue = .object([
            ("text", .string("quote \" backslash \\ newline \n tab \t nul \u{0} é 🎉")), ("int", .int(-9_223_372_036_854_775_807)),
            ("list", .array([.bool(true), .bool(false), .null, .object([])])),
        ])
        #expect(try JSONParser.parse(value.rendered) == value)
    }

    @Test func acceptsEscapesAndSurrogatePairs() throws {
        #expect(try JSONParser.parse(#" "\u00e9\ud83c\udf89\/" "#) == .string("é🎉/"))
    }

    @Test(arguments: [
        ("", "unexpected end of input at byte 0"),
        ("{", "expected a string key at byte 1"),
        ("[1,]", "unexpected character at byte 3"),
        ("{\"a\":1,}", "expected a string key at byte 7"),
        ("1.5", "only integers are accepted at byte 1"),
        ("99999999999999999999", "integer out of range at byte 0"),
        ("\"\\ud83c\"", "unpaired surrogate at byte 7"),
        ("\"a\u{1}\"", "control character in a string at byte 2"),
        ("tru", "unexpected word at byte 0"),
        ("{} {}", "unexpected text after the value at byte 3"),
        ("\"\\x\"", "unknown escape at byte 3"),
        ("{\"a\":1,\"b\":2,\"a\":3}", "duplicate key at byte 13"),
        ("[{\"k\":{\"x\":1,\"x\":1}}]", "duplicate key at byte 13"),
    ])
    func refusesWithPosition(input: String, message: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(input) }
        do {
            _ = try JSONParser.parse(input)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func refusesDeepNestingAndInvalidUTF8() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(deep) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    /// Random bytes and every prefix of valid documents: errors, never a trap.
    @Test func neverTrapsOnGarbage() {
        var random = SplitMix64(seed: 42)
        let alphabet = Array(#"{}[]":,\-0123456789eEtrufalsn u"#.utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF]
        var parsed = 0
        for _ in 0..<20_000 {
            let length = Int(random.next() % 40)
            let bytes = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            if (try? JSONParser.parse(bytes)) != nil { parsed += 1 }
        }
        let document = Array(ControlRequest.disable(ControlTarget(name: "reaper"), reason: "rotating \"creds\"").json.rendered.utf8)
        for end in 0..<document.count { #expect((try? JSONParser.parse(Array(document[..<end]))) == nil) }
        #expect(parsed > 0)
    }
}

@Suite struct ControlRequestTests {
    @Test func roundTripsEveryRequest() throws {
        let requests: [ControlRequest] = [
            .status, .run(job: "reaper", reason: nil), .run(job: "reaper", reason: "locks piling up"),
            .disable(ControlTarget(name: "reaper", kind: .identity), reason: "rotating creds"),
            .enable(ControlTarget(name: "reaper"), reason: "rotated"), .reload(reason: nil), .reload(reason: "new job"),
            .rotateKeys(.token, reason: "yearly"), .rotateKeys(.checkpoint, reason: "CHG-2210"),
        ]
        for request in requests {
            #expect(try ControlRequest(line: Array(request.json.rendered.utf8)) == request)
        }
    }

    @Test(arguments: [
        (#"{"request":"disable","target":"reaper"}"#, "\"reason\" is required for disable"),
        (#"{"request":"disable","target":"reaper","reason":"   "}"#, "a reason is required: say why, in words"),
        (#"{"request":"enable","target":"reaper","reason":"x","kind":"user"}"#, "\"kind\" is identity or job, not \"user\""),
        (#"{"request":"shutdown"}"#, "unknown request \"shutdown\" (status, run, disable, enable, reload, rotate-keys)"),
        (#"{"request":"rotate-keys","purpose":"tls","reason":"x"}"#, "\"purpose\" is token or checkpoint, not \"tls\""),
        (#"{"request":"rotate-keys","purpose":"token"}"#, "\"reason\" is required for rotate-keys"),
        (#"{"request":"run","job":7}"#, "\"job\" must be a string"),
        (#"["status"]"#, "a request is a JSON object with a \"request\" field"),
        (#"{"request":"disable","target":"r","reason":"a\nb"}"#, "the reason contains U+000A, a control, line-breaking or direction-changing character"),
        // Two readers taking different copies of a repeated key must never disagree about a request.
        (#"{"request":"disable","target":"r","reason":"ok","reason":"a\u2028b"}"#, "not a JSON request: duplicate key at byte 48"),
        (#"{"request":"status","request":"disable","target":"r","reason":"x"}"#, "not a JSON request: duplicate key at byte 20"),
    ])
    func refusesWithAReason(line: String, message: String) {
        #expect(throws: ControlRequestError(message)) { try ControlRequest(line: Array(line.utf8)) }
    }

    @Test func refusesAnOverlongReason() {
        let line = ControlRequest.disable(ControlTarget(name: "r"), reason: String(repeating: "x", count: 1001)).json.rendered
        #expect(throws: ControlRequestError("the reason is longer than 1000 characters")) { try ControlRequest(line: Array(line.utf8)) }
    }
}

/// The daemon's control socket, in-process with a fake clock; the test process is the client,
/// so the principal the daemon records is whoever runs the tests, as the kernel reports it.
@Suite(.serialized) struct DaemonControlTests {
    let me = Principal.peer(pid: getpid(), uid: UInt32(getuid()))

    /// `@reboot` slots pass the same decision as calendar slots: a job file's `enabled = no`
    /// and an identity disabled in the log are recorded skips at each start, never silent
    /// starts (or silent nothing).
    @Test func rebootSlotsObeyTheSameRules() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("warm", schedule: "@reboot", command: "/bin/true")
        try harness.job("cold", schedule: "@reboot", command: "/bin/true", ["enabled = no"])
        let start = DaemonHarness.startOfHour()
        let first = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: first)
        await DaemonHarness.waitUntilIdle(daemon)
        _ = try await harness.control(.disable(ControlTarget(name: "warm-runner", kind: .identity), reason: "cache host retired"))
        await daemon.stop()
        _ = await task.value

        let second = FakeDaemonClock(now: start.adding(seconds: 600))
        let (again, againTask) = await harness.start(clock: second)
        await DaemonHarness.waitUntilIdle(again)
        await again.stop()
        _ = await againTask.value

        let runs = try harness.events().filter { $0.type.isRun }
        let warm = runs.filter { $0.job == "warm" }
        #expect(warm.map(\.type) == [.runFired, .runSucceeded, .runSkipped])
        #expect(warm.last?.details["skip_reason"] == "identity-disabled" && warm.last?.details["trigger"] == "reboot")
        let cold = runs.filter { $0.job == "cold" }
        #expect(cold.map(\.type) == [.runSkipped, .runSkipped])
        #expect(cold.allSatisfy { $0.details["skip_reason"] == "job-disabled" })
    }

    @Test func disablingAnIdentitySkipsItsSlotsUntilEnabled() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)

        let disabled = try await harness.control(.disable(ControlTarget(name: "reaper-runner"), reason: "rotating db creds"))
        guard case .done(let message, let recorded)? = disabled.last else {
            Issue.record("disable was not done: \(disabled.map(\.json.rendered))")
            return
        }
        #expect(message.hasPrefix("identity reaper-runner disabled (affects reaper)"))
        #expect(recorded.count == 1)
        for _ in 0..<2 {
            clock.advance(by: 900)
            await clock.waitForSleeper()
        }
        let enabled = try await harness.control(.enable(ControlTarget(name: "reaper-runner", kind: .identity), reason: "creds rotated"))
        guard case .done? = enabled.last else {
            Issue.record("enable was not done: \(enabled.map(\.json.rendered))")
            return
        }
        await clock.advance(by: 900, settling: daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let disable = try #require(events.first { $0.type == .identityDisabled })
        #expect(disable.principal == me.name)
        #expect(disable.actor == "ascribe-scheduler@testhost")
        #expect(disable.identity == "reaper-runner")
        #expect(disable.reason == "rotating db creds")
        #expect(disable.details["peer_pid"] == String(getpid()))
        #expect(disable.details["peer_uid"] == String(getuid()))
        let skipped = events.filter { $0.type == .runSkipped }
        #expect(skipped.map(\.scheduledFor) == [EventTime(start.adding(seconds: 900)), EventTime(start.adding(seconds: 1800))])
        #expect(skipped.allSatisfy {
            $0.details["skip_reason"] == "identity-disabled" && $0.details["disabled_by"] == me.name
                && $0.details["disabled_reason"] == "rotating db creds" && $0.details["disabled_seq"] == String(disable.seq)
        })
        let enable = try #require(events.first { $0.type == .identityEnabled })
        #expect(enable.principal == me.name && enable.reason == "creds rotated")
        #expect(events.filter { $0.type == .runFired }.map(\.scheduledFor) == [EventTime(start.adding(seconds: 2700))])

        // `why` tells the on-call who turned it off, when and why.
        let skip = try #require(skipped.first)
        #expect(SlotHistory.skipWords(skip)
            == "identity reaper-runner was disabled by \(me.name) at \(disable.time.rfc3339) (\"rotating db creds\") [seq \(disable.seq)]")
    }

    @Test func aDisableSurvivesARestartAndShowsInStatus() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("report", schedule: "0 * * * *", command: "/bin/true")
        try harness.job("other", schedule: "30 * * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        var (daemon, task) = await harness.start(clock: clock)
        _ = try await harness.control(.disable(ControlTarget(name: "report", kind: .job), reason: "report server down"))
        await daemon.stop()
        _ = await task.value

        (daemon, task) = await harness.start(clock: clock)
        let replies = try await harness.control(.status)
        guard case .status(let status)? = replies.last else {
            Issue.record("no status: \(replies.map(\.json.rendered))")
            return
        }
        let disabled = try #require(status["disabled"]?.arrayValue)
        #expect(disabled.count == 1)
        #expect(disabled.first?["kind"] == .string("job") && disabled.first?["name"] == .string("report"))
        #expect(disabled.first?["by"] == .string(me.name) && disabled.first?["reason"] == .string("report server down"))
        // The disabled job has no next slot; the other one does.
        #expect(status["next"]?.arrayValue?.compactMap { $0["job"]?.stringValue } == ["other"])
        #expect(status["pid"]?.intValue == Int64(getpid()))

        await clock.advance(by: 3600, settling: daemon)
        await daemon.stop()
        _ = await task.value
        let events = try harness.events()
        let skipped = try #require(events.first { $0.type == .runSkipped })
        #expect(skipped.job == "report" && skipped.details["skip_reason"] == "job-disabled")
        #expect(skipped.details["disabled_by"] == me.name)
        #expect(!events.contains { $0.type == .runFired && $0.job == "report" })
    }

    @Test func aManualRunGoesThroughTheDaemonWithTheCallerAsPrincipal() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("drill", schedule: "0 0 1 1 *", command: "/bin/sh -c 'echo drilling; exit 3'")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock)

        let replies = try await harness.control(.run(job: "drill", reason: "quarterly drill"))
        #expect(replies.count == 4)
        guard case .runStarted(let runID, let pid)? = replies.first, case .runEnded(let succeeded, let message)? = replies.last else {
            Issue.record("unexpected replies: \(replies.map(\.json.rendered))")
            return
        }
        #expect(pid > 0 && !succeeded)
        #expect(message.contains("exited with status 3"))

        _ = try await harness.control(.disable(ControlTarget(name: "drill", kind: .job), reason: "drills paused"))
        let refused = try await harness.control(.run(job: "drill", reason: "one more"))
        guard case .refused(.notRun, let refusal)? = refused.last else {
            Issue.record("a disabled job's manual run was not refused: \(refused.map(\.json.rendered))")
            return
        }
        #expect(refusal.contains("job drill was disabled by \(me.name)"))
        let unknown = try await harness.control(.run(job: "nope", reason: nil))
        guard case .refused(.unknownTarget, _)? = unknown.last else {
            Issue.record("an unknown job was not refused: \(unknown.map(\.json.rendered))")
            return
        }
        await DaemonHarness.waitUntilIdle(daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let fired = try #require(events.first { $0.type == .runFired })
        #expect(fired.runID == runID && fired.principal == me.name && fired.reason == "quarterly drill")
        #expect(fired.scheduledFor == nil && fired.details["trigger"] == "manual")
        let failed = try #require(events.first { $0.type == .runFailed })
        #expect(failed.runID == runID && failed.exitCode == 3 && failed.principal == me.name)
        let skipped = try #require(events.first { $0.type == .runSkipped })
        #expect(skipped.principal == me.name && skipped.details["trigger"] == "manual")
        #expect(skipped.details["skip_reason"] == "job-disabled")
    }

    @Test func aReloadThroughTheSocketNamesWhoAskedForIt() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock)
        try harness.job("report", schedule: "0 7 * * *", command: "/bin/true")
        let replies = try await harness.control(.reload(reason: "added report.job, CHG-1182"))
        guard case .done(let message, _)? = replies.last else {
            Issue.record("reload was not done: \(replies.map(\.json.rendered))")
            return
        }
        #expect(message == "2 job(s) loaded; added report; changed none; removed none")
        await daemon.stop()
        _ = await task.value
        let loaded = try #require(try harness.events().last { $0.type == .configLoaded })
        #expect(loaded.principal == me.name && loaded.details["requested_reason"] == "added report.job, CHG-1182")
        #expect(loaded.details["added"]?.hasPrefix("report=") == true)
        #expect(loaded.reason?.hasSuffix("at the request of \(me.name)") == true)
    }

    /// Garbage, oversized and half-written requests, a thousand connections at once and clients
    /// that never read: each gets an answer or is dropped, and the daemon keeps answering.
    @Test func hostileClientsDoNotStallTheDaemon() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock)
        let path = ControlClient.socketPath(stateDirectory: harness.state)

        #expect(try await RawControlClient.exchange(path, Array("not json at all\n".utf8)).hasPrefix(#"{"reply":"refused","code":"bad-request""#))
        let oversized = [UInt8](repeating: UInt8(ascii: "x"), count: ControlRequest.maximumBytes + 10)
        #expect(try await RawControlClient.exchange(path, oversized).contains("longer than 65536 bytes"))

        // A thousand half-written requests at once, left open (each holds its connection until
        // the 5 s request deadline): the daemon keeps 256 and tells the rest it is busy.
        var idle: [Int32] = []
        for _ in 0..<1000 {
            let descriptor = try SystemCalls.connectUnix(to: path)
            // Past the limit the daemon may already have said "busy" and closed.
            try? SystemCalls.sendAll(descriptor, Array(#"{"request":"sta"#.utf8))
            idle.append(descriptor)
        }
        #expect(try await RawControlClient.exchange(path, Array(#"{"request":"status"}"#.utf8 + [0x0A])).contains(#""code":"busy""#))
        for descriptor in idle { SystemCalls.close(descriptor) }
        // Clients that ask and never read their reply.
        var silent: [Int32] = []
        for _ in 0..<20 {
            let descriptor = try SystemCalls.connectUnix(to: path)
            try SystemCalls.sendAll(descriptor, Array(#"{"request":"status"}"#.utf8 + [0x0A]))
            silent.append(descriptor)
        }
        defer { for descriptor in silent { SystemCalls.close(descriptor) } }
        // The flood gone and silent clients still connected, a normal request is answered.
        var answered = false
        for _ in 0..<200 where !answered {
            if case .status? = try? await harness.control(.status).last { answered = true } else { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(answered)
        await daemon.stop()
        #expect(await task.value == .stopped)
        // The flood's busy refusals: one recorded, the rest counted into the next.
        let refusals = try harness.events().filter { $0.type == .controlRefused }
        #expect(refusals.count == 1)
        #expect(refusals.first?.details["refusal"] == "busy" && refusals.first?.details["peer_uid"] == String(getuid()))
    }
}

/// Writes raw bytes to the socket and reads one reply line.
enum RawControlClient {
    static func exchange(_ path: String, _ bytes: [UInt8]) async throws -> String {
        try await offThePool { try exchangeNow(path, bytes) }
    }

    private static func exchangeNow(_ path: String, _ bytes: [UInt8]) throws -> String {
        let descriptor = try SystemCalls.connectUnix(to: path)
        defer { SystemCalls.close(descriptor) }
        try SystemCalls.setReceiveTimeout(descriptor, milliseconds: 10_000)
        _ = try? SystemCalls.sendNow(descriptor, bytes[...])
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(0x0A), case .bytes(let count) = try SystemCalls.read(descriptor, into: &buffer) {
            reply += buffer[..<count]
        }
        return String(decoding: reply, as: UTF8.self)
    }
}

/// Who may control the daemon, checked with real users: needs root (it switches to `nobody`
/// and creates a group); elsewhere the framework skips it with that reason.
@Suite(.serialized, .requires(isRoot, "needs root to switch to nobody and create a group (CI runs as root)"))
struct ControlAccessTests {
    @Test func aNonMemberIsRefusedByTheSocketModeAndAgainByTheDaemon() async throws {
        let groupName = "ascribe-ctl-\(getpid())"
        #expect(AscribeBinary.shell("groupadd \(groupName)") == 0)
        defer { _ = AscribeBinary.shell("groupdel \(groupName)") }
        guard case .found(let gid) = AccountDatabase.group(named: groupName) else {
            Issue.record("groupadd did not create \(groupName)")
            return
        }
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock) {
            $0.control = ControlAccess(group: ControlAccess.Group(name: groupName, gid: gid))
        }
        let socket = ControlClient.socketPath(stateDirectory: harness.state)
        let socketStatus = try FileStatus(path: socket, followingLinks: false)
        let stateStatus = try FileStatus(path: harness.state, followingLinks: false)
        #expect(socketStatus.kind == .socket && socketStatus.permissions == 0o660 && socketStatus.group == gid)
        #expect(stateStatus.permissions == 0o710 && stateStatus.group == gid)
        #expect(try FileStatus(path: harness.storePath, followingLinks: false).permissions == 0o600)

        let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let member = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--groups=\(gid)"]
        // Not in the group: the kernel refuses the connection (mode 0660).
        let outsider = try await offThePool { try AscribeBinary.run(["status", "--state", harness.state], wrapper: nobody) }
        #expect(outsider.status == 1)
        #expect(outsider.stderr.contains("permission denied on \(socket)"))
        // In the group: served.
        let insider = try await offThePool { try AscribeBinary.run(["status", "--state", harness.state, "--json"], wrapper: member) }
        #expect(insider.status == 0)
        #expect(insider.stdout.contains(#""reply":"status""#))

        // A mode loosened by hand lets anyone connect; the daemon still refuses and records it.
        #expect(chmod(socket, 0o666) == 0 && chmod(harness.state, 0o711) == 0)
        let refused = try await offThePool { try AscribeBinary.run(["disable", "reaper", "--reason", "let me in", "--state", harness.state], wrapper: nobody) }
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("nobody may not control this daemon: only root and members of group \(groupName) may"))
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let refusal = try #require(events.first { $0.type == .controlRefused })
        // Whatever login uid the caller carries, a non-root caller is named by its own uid.
        #expect(refusal.principal == "nobody")
        #expect(refusal.details["peer_uid"] == "65534" && refusal.details["request"] == "disable")
        #expect(!events.contains { $0.type == .identityDisabled || $0.type == .jobDisabled })
        #expect(try EventStore.open(path: harness.storePath, access: .readOnly).verify() == .intact(count: events.count))
    }
}

/// Job files edited while the daemon runs are reloaded without a SIGHUP.
@Suite struct JobDirectoryWatchTests {
    /// Polls the log (real time, bounded) until `condition` holds for its events.
    static func waitForEvents(_ harness: DaemonHarness, _ condition: ([Event]) -> Bool) async throws -> [Event] {
        for _ in 0..<200 {
            let events = try harness.events()
            if condition(events) { return events }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try harness.events()
    }

    @Test func addedBrokenAndVanishedFilesAreReloadedWithoutASignal() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock) { $0.watchJobsDirectory = true }

        try harness.job("report", schedule: "0 7 * * *", command: "/bin/true")
        var events = try await Self.waitForEvents(harness) { $0.contains { $0.type == .configLoaded && $0.details["added"]?.hasPrefix("report=") == true } }
        let added = try #require(events.last { $0.type == .configLoaded })
        #expect(added.reason?.contains("on file change: report.job") == true)

        // An editor's swap file is not a change; a broken save is rejected and the old definition kept.
        try "junk".write(toFile: harness.jobs + "/.reaper.job.swp", atomically: false, encoding: .utf8)
        try "schedule = */15 * * *\n".write(toFile: harness.jobs + "/reaper.job", atomically: true, encoding: .utf8)
        events = try await Self.waitForEvents(harness) { $0.contains { $0.type == .configRejected } }
        let rejected = try #require(events.first { $0.type == .configRejected })
        #expect(rejected.job == "reaper" && rejected.details["kept"] != nil)
        #expect(rejected.configSource?.hasSuffix("reaper.job:1") == true)

        // The whole directory vanishing keeps every definition in force.
        try FileManager.default.moveItem(atPath: harness.jobs, toPath: harness.jobs + ".away")
        events = try await Self.waitForEvents(harness) { $0.contains { $0.reason?.hasPrefix("reload failed") == true } }
        #expect(events.contains { $0.type == .configRejected && $0.reason?.hasPrefix("reload failed, every previous definition stays in force") == true })
        await daemon.stop()
        _ = await task.value
        events = try harness.events()
        #expect(!events.contains { $0.type == .configLoaded && ($0.details["removed"] ?? "") != "" })
        // Start, the added file, the rejected save (nothing changed); the vanished directory is a rejection only.
        let loads = events.filter { $0.type == .configLoaded }
        #expect(loads.count == 3)
        #expect(loads.last?.details["changed"] == "" && loads.last?.details["added"] == "")
    }
}
