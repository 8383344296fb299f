import Foundation
import Synchronization
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// What a daemon printed as problems (its stderr in production).
final class ProblemLog: Sendable {
    let lines = Mutex<[String]>([])
}

/// Faults in-process (a fake clock, real job processes): the store full or locked, the wall
/// clock stepped, the jobs directory gone and back. Each ends with `FaultChecks.check`:
/// nothing recorded before the fault is lost or altered, every `run.fired` has exactly one
/// terminal event, and the chain verifies.
@Suite(.serialized) struct StoreFaultTests {
    /// A daemon with its problems (what it prints on stderr) collected.
    static func start(_ harness: DaemonHarness, clock: FakeDaemonClock, retry: Duration = .seconds(3600))
        async -> (Daemon, Task<DaemonOutcome, Never>, ProblemLog) {
        let problems = ProblemLog()
        var configuration = harness.configuration()
        configuration.storeRetryInterval = retry
        let daemon = Daemon(configuration: configuration, clock: clock) { output in
            if case .problem(let text) = output { problems.lines.withLock { $0.append(text) } }
        }
        let task = Task { await daemon.run() }
        await clock.waitForSleeper()
        return (daemon, task, problems)
    }

    static func minute(_ clock: FakeDaemonClock, _ daemon: Daemon, count: Int = 1) async {
        for _ in 0..<count {
            await clock.advance(by: 60, settling: daemon)
        }
    }

    /// The state directory's filesystem full for 102 minutes: nothing starts, status and the
    /// daemon's problem output say why, and when space returns the gap is recorded by itself as
    /// `run.skipped` (`store-unwritable`): one per slot, collapsed past 100 slots of a job.
    @Test(.requires(TmpfsMount.permitted, TmpfsMount.refused))
    func aFullFilesystemStartsNothingAndRecordsTheGapAsSkippedSlots() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        let mount = try TmpfsMount(path: harness.state, size: "1m")
        defer { mount.unmount() }
        try harness.job("minutely", schedule: "* * * * *", command: "/bin/true")
        try harness.job("even", schedule: "*/2 * * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task, problems) = await Self.start(harness, clock: clock)
        await Self.minute(clock, daemon, count: 2)
        let before = try FaultChecks.events(harness.storePath)

        try mount.fill(storePath: harness.storePath)
        await Self.minute(clock, daemon, count: 102)
        let status = await daemon.statusJSON(now: clock.now())
        let problem = try #require(status["store_problem"])
        #expect(problem["since"]?.stringValue == EventTime(start.adding(seconds: 180)).rfc3339)
        #expect(problem["error"]?.stringValue?.contains("full") == true)
        #expect(problem["unrecorded_slots"]?.intValue == Int64(102 + 51))
        #expect(problems.lines.withLock { $0 }.contains { $0.contains("cannot be written") && $0.contains("nothing starts") })

        mount.free()
        await Self.minute(clock, daemon)
        #expect(await daemon.statusJSON(now: clock.now())["store_problem"] == .null)
        await daemon.stop()
        _ = await task.value

        let events = try FaultChecks.check(harness.storePath, keeps: before)
        let gap = (start.adding(seconds: 180)...start.adding(seconds: 104 * 60))
        #expect(!events.contains { $0.type == .runFired && $0.scheduledFor.map { gap.contains($0.instant) } == true })
        let skipped = events.filter { $0.type == .runSkipped }
        #expect(skipped.allSatisfy { $0.details["skip_reason"] == "store-unwritable" && $0.reason?.contains("full") == true })
        let collapsed = try #require(skipped.first { $0.job == "minutely" })
        #expect(skipped.filter { $0.job == "minutely" }.count == 1)
        #expect(collapsed.details["count"] == "102")
        #expect(collapsed.details["first"] == EventTime(start.adding(seconds: 180)).rfc3339)
        #expect(skipped.filter { $0.job == "even" }.count == 51)
        #expect(events.contains { $0.type == .daemonHeartbeat && $0.details["store_unwritable_from"] != nil })
        #expect(problems.lines.withLock { $0 }.contains { $0.contains("can be written again") })

        let definitions = try FaultChecks.definitions(harness.jobs)
        let end = start.adding(seconds: 105 * 60)
        for job in definitions {
            let outcomes = FaultChecks.outcomes(of: job.name.rawValue, in: events, schedule: job)
            let slots = SlotHistory.slots(of: job, zone: .utc, window: .range(since: start.adding(seconds: 1), until: end))
            #expect(slots.allSatisfy { outcomes[EventTime($0).millisecondsSinceEpoch] == 1 }, "\(job.name): a slot without exactly one outcome")
            #expect(try FaultChecks.slotsWithoutRecord(harness.storePath, job: job, since: start, until: end).isEmpty)
        }
    }

