@testable import AscribeCore
@testable import AscribeRuntime
import Foundation
import Synchronization
import Testing

import Glibc
import AscribeSystem
import AscribeTestSupport

/// The state directory rules (docs/DAEMON.md, "The state directory"): entries planted by
/// another user while the directory was open are removed (what the daemon makes again) or
/// refuse the start (the event store, anything unknown), the same for the daemon and for
/// `ascribe run` without one; the run's own output directories must be real and private.
@Suite(.serialized) struct StateDirectoryRuleTests {
    /// A symbolic link at `output`, planted by `nobody` in a loose state directory, pointing
    /// at a directory elsewhere: `ascribe run` removes it, says so, and the run's output lands
    /// in the real `output`, not through the link (root only: it needs chown).
    @Test(.requires(isRoot, "needs root: plants an entry owned by another user (CI runs as root)"))
    func aPlantedOutputLinkIsRemovedAndNoOutputGoesThroughIt() throws {
        let scratch = try RunCommandTests.Scratch()
        defer { scratch.remove() }
        let elsewhere = scratch.root + "/elsewhere"
        for directory in [scratch.state, elsewhere] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            #expect(chmod(directory, 0o777) == 0)
        }
        try FileManager.default.createSymbolicLink(atPath: scratch.state + "/output", withDestinationPath: elsewhere)
        #expect(AscribeBinary.shell("chown -h nobody '\(scratch.state)/output'") == 0)
        try scratch.job("talker", ["command = /bin/echo planted-link-test"])

        let result = try scratch.run("talker")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("removed \(scratch.state)/output, a symbolic link of uid"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
        let output = try FileStatus(path: scratch.state + "/output", followingLinks: false)
        #expect(output.kind == .directory && output.owner == 0)
        let logs = try FileManager.default.contentsOfDirectory(atPath: scratch.state + "/output/talker")
        #expect(logs.count == 1)
        #expect(try StoreFile.permissions(of: scratch.state) & 0o777 == 0o700)
    }

