import AscribeCore
import AscribeRuntime
import AscribeSystem
import Foundation

/// Issue 11 item 6, measured on whole processes so builds can be compared side by side in one
/// run: `ascribe-benchmarks startup [label=directory …]` times `ascribe --version` and
/// `ascribe next --expr` of each build against `systemd-analyze calendar`, interleaved;
/// `ascribe-benchmarks memory [label=directory …]` starts each build's daemon on the same
/// 10,000 idle jobs, one after the other, and reads where its resident set goes. Each
/// directory holds an `ascribe` (and its `ascribe-exec`); without arguments, the build next to
/// this executable.
enum StartupBenchmark {
    struct Build {
        var label: String
        var executable: String
    }

    /// `label=directory` arguments, or the build next to `benchmarks`.
    static func builds(_ arguments: [String], benchmarks: String) -> [Build] {
        guard !arguments.isEmpty else {
            return [Build(label: "this build", executable: URL(fileURLWithPath: benchmarks).deletingLastPathComponent().appendingPathComponent("ascribe").path)]
        }
        return arguments.map { argument in
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let directory = parts.count == 2 ? parts[1] : parts[0]
            return Build(label: parts[0], executable: directory + "/ascribe")
        }
    }

    // MARK: Start-up

    /// One whole process: its wall time around `posix_spawn` … `wait4`, and the CPU time it
    /// used (user + system, from `wait4`), in milliseconds; nil if it failed.
    static func times(_ argv: [String]) -> (wall: Double, cpu: Double)? {
        let clock = ContinuousClock()
        let began = clock.now
        let (status, cpu) = spawnAndWait(argv)
        guard status == 0 else { return nil }
        return (seconds(clock.now - began) * 1000, cpu)
    }

    /// The process's peak resident set, as `/usr/bin/time` reports it (KiB). Not from this
    /// process's own `wait4`: `posix_spawn` starts the child in this process's address space
    /// (vfork), and the kernel carries that space's peak into the child's `ru_maxrss`.
    static func maxResident(_ argv: [String], report: String) -> Int? {
        guard spawnAndWait(["/usr/bin/time", "-f", "%M", "-o", report] + argv).status == 0 else { return nil }
        return Int(procText(report).split(separator: "\n").last ?? "")
    }