    /// Another process holds `BEGIN EXCLUSIVE` past the 10 s busy timeout: the slot's run is
    /// not started, status says the store is locked, and once the lock goes the slot is
    /// recorded as skipped and the next one fires.
    @Test func aStoreLockedPastTheBusyTimeoutFailsClosedAndRecovers() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("minutely", schedule: "* * * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task, _) = await Self.start(harness, clock: clock)
        await Self.minute(clock, daemon)
        let before = try FaultChecks.events(harness.storePath)

        let blocker = try SQLiteDatabase(path: harness.storePath, access: .readWrite)
        try blocker.execute("BEGIN EXCLUSIVE")
        await Self.minute(clock, daemon)
        let problem = await daemon.statusJSON(now: clock.now())["store_problem"]
        #expect(problem?["error"]?.stringValue?.contains("locked") == true)
        try blocker.execute("COMMIT")
        await Self.minute(clock, daemon)
        await daemon.stop()
        _ = await task.value

        let events = try FaultChecks.check(harness.storePath, keeps: before)
        let skipped = events.filter { $0.type == .runSkipped }
        #expect(skipped.map(\.scheduledFor) == [EventTime(start.adding(seconds: 120))])
        #expect(skipped.first?.details["skip_reason"] == "store-unwritable")
        let fired = events.filter { $0.type == .runFired }.compactMap(\.scheduledFor)
        #expect(fired == [EventTime(start.adding(seconds: 60)), EventTime(start.adding(seconds: 180))])
    }
}

@Suite(.serialized) struct ClockFaultTests {
    /// Forward and backward steps, small (< 3 h) and large. Invariants only (the step rules
    /// follow Debian's): the chain is intact, every run has one end, every slot of the period
    /// has an outcome, a fixed-time job's slot has exactly one outcome and never two
    /// `run.fired`; a wildcard job's slots have exactly one outcome outside the wall-clock
    /// time a backward step repeats (Debian runs wildcard jobs again there).
    @Test func forwardAndBackwardStepsAccountForEverySlot() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("minutely", schedule: "* * * * *", command: "/bin/true")
        // Slots near the real time (run.fired carries the real time); the fixed-time job names
        // its hours (Debian calls a job with `*` in minute or hour a wildcard job).
        let hour = DaemonHarness.startOfHour()
        func at(_ minutes: Int64) -> Instant { hour.adding(seconds: minutes * 60) }
        let firstHour: Int64 = hour.secondsSinceEpoch / 3600
        let hours: String = (Int64(0)..<6).map { (offset: Int64) -> String in String((firstHour + offset) % 24) }
            .joined(separator: ",")
        try harness.job("fixed", schedule: "0,30 \(hours) * * *", command: "/bin/true")
        let start = at(-10)
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock)
        await StoreFaultTests.minute(clock, daemon, count: 40)
        var before = try FaultChecks.events(harness.storePath)
        // Back 15 min, forward 30 min, forward 4 h, back 4 h (stopping before a fixed slot repeats).
        let steps: [(seconds: Int64, minutes: Int)] = [(-900, 16), (1800, 9), (14_400, 5), (-14_400, 10)]
        for (step, minutes) in steps {
            clock.step(by: step)
            await clock.waitForSleeper()
            await DaemonHarness.waitUntilIdle(daemon)
            await StoreFaultTests.minute(clock, daemon, count: minutes)
            before = try FaultChecks.check(harness.storePath, keeps: before)
        }
        await daemon.stop()
        _ = await task.value

        let events = try FaultChecks.check(harness.storePath, keeps: before)
        let definitions = try FaultChecks.definitions(harness.jobs)
        let end = at(315)
        let repeated = [at(15)...at(30), at(75)...at(315)]
        for job in definitions {
            let outcomes = FaultChecks.outcomes(of: job.name.rawValue, in: events, schedule: job)
            let slots = SlotHistory.slots(of: job, zone: .utc, window: .range(since: start.adding(seconds: 1), until: end))
            #expect(!slots.isEmpty)
            for slot in slots {
                let count = outcomes[EventTime(slot).millisecondsSinceEpoch] ?? 0
                let exact = job.name.rawValue == "fixed" || !repeated.contains { $0.contains(slot) && slot != $0.lowerBound }
                #expect(exact ? count == 1 : count >= 1, "\(job.name) slot \(EventTime(slot).rfc3339): \(count) outcomes")
            }
            #expect(try FaultChecks.slotsWithoutRecord(harness.storePath, job: job, since: start, until: end).isEmpty)
        }
        let fixedFired = events.filter { $0.type == .runFired && $0.job == "fixed" }.compactMap(\.scheduledFor)
        #expect(Set(fixedFired).count == fixedFired.count)
        #expect(events.contains { $0.details["clock"]?.contains("stepped back") == true })
        #expect(events.contains { $0.details["clock"]?.contains("jumped forward") == true })
    }
}