    /// A `daemon.lock` that `nobody` planted and holds locked (a start would name its fake
    /// pid) no longer blocks the daemon: it is removed, reported on stderr and in
    /// `daemon.started` (root only: chown).
    @Test(.requires(isRoot, "needs root: plants an entry owned by another user (CI runs as root)"))
    func aForeignLockFileDoesNotBlockTheDaemon() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("manual", schedule: "0 0 1 1 *", command: "/bin/true")
        try FileManager.default.createDirectory(atPath: harness.state, withIntermediateDirectories: false)
        #expect(chmod(harness.state, 0o777) == 0)
        let lockPath = harness.state + "/daemon.lock"
        #expect(FileManager.default.createFile(atPath: lockPath, contents: Data("4242\n".utf8)))
        #expect(AscribeBinary.shell("chown nobody '\(lockPath)'") == 0)
        let planted = open(lockPath, O_RDWR | O_CLOEXEC)
        #expect(planted >= 0 && flock(planted, LOCK_EX | LOCK_NB) == 0)
        defer { close(planted) }

        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        defer { if daemon.process.isRunning { _ = daemon.stop() } }
        #expect(try daemon.waitUntilAnswering(), "\(daemon.stderr)")
        #expect(daemon.stop() == 0)
        #expect(daemon.stderr.contains("removed \(lockPath), a file of uid"), "\(daemon.stderr)")
        let started = try harness.events().first { $0.type == .daemonStarted }
        #expect(started?.details["state_removed"]?.contains("daemon.lock (file of uid") == true)
        let lock = try FileStatus(path: lockPath, followingLinks: false)
        #expect(lock.owner == 0)
    }

    /// An event store owned by another user is never removed: the daemon and `ascribe run`
    /// both refuse, naming the file, its owner and what to do (root only: chown).
    @Test(.requires(isRoot, "needs root: plants an entry owned by another user (CI runs as root)"))
    func aForeignEventStoreRefusesTheDaemonAndTheRun() throws {
        let scratch = try RunCommandTests.Scratch()
        defer { scratch.remove() }
        try scratch.job("talker", ["command = /bin/true"])
        try FileManager.default.createDirectory(atPath: scratch.state, withIntermediateDirectories: false)
        let store = scratch.state + "/events.db"
        #expect(FileManager.default.createFile(atPath: store, contents: Data("planted".utf8)))
        #expect(AscribeBinary.shell("chown nobody '\(store)'") == 0)

        let daemon = try AscribeBinary.run(["daemon", "--jobs", scratch.jobs, "--state", scratch.state, "--quiet", "--keys", scratch.state + "/keys",
                                            "--control-group", "none"])
        let run = try scratch.run("talker")
        for result in [daemon, run] {
            #expect(result.status == 1)
            #expect(result.stderr.contains("refusing the state directory \(scratch.state): \(store) belongs to uid"), "\(result.stderr)")
            #expect(result.stderr.contains("ascribe verify"))
        }
        #expect(try String(contentsOfFile: store, encoding: .utf8) == "planted")
    }

    /// The daemon says it tightened a loose state directory when it does, not when it exits.
    @Test func theTighteningIsSaidWhenItHappens() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("manual", schedule: "0 0 1 1 *", command: "/bin/true")
        try FileManager.default.createDirectory(atPath: harness.state, withIntermediateDirectories: false)
        #expect(chmod(harness.state, 0o777) == 0)
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        defer { if daemon.process.isRunning { _ = daemon.stop() } }
        #expect(try daemon.waitUntilAnswering())
        let whileRunning = daemon.stderr
        #expect(daemon.stop() == 0)
        #expect(whileRunning.contains("had mode 777; tightened to 700"), "\(whileRunning)")
    }

    /// An `output` that is a link (here the scheduler's own, so the start rule keeps it) is
    /// not written through: the run's output location is unavailable and the run is recorded
    /// as not launched.
    @Test func aLinkedOutputDirectoryIsNotWrittenThrough() throws {
        let scratch = try RunCommandTests.Scratch()
        defer { scratch.remove() }
        let elsewhere = scratch.root + "/elsewhere"
        for directory in [scratch.state, elsewhere] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        }
        try FileManager.default.createSymbolicLink(atPath: scratch.state + "/output", withDestinationPath: elsewhere)
        try scratch.job("talker", ["command = /bin/echo linked-output-test"])

        let result = try scratch.run("talker")
        #expect(result.status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
        let failed = try scratch.events().first { $0["type"] as? String == "run.launch_failed" }
        let details = failed?["details"] as? [String: String]
        #expect(details?["failure"] == "output-file-unavailable")
        #expect(details?["error"]?.contains("\(scratch.state)/output: Too many levels of symbolic links") == true, "\(String(describing: details))")
    }
}

/// Files a command writes where a person points it (`plan --html`) and the daemon's metrics
/// textfile: never a device replaced, never a planted name followed.
@Suite(.serialized) struct WrittenFileTests {
    /// Devices of our own (root: `mknod` in a scratch directory, so a regression cannot
    /// replace the host's); otherwise the host's, which a non-root user cannot replace.
    private static func devices(in directory: String) -> (full: String, null: String) {
        guard isRoot else { return ("/dev/full", "/dev/null") }
        let full = directory + "/full", null = directory + "/null"
        _ = mknod(full, S_IFCHR | 0o666, dev_t(0x107))
        _ = mknod(null, S_IFCHR | 0o666, dev_t(0x103))
        return (full, null)
    }

    private static func isCharacterDevice(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR
    }