    /// Exit status (-1 when it could not start) and CPU milliseconds; stdout and stderr to /dev/null.
    static func spawnAndWait(_ argv: [String]) -> (status: Int32, cpu: Double) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        let spawned = posix_spawnp(&pid, argv[0], &actions, nil, cArguments, environ)
        cArguments.forEach { free($0) }
        posix_spawn_file_actions_destroy(&actions)
        guard spawned == 0 else { return (-1, 0) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        func milliseconds(_ time: timeval) -> Double { Double(time.tv_sec) * 1000 + Double(time.tv_usec) / 1000 }
        return (status, milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime))
    }

    static let nextArguments = ["next", "--expr", "30 2 * * *", "--count", "5"]
    static let calendarArguments = ["systemd-analyze", "calendar", "--iterations=5", "*-*-* 02:30:00"]

    static func startup(builds: [Build], runs: Int) {
        var commands: [(title: String, argv: [String])] = []
        for build in builds {
            commands.append(("`ascribe --version` (\(build.label))", [build.executable, "--version"]))
            commands.append(("`ascribe next --expr '30 2 * * *' --count 5` (\(build.label))", [build.executable] + nextArguments))
        }
        commands.append(("`systemd-analyze calendar --iterations=5 '*-*-* 02:30:00'`", calendarArguments))
        var times = Array(repeating: [Double](), count: commands.count)
        var cpus = Array(repeating: [Double](), count: commands.count)
        var residents = Array(repeating: [Double](), count: commands.count)
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-startup-\(getpid()).time").path
        defer { try? FileManager.default.removeItem(atPath: report) }
        // Interleaved, so a burst of load from the shared machine falls on every command alike.
        for _ in 0..<runs {
            for (index, command) in commands.enumerated() {
                if let measured = Self.times(command.argv) {
                    times[index].append(measured.wall)
                    cpus[index].append(measured.cpu)
                }
                if let kib = maxResident(command.argv, report: report) { residents[index].append(Double(kib) / 1024) }
            }
        }
        let reference = percentile(times[commands.count - 1].sorted(), 0.5)
        let cpuReference = percentile(cpus[commands.count - 1].sorted(), 0.5)
        print("## CLI start-up: whole processes, \(runs) runs each, interleaved\n")
        print("Wall time around `posix_spawn` … `wait4` (stdout and stderr to /dev/null); CPU = the child's user + system time from `wait4` (less disturbed by other load than wall time); max RSS from separate runs under `/usr/bin/time -f %M`, interleaved too. Load average at the start: \(loadAverage()).\n")
        print("| command | wall p50 | wall min | wall max | CPU p50 | max RSS p50 | wall p50 / systemd-analyze | CPU p50 / systemd-analyze |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for (index, command) in commands.enumerated() {
            let times = times[index].sorted()
            let cpu = percentile(cpus[index].sorted(), 0.5)
            let resident = residents[index].sorted()
            guard !times.isEmpty else {
                print("| \(command.title) | failed to run | | | | | | |")
                continue
            }
            print("| \(command.title) | \(format(percentile(times, 0.5), 1)) ms | \(format(times[0], 1)) ms | \(format(times.last ?? .nan, 1)) ms "
                + "| \(format(cpu, 1)) ms | \(format(percentile(resident, 0.5), 1)) MiB | \(format(percentile(times, 0.5) / reference, 2))× | \(format(cpu / cpuReference, 2))× |")
        }
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    // MARK: Idle daemon memory

    /// What `/proc/<pid>` says about a process's memory, in KiB.
    struct Memory {
        var resident = 0
        var anonymous = 0
        var file = 0
        var threads = 0
        /// The largest file-backed mappings by resident size, and all anonymous memory as one.
        var largest: [(name: String, kib: Int)] = []
    }

    /// A `/proc` file whole (its size reads as 0, so readers that trust the size stop early).
    static func procText(_ path: String) -> String {
        guard let descriptor = try? FileDescriptor.open(path, flags: O_RDONLY),
              let bytes = try? SystemCalls.readToEnd(descriptor.rawValue) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func memory(pid: Int32) -> Memory {
        var memory = Memory()
        for line in procText("/proc/\(pid)/status").split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let value = Int(fields[1]) else { continue }
            switch fields[0] {
            case "VmRSS:": memory.resident = value
            case "RssAnon:": memory.anonymous = value
            case "RssFile:": memory.file = value
            case "Threads:": memory.threads = value
            default: break
            }
        }
        var byName: [String: Int] = [:]
        var current = "[anonymous]"
        for line in procText("/proc/\(pid)/smaps").split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), !first.hasSuffix(":") {
                current = fields.count > 5 ? String(fields[5].split(separator: "/").last ?? fields[5]) : "[anonymous]"
                if current.hasPrefix("[") { current = "[anonymous]" }
            } else if fields.first == "Rss:", fields.count > 1, let value = Int(fields[1]) {
                byName[current, default: 0] += value
            }
        }
        memory.largest = byName.sorted { $0.value > $1.value }.prefix(8).map { ($0.key, $0.value) }
        return memory
    }

    static func idleMemory(builds: [Build], jobs count: Int, settleSeconds: Int) {
        let root = DaemonBenchmark.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for index in 0..<count {
            DaemonBenchmark.writeJob(root: root, name: String(format: "idle-%05d", index), schedule: "0 3 1 1 *", command: "/bin/true")
        }
        print("## Idle daemon with \(count) jobs (`0 3 1 1 *`, none due): resident memory\n")
        print("Each build's `ascribe daemon --quiet` on the same jobs directory (a fresh state directory each), one after the other; sampled \(settleSeconds) s after `daemon.started` is in the store, from `/proc/<pid>/status` (VmRSS = RssAnon + RssFile) and `/proc/<pid>/smaps` (resident KiB by mapping). Load average at the start: \(loadAverage()).\n")
        print("| build | VmRSS | RssAnon | RssFile | threads | largest mappings (resident) | target |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for build in builds {
            try? FileManager.default.removeItem(atPath: root + "/state")
            guard let daemon = DaemonBenchmark.startDaemon(executable: build.executable, root: root) else { continue }
            let clock = ContinuousClock()
            let began = clock.now
            var loaded = false
            while !loaded && clock.now - began < .seconds(120) {
                usleep(100_000)
                let store = try? EventStore.open(path: root + "/state/events.db", access: .readOnly)
                loaded = ((try? store?.events(matching: EventFilter(type: .daemonStarted, limit: 1))) ?? nil)?.isEmpty == false
            }
            sleep(UInt32(settleSeconds))
            let sample = memory(pid: daemon.processIdentifier)
            daemon.terminate()
            daemon.waitUntilExit()
            func mib(_ kib: Int) -> String { format(Double(kib) / 1024, 1) + " MiB" }
            let largest = sample.largest.map { "\($0.name) \(mib($0.kib))" }.joined(separator: ", ")
            print("| \(build.label) | \(mib(sample.resident)) | \(mib(sample.anonymous)) | \(mib(sample.file)) | \(sample.threads) | \(largest) | < 25 MB |")
        }
    }
}