@Suite(.serialized) struct JobsDirectoryFaultTests {
    /// The jobs directory vanishes (every definition stays in force and keeps firing), is
    /// edited elsewhere, and comes back: its return reloads the change.
    @Test func aVanishedJobsDirectoryKeepsEveryDefinitionAndItsReturnReloads() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("steady", schedule: "* * * * *", command: "/bin/true")
        let start = DaemonHarness.startOfHour()
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock) { $0.watchJobsDirectory = true }
        await StoreFaultTests.minute(clock, daemon)
        let before = try FaultChecks.events(harness.storePath)

        let away = harness.root + "/jobs.away"
        try FileManager.default.moveItem(atPath: harness.jobs, toPath: away)
        #expect(try await Self.waitFor(harness) { $0.type == .configRejected && $0.reason?.contains("stays in force") == true })
        await StoreFaultTests.minute(clock, daemon, count: 2)
        try "schedule = * * * * *\nidentity = steady-runner\nowner = test-team <test@example.com>\ncommand = /bin/echo back\n"
            .appending(isRoot ? "run-as = nobody\n" : "")
            .write(toFile: away + "/steady.job", atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: away, toPath: harness.jobs)
        #expect(try await Self.waitFor(harness) { $0.type == .configLoaded && $0.details["changed"]?.hasPrefix("steady=") == true })
        await StoreFaultTests.minute(clock, daemon)
        await daemon.stop()
        _ = await task.value

        let events = try FaultChecks.check(harness.storePath, keeps: before)
        let fired = events.filter { $0.type == .runFired }.compactMap(\.scheduledFor)
        #expect(fired == (1...4).map { EventTime(start.adding(seconds: Int64($0) * 60)) })
        #expect(events.last { $0.type == .runSucceeded }?.outputTail == "back\n")
    }

    /// Polls the log (real time, up to 15 s) for an event.
    static func waitFor(_ harness: DaemonHarness, _ match: @escaping @Sendable (Event) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if try harness.events().contains(where: match) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

/// Faults of the real `ascribe daemon` process.
@Suite(.serialized) struct DaemonProcessFaultTests {
    /// A busy directory: every-minute jobs with short sleeps (one queues, one allows overlap,
    /// one catches up), and an `@reboot` job, so every start has work in flight.
    static func busyJobs(_ harness: DaemonHarness) throws {
        try harness.job("sleeper-a", schedule: "* * * * *", command: "/bin/sleep 0.4")
        try harness.job("sleeper-b", schedule: "* * * * *", command: "/bin/sleep 0.2", ["overlap = allow"])
        try harness.job("queued", schedule: "* * * * *", command: "/bin/sleep 0.3", ["overlap = queue"])
        try harness.job("catcher", schedule: "* * * * *", command: "/bin/true", ["catch-up = once"])
        try harness.job("booted", schedule: "@reboot", command: "/bin/sleep 0.3")
    }

    /// kill -9 at random moments (start-up, the lost-run scan, `@reboot` runs, manual runs
    /// through the socket), 50 times, restarting each time; then a clean run. Afterwards: every
    /// `run.fired` has exactly one terminal event, no daemon fired anything before accounting
    /// for every earlier run, every slot of the period has an outcome, and the chain verifies.
    @Test func fiftyKillsDuringABusyScheduleLoseNothing() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try Self.busyJobs(harness)
        var (random, seed) = SeededGenerator.fromEnvironment("fiftyKillsDuringABusyScheduleLoseNothing")
        let first = Instant(secondsSinceEpoch: Int64(Date().timeIntervalSince1970))
        var before: [Event] = []
        var clients: [Process] = []
        for round in 0..<50 {
            let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
            let delay = Double.random(in: 0.0...1.2, using: &random)
            // A manual run goes through the daemon only once it listens (before that the client
            // would find the dead daemon's socket and run the job itself).
            if Bool.random(using: &random), try daemon.waitUntilAnswering() {
                Thread.sleep(forTimeInterval: delay / 2)
                let client = Process()
                client.executableURL = URL(fileURLWithPath: AscribeBinary.path)
                client.arguments = ["run", ["sleeper-a", "sleeper-b", "catcher"].randomElement(using: &random) ?? "catcher",
                                    "--state", harness.state, "--jobs", harness.jobs, "--reason", "fault round \(round)"]
                client.standardOutput = FileHandle.nullDevice
                client.standardError = FileHandle.nullDevice
                try client.run()
                clients.append(client)
                Thread.sleep(forTimeInterval: delay / 2)
            } else {
                Thread.sleep(forTimeInterval: delay)
            }
            daemon.signal(SIGKILL)
            daemon.process.waitUntilExit()
            for client in clients { client.waitUntilExit() }
            clients = []
            if FileManager.default.fileExists(atPath: harness.storePath) {
                before = try FaultChecks.check(harness.storePath, keeps: before, runsEnded: false)
            }
        }
        let last = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        #expect(try last.waitUntilAnswering())
        let lastStart = Instant(secondsSinceEpoch: Int64(Date().timeIntervalSince1970))
        #expect(last.stop() == 0)
        #expect(try AscribeBinary.run(["verify", "--state", harness.state]).status == 0)

        let events = try FaultChecks.check(harness.storePath, keeps: before)
        let starts = events.filter { $0.type == .daemonStarted }
        print("fiftyKillsDuringABusyScheduleLoseNothing: seed \(seed), \(starts.count) starts recorded, \(events.count) events, "
              + "\(events.filter { $0.type == .runFired }.count) runs, \(events.filter { $0.type == .runLost }.count) lost, "
              + "\(events.filter { $0.type == .runMissed }.count) missed")
        #expect(starts.count >= 2)
        let terminalSeq = Dictionary(events.filter { $0.type.isRunTerminal }.compactMap { event in event.runID.map { ($0, event.seq) } }) { $1 }
        for (index, start) in starts.enumerated() {
            let end = index + 1 < starts.count ? starts[index + 1].seq : Int64.max
            guard let firstFire = events.first(where: { $0.type == .runFired && $0.seq > start.seq && $0.seq < end }) else { continue }
            // Runs whose processes outlived their daemon are adopted by the start, not ended.
            let adopted = Set(events.filter { $0.type == .daemonHeartbeat && $0.seq > start.seq && $0.seq < firstFire.seq }
                .flatMap { ($0.details["adopted_runs"] ?? "").split(separator: ",").map(String.init) })
            for fired in events where fired.type == .runFired && fired.seq < start.seq {
                if let runID = fired.runID, adopted.contains(runID) { continue }
                let ended = fired.runID.flatMap { terminalSeq[$0] } ?? .max
                #expect(ended < firstFire.seq, "seed \(seed): the daemon started at seq \(start.seq) fired before accounting for run \(fired.runID ?? "")")
            }
        }
        for lost in events where lost.type == .runLost {
            let firedSeq = lost.details["fired_seq"].flatMap(Int64.init) ?? 0
            #expect(starts.contains { $0.seq > firedSeq && $0.seq < lost.seq }, "seed \(seed): run.lost \(lost.seq) not recorded by a later start")
        }
        for job in try FaultChecks.definitions(harness.jobs) where job.schedule != .reboot {
            let missing = try FaultChecks.slotsWithoutRecord(harness.storePath, job: job, since: first, until: lastStart)
            #expect(missing.isEmpty, "seed \(seed): \(job.name) slots with no record: \(missing.map { EventTime($0).rfc3339 })")
        }
    }

    /// Issue 14: the daemon signing checkpoints (`--keys` in the test's directory, never
    /// /etc/ascribe/keys; `--witness-file`) is killed with SIGKILL at random moments of a busy
    /// schedule — during start-up, while runs are in flight, right after SIGTERM while the
    /// shutdown checkpoint is being signed — and restarted, with a clean stop every third round
    /// so shutdown checkpoints land between the kills. Afterwards `ascribe verify --checkpoint`
    /// finds that the log extends every checkpoint in the witness file, and the chain verifies;
    /// the witness file holds exactly the log's own `checkpoint.signed` notes, in order, and no
    /// restart ever refused to sign (a refusal means the tree no longer extends a signed view).
    @Test func killsWhileSigningCheckpointsLeaveCheckpointsTheLogExtends() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try Self.busyJobs(harness)
        var (random, seed) = SeededGenerator.fromEnvironment("killsWhileSigningCheckpointsLeaveCheckpointsTheLogExtends")
        let witnessFile = harness.root + "/witness"
        let arguments = ["--keys", harness.root + "/keys", "--witness-file", witnessFile]
        var before: [Event] = []
        for round in 0..<12 {
            let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr-\(round)",
                                           extra: arguments)
            if round % 3 == 2 {
                #expect(try daemon.waitUntilAnswering(), "seed \(seed): round \(round): \(daemon.stderr)")
                Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.8, using: &random))
                #expect(daemon.stop() == 0, "seed \(seed): round \(round): \(daemon.stderr)")
            } else {
                Thread.sleep(forTimeInterval: Double.random(in: 0.0...1.2, using: &random))
                if Bool.random(using: &random) {
                    // Into the shutdown: the final checkpoint is signed, recorded and appended.
                    daemon.signal(SIGTERM)
                    Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.05, using: &random))
                }
                daemon.signal(SIGKILL)
                daemon.process.waitUntilExit()
            }
            #expect(!daemon.stderr.contains("does not extend"), "seed \(seed): round \(round): \(daemon.stderr)")
            if FileManager.default.fileExists(atPath: harness.storePath) {
                before = try FaultChecks.check(harness.storePath, keeps: before, runsEnded: false)
            }
        }
        let last = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr-last", extra: arguments)
        #expect(try last.waitUntilAnswering())
        #expect(last.stop() == 0, "\(last.stderr)")
        let events = try FaultChecks.check(harness.storePath, keeps: before)

        let saved = try SignedCheckpoint.parseAll(Array(try Data(contentsOf: URL(fileURLWithPath: witnessFile))))
        let recorded = events.filter { $0.type == .checkpointSigned }.compactMap { $0.details[.checkpoint] }
        // Each note reaches the witness file after its event is durable: a kill in between
        // leaves a recorded checkpoint the file lacks, never the other way round.
        var unmatched = saved.map(\.note.rendered)[...]
        for note in recorded where note == unmatched.first { unmatched.removeFirst() }
        #expect(unmatched.isEmpty, "seed \(seed): witness file notes not recorded in the log, or out of order: \(unmatched)")
        // At least the first start's, the four clean stops' and the last stop's.
        #expect(saved.count >= 6, "seed \(seed): \(saved.count) checkpoints in the witness file")
        let sizes = saved.map(\.checkpoint.size)
        #expect(sizes == sizes.sorted(), "seed \(seed): \(sizes)")

        let verified = try AscribeBinary.run(["verify", "--state", harness.state, "--checkpoint", witnessFile])
        #expect(verified.status == 0, "seed \(seed): \(verified.stdout)\(verified.stderr)")
        let lines = verified.stdout.split(separator: "\n")
        #expect(lines.filter { $0.contains("the log extends it") }.count == saved.count, "seed \(seed): \(verified.stdout)")
        #expect(lines.last == "\(events.count) events, chain intact", "seed \(seed): \(verified.stdout)")
        print("killsWhileSigningCheckpointsLeaveCheckpointsTheLogExtends: seed \(seed), \(events.count) events, "
              + "\(recorded.count) checkpoints signed, \(saved.count) in the witness file")
    }

    /// Hundreds of SIGHUPs in a second: the daemon stays up, answers `status`, stops cleanly,
    /// and the chain verifies.
    @Test func aSighupStormLeavesTheDaemonAnswering() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try Self.busyJobs(harness)
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        #expect(try daemon.waitUntilAnswering())
        let before = try FaultChecks.events(harness.storePath)
        for _ in 0..<500 {
            daemon.signal(SIGHUP)
            Thread.sleep(forTimeInterval: 0.001)
        }
        #expect(daemon.process.isRunning)
        let status = try AscribeBinary.run(["status", "--state", harness.state])
        #expect(status.status == 0 && status.stdout.contains("daemon pid \(daemon.pid)"))
        #expect(daemon.stop() == 0)
        let events = try FaultChecks.check(harness.storePath, keeps: before)
        #expect(events.contains { $0.type == .configLoaded && $0.reason?.contains("SIGHUP") == true })
        #expect(events.last { $0.type != .checkpointSigned }?.type == .daemonStopped)
        #expect(events.last?.type == .checkpointSigned, "the shutdown checkpoint covers daemon.stopped")
    }

    /// The real daemon on a full tmpfs: a manual run is refused (its `run.fired` cannot be
    /// written), stderr and `ascribe status` say why, and after space returns the daemon
    /// resumes by itself (its retry) and runs again.
    @Test(.requires(TmpfsMount.permitted, TmpfsMount.refused))
    func aFullStateFilesystemIsReportedAndTheDaemonResumesByItself() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        let mount = try TmpfsMount(path: harness.state, size: "1m")
        defer { mount.unmount() }
        try harness.job("manual", schedule: "0 0 1 1 *", command: "/bin/true")
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        defer { if daemon.process.isRunning { _ = daemon.stop() } }
        #expect(try daemon.waitUntilAnswering())
        let run = ["run", "manual", "--state", harness.state, "--jobs", harness.jobs]
        #expect(try AscribeBinary.run(run).status == 0)
        let before = try FaultChecks.events(harness.storePath)

        try mount.fill(storePath: harness.storePath)
        let refused = try AscribeBinary.run(run)
        #expect(refused.status == 1)
        #expect((refused.stdout + refused.stderr).contains("not started"))
        #expect(daemon.stderr.contains("cannot be written") && daemon.stderr.contains("nothing starts"))
        let status = try AscribeBinary.run(["status", "--state", harness.state])
        #expect(status.stdout.contains("STORE PROBLEM") && status.stdout.contains("full"))

        mount.free()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try AscribeBinary.run(["status", "--state", harness.state]).stdout.contains("STORE PROBLEM") {
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(daemon.stderr.contains("can be written again"))
        #expect(try AscribeBinary.run(run).status == 0)
        #expect(daemon.stop() == 0)
        let events = try FaultChecks.check(harness.storePath, keeps: before)
        #expect(events.filter { $0.type == .runSucceeded }.count == 2)
        #expect(events.contains { $0.type == .daemonHeartbeat && $0.details["store_unwritable_from"] != nil })
    }

    /// A state directory anyone may write is tightened, and the daemon says so.
    @Test func aLooseStateDirectoryIsTightened() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("manual", schedule: "0 0 1 1 *", command: "/bin/true")
        try FileManager.default.createDirectory(atPath: harness.state, withIntermediateDirectories: true)
        #expect(chmod(harness.state, 0o777) == 0)
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        #expect(try daemon.waitUntilAnswering())
        #expect(daemon.stop() == 0)
        #expect(daemon.stderr.contains("had mode 777; tightened to 700"))
        #expect(try StoreFile.permissions(of: harness.state) & 0o777 == 0o700)
    }

    /// A state directory owned by another user is refused with the reason, and its store is
    /// left as it was.
    @Test(.requires(isRoot, "chown to another user needs root (CI runs as root)"))
    func aForeignStateDirectoryIsRefused() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("manual", schedule: "0 0 1 1 *", command: "/bin/true")
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        #expect(try daemon.waitUntilAnswering())
        #expect(daemon.stop() == 0)
        let before = try FaultChecks.check(harness.storePath, keeps: [])
        #expect(AscribeBinary.shell("chown nobody '\(harness.state)'") == 0)
        let refused = try AscribeBinary.run(["daemon", "--jobs", harness.jobs, "--state", harness.state, "--quiet", "--keys", harness.state + "/keys"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("refusing the state directory \(harness.state): it belongs to uid"))
        #expect(AscribeBinary.shell("chown root '\(harness.state)'") == 0)
        try FaultChecks.check(harness.storePath, keeps: before)
    }

    /// A store replaced by something that is not an event store, or unreadable (mode 000; as
    /// root, with the capabilities that bypass file modes dropped from the bounding set): the
    /// daemon refuses to start, says why, and leaves the file as it was.
    @Test func anUnreadableOrReplacedStoreStopsTheStart() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("manual", schedule: "0 0 1 1 *", command: "/bin/true")
        let arguments = ["daemon", "--jobs", harness.jobs, "--state", harness.state, "--quiet", "--control-group", "none",
                         "--keys", harness.state + "/keys"] + (isRoot ? [] : ["--dev"])
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        #expect(try daemon.waitUntilAnswering())
        #expect(daemon.stop() == 0)
        let before = try FaultChecks.check(harness.storePath, keeps: [])

        #expect(chmod(harness.storePath, 0) == 0)
        let withoutOverride = isRoot ? ["/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search"] : []
        let unreadable = try AscribeBinary.run(arguments, wrapper: withoutOverride)
        #expect(unreadable.status == 1 && unreadable.stderr.contains(harness.storePath), "\(unreadable.stderr)")
        #expect(chmod(harness.storePath, 0o600) == 0)
        try FaultChecks.check(harness.storePath, keeps: before)

        let kept = harness.root + "/events.db.kept"
        try FileManager.default.moveItem(atPath: harness.storePath, toPath: kept)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: harness.storePath + suffix) }
        let garbage = Data("this is not an event store\n".utf8) + Data(repeating: 0x41, count: 4096)
        #expect(FileManager.default.createFile(atPath: harness.storePath, contents: garbage, attributes: [.posixPermissions: 0o600]))
        let refused = try AscribeBinary.run(arguments)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("ascribe daemon:") && refused.stderr.contains(harness.storePath))
        #expect(FileManager.default.contents(atPath: harness.storePath) == garbage)
        try FileManager.default.removeItem(atPath: harness.storePath)
        try FileManager.default.moveItem(atPath: kept, toPath: harness.storePath)
        try FaultChecks.check(harness.storePath, keeps: before)
    }

    /// kill -9 of the daemon while a run's processes live on: the next start adopts the run
    /// instead of closing it as lost. It counts as running (a second run under `overlap = skip`
    /// is refused naming it; `status` lists it, adopted, with its pids); a daemon killed while
    /// watching it leaves it to the next start, which adopts it again; when its processes end,
    /// it gets exactly one terminal event, `run.lost`, saying they ran on until then.
    @Test func aRunThatOutlivesItsDaemonIsAdoptedUntilItEnds() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        // The job holds until the test removes `hold` (or the harness its whole directory).
        let hold = harness.root + "/hold"
        #expect(FileManager.default.createFile(atPath: hold, contents: nil))
        try harness.job("holder", schedule: "0 0 1 1 *", command: "/bin/sh -c \"while [ -e \(hold) ]; do sleep 0.1; done\"")
        var daemons: [DaemonProcess] = []
        var clients: [Process] = []
        defer {
            try? FileManager.default.removeItem(atPath: hold)
            for client in clients where client.isRunning {
                kill(client.processIdentifier, SIGKILL)
                client.waitUntilExit()
            }
            for daemon in daemons where daemon.process.isRunning {
                daemon.signal(SIGKILL)
                daemon.process.waitUntilExit()
            }
        }
        func startDaemon() throws -> DaemonProcess {
            let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
            daemons.append(daemon)
            #expect(try daemon.waitUntilAnswering())
            return daemon
        }
        func waitFor(_ match: (Event) -> Bool) throws -> Event? {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                if let found = try FaultChecks.events(harness.storePath).first(where: match) { return found }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return nil
        }
        func runHolder(_ reason: String) throws -> Process {
            let client = Process()
            client.executableURL = URL(fileURLWithPath: AscribeBinary.path)
            client.arguments = ["run", "holder", "--state", harness.state, "--jobs", harness.jobs, "--reason", reason]
            client.standardOutput = FileHandle.nullDevice
            client.standardError = FileHandle.nullDevice
            try client.run()
            clients.append(client)
            return client
        }
        /// Whether `process` exits within 15 s (a client whose run was started instead waits for its end).
        func exits(_ process: Process) -> Bool {
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            return !process.isRunning
        }

        let first = try startDaemon()
        let client = try runHolder("first")
        let fired = try #require(try waitFor { $0.type == .runFired && $0.job == "holder" })
        let runID = try #require(fired.runID)
        // The client would wait for the run's end (SIGTERM included); it is not what is tested.
        kill(client.processIdentifier, SIGKILL)
        client.waitUntilExit()
        first.signal(SIGKILL)
        first.process.waitUntilExit()

        let second = try startDaemon()
        func expectAdopted(_ sourceLocation: SourceLocation = #_sourceLocation) throws {
            let status = try AscribeBinary.run(["status", "--state", harness.state, "--json"])
            let running = (try JSONParser.parse(status.stdout))["status"]?["running"]?.arrayValue ?? []
            #expect(running.count == 1 && running.first?["run_id"]?.stringValue == runID, sourceLocation: sourceLocation)
            #expect(running.first?["adopted_at"]?.stringValue != nil, sourceLocation: sourceLocation)
            #expect((running.first?["adopted_pids"]?.arrayValue?.count ?? 0) > 0, sourceLocation: sourceLocation)
            let human = try AscribeBinary.run(["status", "--state", harness.state])
            #expect(human.stdout.contains("run \(runID)") && human.stdout.contains("adopted at"), sourceLocation: sourceLocation)
            #expect(try FaultChecks.events(harness.storePath).filter { $0.type.isRunTerminal }.isEmpty, sourceLocation: sourceLocation)
        }
        try expectAdopted()
        // overlap = skip: a second run is refused, naming the adopted one.
        let refused = try runHolder("second")
        try #require(exits(refused), "a second run of holder started beside the adopted one")
        #expect(refused.terminationStatus == 1)
        let skipped = try #require(try waitFor { $0.type == .runSkipped && $0.job == "holder" })
        #expect(skipped.details["skip_reason"] == "overlap" && skipped.details["running_run_id"] == runID)
        #expect(try FaultChecks.events(harness.storePath).filter { $0.type == .runFired }.count == 1)

        // The adopting daemon dies too: the next start adopts the run again.
        second.signal(SIGKILL)
        second.process.waitUntilExit()
        let third = try startDaemon()
        try expectAdopted()

        try FileManager.default.removeItem(atPath: hold)
        let lost = try #require(try waitFor { $0.type.isRunTerminal && $0.runID == runID })
        #expect(lost.type == .runLost)
        #expect(lost.reason?.hasPrefix("the daemon that started it died; its processes ran on until ") == true)
        #expect(lost.reason?.hasSuffix("; exit status unknown") == true)
        #expect(lost.details["process_group"] == "ended" && lost.details["adopted_at"] != nil && lost.details["ended_at"] != nil)
        #expect(lost.details["fired_seq"] == String(fired.seq))
        #expect(third.stop() == 0)
        let events = try FaultChecks.check(harness.storePath, keeps: [])
        #expect(events.filter { $0.type.isRunTerminal }.count == 1)
    }
}