    @Test func planHtmlWritesIntoDevicesAndFifosWithoutReplacingThem() throws {
        let directory = NSTemporaryDirectory() + "ascribe-html-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (full, null) = Self.devices(in: directory)
        #expect(Self.isCharacterDevice(full) && Self.isCharacterDevice(null))

        let intoFull = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--html", full])
        #expect(intoFull.status == 1)
        #expect(intoFull.stderr.contains("No space left on device"), "\(intoFull.stderr)")
        #expect(Self.isCharacterDevice(full))
        let intoNull = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--html", null])
        #expect(intoNull.status == 0, "\(intoNull.stderr)")
        #expect(Self.isCharacterDevice(null))

        let fifo = directory + "/fifo", received = directory + "/received.html"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "exec cat \"$0\" > \"$1\"", fifo, received]
        try reader.run()
        // SIGKILL: a child of the test process may inherit a mask that blocks SIGTERM.
        defer {
            if reader.isRunning { kill(reader.processIdentifier, SIGKILL) }
            reader.waitUntilExit()
        }
        let intoFifo = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--html", fifo])
        #expect(intoFifo.status == 0, "\(intoFifo.stderr)")
        var info = stat()
        let stillFifo = lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO
        #expect(stillFifo)
        // A replaced FIFO never gets a writer: its reader would wait forever.
        if !stillFifo { kill(reader.processIdentifier, SIGKILL) }
        reader.waitUntilExit()
        #expect(stillFifo && (try? String(contentsOfFile: received, encoding: .utf8))?.contains("<html") == true)
    }

    /// A link to a regular file is refused: whoever made the link would choose the file.
    @Test func planHtmlRefusesALinkToARegularFile() throws {
        let directory = NSTemporaryDirectory() + "ascribe-html-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = directory + "/precious", link = directory + "/page.html"
        try "precious\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let result = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--html", link])
        #expect(result.status == 1)
        #expect(result.stderr.contains("a symbolic link to a regular file"), "\(result.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
    }

    /// The metrics textfile's temporary file has no guessable name: a hard link (or symbolic
    /// link) planted at the name the textfile used to take is neither written nor followed,
    /// and the textfile is still written.
    @Test func metricsIgnoreAnythingPlantedAtAPredictableTemporaryName() throws {
        let directory = NSTemporaryDirectory() + "ascribe-metrics-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let victim = directory + "/victim", elsewhere = directory + "/elsewhere"
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        #expect(link(victim, directory + "/.metrics.prom.tmp-\(getpid())") == 0)
        let metrics = MetricsTextfile(path: directory + "/metrics.prom", stateDirectory: directory + "/state",
                                      jobsDirectory: directory + "/jobs", zones: ZoneDatabase(), defaultZone: .utc) { _ in }
        metrics.finish()
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(FileManager.default.fileExists(atPath: directory + "/metrics.prom"))

        try FileManager.default.removeItem(atPath: directory + "/.metrics.prom.tmp-\(getpid())")
        try FileManager.default.createSymbolicLink(atPath: directory + "/.metrics.prom.tmp-\(getpid())", withDestinationPath: elsewhere)
        try FileManager.default.removeItem(atPath: directory + "/metrics.prom")
        metrics.finish()
        #expect(!FileManager.default.fileExists(atPath: elsewhere))
        #expect(FileManager.default.fileExists(atPath: directory + "/metrics.prom"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }
}

/// A store renamed over or deleted under the running daemon: the next slot does not start
/// (nothing is written into the file no longer at the path), and `status` says why.
@Suite(.serialized) struct StoreReplacedTests {
    final class Appended: Sendable {
        let events = Mutex<[Event]>([])
    }

    @Test(arguments: [false, true])
    func aStoreReplacedUnderTheDaemonStopsEveryStart(deleted: Bool) async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("minutely", schedule: "* * * * *", command: "/bin/true")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let appended = Appended()
        var configuration = harness.configuration()
        configuration.storeRetryInterval = .seconds(3600)
        let daemon = Daemon(configuration: configuration, clock: clock) { output in
            if case .event(let event) = output { appended.events.withLock { $0.append(event) } }
        }
        let task = Task { await daemon.run() }
        await clock.waitForSleeper()
        await StoreFaultTests.minute(clock, daemon)
        #expect(appended.events.withLock { $0.contains { $0.type == .runFired } })

