import AscribeCore
import AscribeRuntime
import Foundation

/// Event store figures for BENCHMARKS.md: durable append rate by batch size, and query latency
/// on a store of 1,000,000 events (500 jobs over a year). Everything lives in a temporary
/// directory that is removed afterwards.
enum EventStoreBenchmark {
    static let jobCount = 500
    static let storeSize = 1_000_000
    /// 2026-01-01T00:00:00Z.
    static let yearStart: Int64 = 1_767_225_600_000
    static let yearMilliseconds: Int64 = 365 * 86_400_000

    /// The 1M-event store takes over a minute to build, so only `ascribe-benchmarks events` builds it.
    static func run(includingLargeStore: Bool) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try appendRates(directory: directory)
            if includingLargeStore {
                try largeStoreQueries(path: directory + "/large/events.db")
            } else {
                print("\nQueries on 1,000,000 events: run `ascribe-benchmarks events` (builds the store first).")
            }
        } catch {
            print("event store benchmark failed: \(error)")
        }
    }

    /// Event `index` of a run pair: even indexes fire run index/2, odd ones end it (1 in 7 fails).
    static func draft(index: Int, time: Int64) -> EventDraft {
        let run = index / 2
        let job = "job-\(run % jobCount)"
        let type: EventType = index % 2 == 0 ? .runFired : (run % 7 == 3 ? .runFailed : .runSucceeded)
        return EventDraft(
            time: EventTime(millisecondsSinceEpoch: time), host: "bench-host", type: type, actor: job,
            owner: "bench-team <bench@example.com>", job: job, identity: job, runID: "run-\(run)",
            argv: ["/usr/bin/true"], runAs: "nobody", configSource: "/etc/ascribe/jobs.d/\(job).job:1",
            configHash: String(repeating: "a", count: 64), pid: type == .runFired ? Int32(1000 + index % 30_000) : nil,
            exitCode: type == .runFailed ? 1 : (type == .runSucceeded ? 0 : nil),
            durationMs: type == .runFired ? nil : Int64(index % 5000))
    }

    /// (b) Durable appends: every commit is a WAL fsync, so batching is what buys throughput.
    static func appendRates(directory: String) throws {
        print("\n## Event store: durable appends (WAL, synchronous=FULL)\n")
        print("| batch size | commits | events/s | ms per commit (mean) | ms per commit (max) |")
        print("| --- | --- | --- | --- | --- |")
        let clock = ContinuousClock()
        for (batchSize, commits) in [(1, 300), (10, 300), (100, 100), (1000, 20)] {
            let store = try EventStore.open(path: directory + "/append-\(batchSize)/events.db")
            var times: [Double] = []
            var index = 0
            for _ in 0..<commits {
                let drafts = (0..<batchSize).map { offset in draft(index: index + offset, time: yearStart + Int64(index + offset)) }
                index += batchSize
                let began = clock.now
                try store.append(drafts)
                times.append(seconds(clock.now - began) * 1000)
            }
            let total = times.reduce(0, +)
            let rate = Double(commits * batchSize) / (total / 1000)
            print("| \(batchSize) | \(commits) | \(format(rate)) | \(format(total / Double(commits), 2)) | \(format(times.max() ?? .nan, 2)) |")
        }
    }

    /// (d) `ascribe identities` on the same store: per job, the newest event of each terminal
    /// type and the count of `run.fired`, over 500 jobs whose logs hold no lost, timed-out or
    /// launch-failed runs (the worst case: those lookups walk all of a job's events).
    static func registryTimes(store: EventStore, directory: String) throws {
        let jobsDirectory = directory + "/jobs"
        try FileManager.default.createDirectory(atPath: jobsDirectory, withIntermediateDirectories: true)
        var jobs: [JobDefinition] = []
        for index in 0..<jobCount {
            let text = "schedule = */15 * * * *\nidentity = job-\(index)\nowner = bench-team <bench@example.com>\n"
                + "command = /usr/bin/true\ntimezone = UTC\n"
            let path = "\(jobsDirectory)/job-\(index).job"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            if let job = JobFile.parse(Array(text.utf8), path: path, zones: { _ in .utc }).definition { jobs.append(job) }
        }
        let load = JobDirectoryLoad(jobs: jobs, diagnostics: [], filesExamined: jobs.count)
        let clock = ContinuousClock()
        var times: [Double] = []
        var findings = 0
        for _ in 0..<5 {
            let began = clock.now
            let entries = try IdentityRegistry.entries(load: load, store: store, disablements: Disablements(store: store),
                                                       now: Instant(secondsSinceEpoch: (yearStart + yearMilliseconds) / 1000),
                                                       defaultZone: .utc)
            times.append(seconds(clock.now - began) * 1000)
            findings = entries.reduce(0) { $0 + $1.findings.count }
        }
        times.sort()
        print("\n| `ascribe identities`, \(jobCount) jobs (5 runs) | findings | p50 (ms) | max (ms) |")
        print("| --- | --- | --- | --- |")
        print("| registry in-process (reads every job's record) | \(findings) | \(format(percentile(times, 0.5), 1)) | \(format(times.last ?? .nan, 1)) |")
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("ascribe").path
        guard FileManager.default.isExecutableFile(atPath: executable) else { return }
        let processes = processTimes(executable: executable, arguments: [
            "identities", "--jobs", jobsDirectory, "--state", directory, "--json",
        ], runs: 5)
        print("| whole process, `--json` | | \(format(percentile(processes, 0.5), 1)) | \(format(processes.last ?? .nan, 1)) |")
    }

    /// (c) Queries on 1,000,000 events: what `ascribe log --job X --since T` asks of the store.
    static func largeStoreQueries(path: String) throws {
        let clock = ContinuousClock()
        let store = try EventStore.open(path: path)
        let step = yearMilliseconds / Int64(storeSize)
        let batchSize = 20_000
        let began = clock.now
        for batchStart in stride(from: 0, to: storeSize, by: batchSize) {
            try store.append((batchStart..<batchStart + batchSize).map { draft(index: $0, time: yearStart + Int64($0) * step) })
        }
        let buildSeconds = seconds(clock.now - began)
        print("\n## Event store: queries on \(storeSize) events (\(jobCount) jobs, one year)\n")
        print("Built in \(format(buildSeconds, 1)) s (batches of \(batchSize): \(format(Double(storeSize) / buildSeconds)) events/s).\n")
        print("| query (in-process, 20 runs, different jobs) | events returned | p50 (ms) | max (ms) |")
        print("| --- | --- | --- | --- |")
        let since = EventTime(millisecondsSinceEpoch: yearStart + yearMilliseconds / 2)
        let queries: [(String, (Int) -> EventFilter)] = [
            ("job X, since T (mid-year), limit 100", { EventFilter(job: "job-\($0 * 23 % jobCount)", since: since, limit: 100) }),
            ("job X, since T (mid-year), no limit", { EventFilter(job: "job-\($0 * 23 % jobCount)", since: since) }),
            ("identity X, type run.failed, limit 100", { EventFilter(identity: "job-\($0 * 23 % jobCount)", type: .runFailed, limit: 100) }),
            ("everything since T, limit 100", { _ in EventFilter(since: since, limit: 100) }),
        ]
        for (name, filter) in queries {
            var times: [Double] = []
            var returned = 0
            for run in 0..<20 {
                let began = clock.now
                returned = try store.events(matching: filter(run)).count
                times.append(seconds(clock.now - began) * 1000)
            }
            times.sort()
            print("| \(name) | \(returned) | \(format(percentile(times, 0.5), 2)) | \(format(times.last ?? .nan, 2)) |")
        }
        // The target is for `ascribe log` as a whole process: start-up, open, query, print.
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("ascribe").path
        if FileManager.default.isExecutableFile(atPath: executable) {
            let state = URL(fileURLWithPath: path).deletingLastPathComponent().path
            print("\n| `ascribe log` as a whole process (20 runs) | p50 (ms) | max (ms) |")
            print("| --- | --- | --- |")
            for (name, extra) in [("--job job-23 --since T", [String]()), ("--job job-23 --since T --limit 100", ["--limit", "100"])] {
                let times = processTimes(executable: executable, arguments: [
                    "log", "--state", state, "--job", "job-23", "--since", since.rfc3339,
                ] + extra, runs: 20)
                print("| \(name) | \(format(percentile(times, 0.5), 1)) | \(format(times.last ?? .nan, 1)) |")
            }
        }
        try registryTimes(store: store, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        let verifyBegan = clock.now
        let verification = try store.verify()
        print("\n`verify` of the whole store: \(verification) in \(format(seconds(clock.now - verifyBegan), 1)) s.")

        // What `daemon --metrics-file` does once, off the daemon's queue, before its first write.
        let countBegan = clock.now
        var metrics = JobMetrics()
        try store.forEachEvent(matching: EventFilter(order: .oldestFirst)) { metrics.apply($0, force: true) }
        print("\nMetrics textfile start-up count (every event read and applied): \(format(seconds(clock.now - countBegan), 1)) s"
              + " (last seq \(metrics.lastSeq)).")
        let formatBegan = clock.now
        var bytes = 0
        try store.forEachEvent(matching: EventFilter(since: since, limit: 100_000)) { bytes += SyslogMessage.format($0, processID: 1).utf8.count }
        let formatSeconds = seconds(clock.now - formatBegan)
        print("Syslog messages, read from the store and formatted: \(format(100_000 / formatSeconds)) per second"
              + " (mean \(bytes / 100_000) bytes).")
    }
}
