import AscribeCore
import AscribeRuntime
import Foundation

/// Issue 4's daemon figures, measured on the real `ascribe daemon` binary (next to this
/// executable) with real time: `ascribe-benchmarks daemon [idle-seconds]`.
/// (1) N jobs due at the same minute: delay from the slot to `run.fired` (durable, from the event
/// store) and to each job's start (the job is `/bin/date +%s.%N`; its captured output is its own
/// start time). (2) Idle with 10,000 jobs: RSS and CPU over an interval.
enum DaemonBenchmark {
    static func run(executable: String, idleSeconds: Int) {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            print("not built: run `swift build -c release` first (\(executable))")
            return
        }
        print("# Daemon benchmarks (release build, real `ascribe daemon`, real time)\n")
        print("Daemon: `\(executable) daemon --state <tmp> --jobs <tmp> --quiet`, \(geteuid() == 0 ? "as root, jobs `run-as = nobody`" : "not root, `--dev`").\n")
        let limit = raiseFileLimit()
        print("RLIMIT_NOFILE inherited by the daemon: soft \(limit.soft), hard \(limit.hard) (\(limit.raised ? "raised by the benchmark" : "not raised: the soft limit was already enough")).\n")
        print("## Jobs due at the same minute: delay from the slot instant\n")
        print("Jobs: `command = /bin/date +%s.%N`. `run.fired` = the event's `time` (all of a slot's `run.fired` share one durable transaction); spawn = the terminal event's `spawned_at` (wall time when `posix_spawn` of the exec helper returned); start = the time the job printed (its captured output), so the helper's privilege drop, exec and the job's own loading are included.\n")
        print("| jobs | slot | fired / succeeded | run.fired p50 / p99 / max (ms) | spawn p50 / p99 / max (ms) | start p50 / p99 / max (ms) | peak open fds | target (p99 spawn) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        // As shipped: checkpoints signed (the default), their key kept in the benchmark's directory.
        burst(executable: executable, jobs: 1000, target: "< 1000 ms", daemonArguments: ["--keys", "<root>/keys"])
        burst(executable: executable, jobs: 1, target: "< 20 ms", daemonArguments: ["--keys", "<root>/keys"])
        idle(executable: executable, jobs: 10_000, seconds: idleSeconds)
    }

    // MARK: Burst

    /// `label` names a variant in the first column; `daemonArguments` and `jobLines` are what
    /// the variant adds to the daemon's command line and to every job (issues 13 and 14's costs).
    static func burst(executable: String, jobs count: Int, target: String, label: String? = nil,
                      daemonArguments: [String] = [], jobLines: [String] = []) {
        let root = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for index in 0..<count {
            writeJob(root: root, name: String(format: "burst-%04d", index), schedule: "* * * * *", command: "/bin/date +%s.%N",
                     extraLines: jobLines)
        }
        // The first minute boundary at least 5 s away, so every job is loaded before it.
        let now = EventTime.now().millisecondsSinceEpoch
        var slot = (now / 60_000 + 1) * 60_000
        if slot - now < 5_000 { slot += 60_000 }
        guard let daemon = startDaemon(executable: executable, root: root,
                                       extraArguments: daemonArguments.map { $0.replacingOccurrences(of: "<root>", with: root) })
        else { return }
        var peakDescriptors = 0
        // Until every run of the slot has a terminal event (or 60 s after the slot), counting fds.
        let store = root + "/state/events.db"
        while EventTime.now().millisecondsSinceEpoch < slot + 60_000 {
            peakDescriptors = max(peakDescriptors, openDescriptors(pid: daemon.processIdentifier))
            if EventTime.now().millisecondsSinceEpoch > slot + 1_000, let results = try? slotResults(store: store, slot: slot),
               results.terminal.count >= count { break }
            usleep(20_000)
        }
        daemon.terminate()
        daemon.waitUntilExit()
        guard let results = try? slotResults(store: store, slot: slot) else {
            print("| \(count) | — | could not read the event store | | | | | \(target) |")
            return
        }
        let fired = results.fired.map { Double($0.time.millisecondsSinceEpoch - slot) }.sorted()
        let spawned = results.terminal.compactMap { spawnedAt($0).map { Double($0 - slot) } }.sorted()
        let started = results.terminal.compactMap { event -> Double? in
            guard let path = event.outputPath, let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let seconds = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
            return seconds * 1000 - Double(slot)
        }.sorted()
        let succeeded = results.terminal.filter { $0.type == .runSucceeded }.count
        let slotText = EventTime(millisecondsSinceEpoch: slot).rfc3339
        print("| \(count)\(label.map { " (" + $0 + ")" } ?? "") | \(slotText) | \(results.fired.count) / \(succeeded) | \(triple(fired)) | \(triple(spawned)) | \(triple(started))\(started.count < count ? " (\(started.count) read)" : "") | \(peakDescriptors) | \(target) |")
    }

    /// A terminal event's `spawned_at` in ms since the epoch: `2026-11-23T22:03:00.123Z`, whole
    /// seconds through RFC3339, then the milliseconds.
    static func spawnedAt(_ event: Event) -> Int64? {
        guard let text = event.details[.spawnedAt], let dot = text.firstIndex(of: "."),
              let parsed = RFC3339.parse(String(text[..<dot]) + "Z"),
              let milliseconds = Int64(text[text.index(after: dot)...].prefix(3)) else { return nil }
        return ZoneRules.utc.instant(for: parsed).secondsSinceEpoch * 1000 + milliseconds
    }

