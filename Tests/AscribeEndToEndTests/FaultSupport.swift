import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// SplitMix64: a small seeded generator, so a failing fault run can be replayed with its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// `ASCRIBE_FAULT_SEED` when set (to replay a failure), else one from the clock; printed.
    static func fromEnvironment(_ name: String) -> (SeededGenerator, UInt64) {
        let seed = ProcessInfo.processInfo.environment["ASCRIBE_FAULT_SEED"].flatMap(UInt64.init)
            ?? UInt64(Date().timeIntervalSince1970 * 1000)
        print("\(name): seed \(seed) (replay with ASCRIBE_FAULT_SEED=\(seed))")
        return (SeededGenerator(seed: seed), seed)
    }
}

/// The checks every fault ends with.
enum FaultChecks {
    /// The whole log by seq.
    static func events(_ storePath: String) throws -> [Event] {
        let store = try EventStore.open(path: storePath, access: .readOnly)
        return try store.events(matching: EventFilter(order: .oldestFirst)).sorted { $0.seq < $1.seq }
    }

    /// Nothing recorded before the fault is lost or altered (`before` is still the log's prefix,
    /// event for event, hashes included), the chain verifies, and every `run.fired` has exactly
    /// one terminal event (and every terminal event a `run.fired`). Returns the log by seq.
    /// `runsEnded: false` right after a crash, whose runs are ended only by the next start.
    @discardableResult
    static func check(_ storePath: String, keeps before: [Event], runsEnded: Bool = true,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> [Event] {
        let store = try EventStore.open(path: storePath, access: .readOnly)
        let events = try store.events(matching: EventFilter(order: .oldestFirst)).sorted { $0.seq < $1.seq }
        #expect(try store.verify() == .intact(count: events.count), sourceLocation: sourceLocation)
        #expect(events.count >= before.count, sourceLocation: sourceLocation)
        for (old, new) in zip(before, events) where old != new {
            Issue.record("seq \(old.seq) changed: hash \(old.hash) is now \(new.hash)", sourceLocation: sourceLocation)
        }
        var terminals: [String: Int] = [:]
        for event in events where event.type.isRunTerminal { terminals[event.runID ?? "", default: 0] += 1 }
        let fired = Set(events.filter { $0.type == .runFired }.compactMap(\.runID))
        for runID in fired where runsEnded ? terminals[runID] != 1 : (terminals[runID] ?? 0) > 1 {
            Issue.record("run \(runID) has \(terminals[runID] ?? 0) terminal events", sourceLocation: sourceLocation)
        }
        for runID in terminals.keys where !fired.contains(runID) {
            Issue.record("terminal event of run \(runID) without run.fired", sourceLocation: sourceLocation)
        }
        return events
    }

    /// Outcomes per slot of `job`: run.fired, run.skipped, run.missed (a collapsed one counts for
    /// each slot in its first…last) by slot, in ms since the epoch.
    static func outcomes(of job: String, in events: [Event], zone: ZoneRules = .utc, schedule: JobDefinition? = nil) -> [Int64: Int] {
        var count: [Int64: Int] = [:]
        for event in events where event.job == job && [.runFired, .runSkipped, .runMissed].contains(event.type) {
            guard let slot = event.scheduledFor else { continue }
            if let first = event.details["first"].flatMap(SlotHistory.parseTime), let schedule,
               case .calendar(let cron) = schedule.schedule {
                for fire in cron.fires(after: first.instant.adding(seconds: -1), until: slot.instant, in: zone) {
                    count[EventTime(fire.instant).millisecondsSinceEpoch, default: 0] += 1
                }
            } else {
                count[slot.millisecondsSinceEpoch, default: 0] += 1
            }
        }
        return count
    }

    /// `ascribe why`'s logic over (since, until]: the slots that have no outcome ("no record").
    static func slotsWithoutRecord(_ storePath: String, job: JobDefinition, since: Instant, until: Instant) throws -> [Instant] {
        let store = try EventStore.open(path: storePath, access: .readOnly)
        let report = try SlotHistory.answer(job: job, zone: .utc, window: .range(since: since.adding(seconds: 1), until: until),
                                            now: until, store: store)
        return report.accounts.compactMap { account in
            if case .noRecord = account.outcome { return account.slot }
            return nil
        }
    }

    /// The jobs of a directory, for `SlotHistory`.
    static func definitions(_ jobsDirectory: String) throws -> [JobDefinition] {
        try JobDirectory.load(path: jobsDirectory, zones: { ZoneDatabase().rules(for: $0) }).jobs
    }
}

/// A size-limited tmpfs over a directory (root with CAP_SYS_ADMIN). Tests that need one are
/// skipped by the framework where `permitted` is false (an unprivileged container), and fail
/// in CI, which must be able to mount (`.requires`).
struct TmpfsMount {
    let path: String

    /// Whether this process may mount a tmpfs: probed once on a scratch directory.
    static let permitted = AscribeBinary.shell(
        #"d=$(mktemp -d) || exit 1; mount -t tmpfs -o size=64k ascribe-probe "$d" 2>/dev/null && umount "$d"; r=$?; rmdir "$d"; exit $r"#) == 0
    static let refused: Comment = "mounting a tmpfs needs root with CAP_SYS_ADMIN (CI runs as root)"

    init(path: String, size: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard AscribeBinary.shell("mount -t tmpfs -o size=\(size),mode=0700 ascribe-fault '\(path)' 2>/dev/null") == 0 else {
            throw TmpfsMountRefused(path: path)
        }
        self.path = path
    }

    /// Fills the filesystem (a file of zeros until ENOSPC) after moving the store's WAL into
    /// the database (`wal_checkpoint(TRUNCATE)`), so its next write needs space it cannot get.
    func fill(storePath: String) throws {
        let database = try SQLiteDatabase(path: storePath, access: .readWrite)
        try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _ = AscribeBinary.shell("dd if=/dev/zero of='\(path)/filler' bs=16k 2>/dev/null")
    }

    func free() {
        try? FileManager.default.removeItem(atPath: path + "/filler")
    }

    func unmount() {
        _ = AscribeBinary.shell("umount -l '\(path)'")
    }
}

/// The tmpfs mount failed although the probe said this process may mount one.
struct TmpfsMountRefused: Error, CustomStringConvertible {
    let path: String
    var description: String { "mount -t tmpfs over \(path) was refused" }
}

/// The real `ascribe daemon` as a child process, with its stderr in a file.
final class DaemonProcess {
    let process = Process()
    let stderrPath: String
    let state: String

    init(jobs: String, state: String, stderrPath: String, extra: [String] = []) throws {
        self.state = state
        self.stderrPath = stderrPath
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: AscribeBinary.path)
        process.arguments = ["daemon", "--jobs", jobs, "--state", state, "--quiet", "--control-group", "none"]
            + (isRoot ? [] : ["--dev"]) + (extra.contains("--keys") ? [] : ["--keys", state + "/keys"]) + extra
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        process.diesWithTestProcess()
        try process.run()
    }

    /// Killed on every path a test can leave by (a failed `#require`, a thrown error), and by
    /// `diesWithTestProcess` if the test process itself dies.
    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits (up to 20 s) until the daemon answers `ascribe status`.
    func waitUntilAnswering() throws -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, process.isRunning {
            if try AscribeBinary.run(["status", "--state", state]).status == 0 { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        signal(SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}