        if deleted {
            #expect(unlink(harness.storePath) == 0)
        } else {
            let other = harness.root + "/other.db"
            _ = try EventStore.open(path: other)
            #expect(rename(other, harness.storePath) == 0)
        }
        let before = appended.events.withLock { $0.count }
        await StoreFaultTests.minute(clock, daemon)
        let problem = await daemon.statusJSON(now: clock.now())["store_problem"]
        let expected = deleted ? "it was deleted" : "another file was put in its place"
        #expect(problem?["error"]?.stringValue?.contains(expected) == true, "\(String(describing: problem))")
        await StoreFaultTests.minute(clock, daemon)
        #expect(appended.events.withLock { $0.count } == before)
        await daemon.stop()
        _ = await task.value
        #expect(appended.events.withLock { $0.count } == before)
    }
}

/// A run that nests folders 40 deep in its credentials directory (it owns the directory and
/// may make it writable) still has the directory removed when it ends.
@Suite struct CredentialCleanupTests {
    @Test func deeplyNestedFoldersInTheCredentialsCopyAreRemoved() throws {
        let scratch = try RunCommandTests.Scratch()
        defer { scratch.remove() }
        let store = scratch.root + "/store"
        for directory in [store, store + "/nester-runner"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        }
        #expect(FileManager.default.createFile(atPath: store + "/nester-runner/token", contents: Data("secret".utf8),
                                               attributes: [.posixPermissions: 0o600]))
        let nested = String(repeating: "a/", count: 40)
        try scratch.job("nester", [
            "shell = /bin/sh",
            "credentials = token",
            "command = chmod u+w \"$CREDENTIALS_DIRECTORY\" && mkdir -p \"$CREDENTIALS_DIRECTORY/\(nested)\" "
                + "&& chmod 500 \"$CREDENTIALS_DIRECTORY/a/a\" && echo \"staged=$CREDENTIALS_DIRECTORY\"",
        ])
        let result = try scratch.run("nester", ["--credentials", store])
        #expect(result.status == 0, "\(result.stderr)")
        let tail = try scratch.events().compactMap { $0["output_tail"] as? String }.joined()
        let staged = try #require(tail.split(separator: "\n").first { $0.hasPrefix("staged=") }?.dropFirst("staged=".count))
        #expect(!staged.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: String(staged)), "\(staged) is still there")
    }
}

/// Exit codes as documented: 1 for a failure or an answer that is not there, 2 for input
/// that cannot be meant (a window ending before it starts), each with words naming why.
@Suite struct CommandAnswerTests {
    @Test func nextSaysWhenNoFireFallsWithinTheComputableYears() throws {
        let none = try AscribeBinary.run(["next", "--expr", "0 0 1 2 *", "--from", "9999-01-01T00:00:00Z"])
        #expect(none.status == 1)
        #expect(none.stdout.isEmpty)
        #expect(none.stderr.contains("no fire after 9999-01-01T00:00:00+00:00 within the years Ascribe computes"), "\(none.stderr)")
        let some = try AscribeBinary.run(["next", "--expr", "0 0 1 1 *", "--from", "9997-06-01T00:00:00Z", "--count", "5"])
        #expect(some.status == 1)
        #expect(some.stdout == "9998-01-01T00:00:00+00:00\n9999-01-01T00:00:00+00:00\n")
        #expect(some.stderr.contains("only 2 of the 5 fires asked for"), "\(some.stderr)")
    }

    @Test func logWithoutAStoreExitsOne() throws {
        for arguments in [["log", "--follow"], ["log"]] {
            let result = try AscribeBinary.run(arguments + ["--state", "/nonexistent/ascribe-state"])
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains("no event store here"))
        }
    }

    @Test(arguments: [
        (["log", "--since", "1h", "--until", "2h"], "--since 1h is after --until 2h"),
        (["log", "--since", "2026-01-02T00:00:00Z", "--until", "2026-01-01T00:00:00Z"],
         "--since 2026-01-02T00:00:00Z is after --until 2026-01-01T00:00:00Z"),
        (["why", "any-job", "--since", "2099-01-01T00:00:00Z"], "--since 2099-01-01T00:00:00Z is after --until now"),
        (["why", "any-job", "--since", "1h", "--until", "3h"], "--since 1h is after --until 3h"),
    ])
    func aWindowEndingBeforeItStartsIsBadInput(arguments: [String], message: String) throws {
        let result = try AscribeBinary.run(arguments + ["--state", "/nonexistent/ascribe-state"])
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