    /// The slot's `run.fired` events and the terminal events of those runs.
    static func slotResults(store path: String, slot: Int64) throws -> (fired: [Event], terminal: [Event]) {
        // A store written by a build from before the Merkle tree is migrated on a read-write open.
        let store = try (try? EventStore.open(path: path, access: .readOnly)) ?? EventStore.open(path: path)
        let fired = try store.events(matching: EventFilter(type: .runFired, order: .oldestFirst))
            .filter { $0.scheduledFor?.millisecondsSinceEpoch == slot }
        let runIDs = Set(fired.compactMap(\.runID))
        let terminal = try store.events(matching: EventFilter(since: EventTime(millisecondsSinceEpoch: slot), order: .oldestFirst))
            .filter { $0.type.isRunTerminal && $0.runID.map(runIDs.contains) == true }
        return (fired, terminal)
    }

    static func triple(_ sorted: [Double]) -> String {
        "\(format(percentile(sorted, 0.5))) / \(format(percentile(sorted, 0.99))) / \(format(sorted.last ?? .nan))"
    }

    // MARK: Idle

    static func idle(executable: String, jobs count: Int, seconds interval: Int) {
        let root = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for index in 0..<count {
            writeJob(root: root, name: String(format: "idle-%05d", index), schedule: "0 3 1 1 *", command: "/bin/true")
        }
        let clock = ContinuousClock()
        let began = clock.now
        guard let daemon = startDaemon(executable: executable, root: root) else { return }
        let pid = daemon.processIdentifier
        // Loaded once `daemon.started` is in the store (written after the jobs directory is read).
        var loaded = false
        while !loaded && clock.now - began < .seconds(120) {
            usleep(100_000)
            let store = try? EventStore.open(path: root + "/state/events.db", access: .readOnly)
            loaded = ((try? store?.events(matching: EventFilter(type: .daemonStarted, limit: 1))) ?? nil)?.isEmpty == false
        }
        let loadSeconds = seconds(clock.now - began)
        sleep(2)  // let start-up work (config.loaded, lost-run scan) finish before the first sample
        let first = sample(pid: pid)
        let intervalStart = clock.now
        sleep(UInt32(interval))
        let last = sample(pid: pid)
        let measured = seconds(clock.now - intervalStart)
        let running = daemon.isRunning
        daemon.terminate()
        daemon.waitUntilExit()
        let cpu = last.cpuSeconds - first.cpuSeconds
        print("\n## Idle with \(count) jobs loaded (schedule `0 3 1 1 *`, none due)\n")
        print("Interval: \(interval) s\(interval < 300 ? " — shorter than the issue's five minutes (the run's time budget), so the CPU figure has a coarser resolution" : ""). CPU from `/proc/<pid>/stat` utime+stime (clock ticks of \(format(1 / ticksPerSecond, 3)) s), memory from `/proc/<pid>/status` VmRSS (of which RssAnon is the daemon's own; the rest is mapped library and database pages).\n")
        print("| jobs | started in (s) | RSS (anon) after load (MB) | RSS (anon) at end (MB) | CPU during start-up (s) | CPU over interval (s) | CPU % | daemon still running | targets |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        print("| \(count) | \(format(loadSeconds, 1)) | \(format(first.rssMB, 1)) (\(format(first.anonymousMB, 1))) | \(format(last.rssMB, 1)) (\(format(last.anonymousMB, 1))) | \(format(first.cpuSeconds, 2)) | \(format(cpu, 2)) over \(format(measured, 0)) s | \(format(cpu / measured * 100, 3)) | \(running ? "yes" : "no") | CPU < 0.1 %, memory < 50 MB |")
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func sample(pid: Int32) -> (rssMB: Double, anonymousMB: Double, cpuSeconds: Double) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func megabytes(_ key: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }),
                  let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return .nan }
            return kilobytes / 1024
        }
        var cpu = Double.nan
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after "(comm)": state is field 3, utime 14, stime 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                cpu = (user + system) / ticksPerSecond
            }
        }
        return (megabytes("VmRSS"), megabytes("RssAnon"), cpu)
    }

    // MARK: Plumbing

    static func scratchDirectory() -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-dbench-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true)
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        return root
    }

    static func writeJob(root: String, name: String, schedule: String, command: String, extraLines: [String] = []) {
        var lines = ["schedule = \(schedule)", "identity = \(name)-runner", "owner = bench <bench@example.com>", "command = \(command)"] + extraLines
        if geteuid() == 0 { lines.append("run-as = nobody") }
        try? (lines.joined(separator: "\n") + "\n").write(toFile: "\(root)/jobs/\(name).job", atomically: false, encoding: .utf8)
    }

    static func startDaemon(executable: String, root: String, extraArguments: [String] = []) -> Process? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["daemon", "--state", root + "/state", "--jobs", root + "/jobs", "--quiet"] + (geteuid() == 0 ? [] : ["--dev"]) + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            print("could not start the daemon: \(error)")
            return nil
        }
        return process
    }

    static func openDescriptors(pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    /// The burst holds a few descriptors per running job; make sure 1,000 fit (children inherit).
    static func raiseFileLimit() -> (soft: UInt64, hard: UInt64, raised: Bool) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let wanted: rlim_t = 8192
        guard limit.rlim_cur < wanted else { return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max), false) }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        let raised = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max), raised)
    }
}
