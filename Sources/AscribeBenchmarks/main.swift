import AscribeCore
import AscribeRuntime
import Foundation

/// Release-build benchmarks that print figures (never timed assertions in tests).
/// Run: swift run -c release ascribe-benchmarks   (figures go to BENCHMARKS.md by hand)
/// `ascribe-benchmarks events` runs only the event store section, with the 1M-event store.
/// `ascribe-benchmarks daemon [idle-seconds]` runs only the daemon section (issue 4, a few minutes).
/// `ascribe-benchmarks tokens [rounds]`, `checkpoints [old=DIR] [rounds] [no-verify]`: issues 13 and 14's costs
/// (TokenBenchmark.swift, CheckpointBenchmark.swift).
/// `ascribe-benchmarks startup|memory [label=directory …]`: CLI start-up, idle daemon memory
/// (issue 11 item 6), of the builds named, side by side (StartupBenchmark.swift).

/// A realistic mix: what crontabs and job directories actually hold, with varied values.
func realisticExpressions(count: Int, rng: inout SplitMix64) -> [String] {
    let templates: [(inout SplitMix64) -> String] = [
        { "*/\([5, 10, 15, 20, 30].randomElement(using: &$0)!) * * * *" },
        { "\(Int.random(in: 0...59, using: &$0)) * * * *" },
        { "\(Int.random(in: 0...59, using: &$0)) \(Int.random(in: 0...23, using: &$0)) * * *" },
        { "\(Int.random(in: 0...59, using: &$0)) \(Int.random(in: 6...10, using: &$0)) * * 1-5" },
        { "\(Int.random(in: 0...59, using: &$0)) \(Int.random(in: 0...5, using: &$0)) \(Int.random(in: 1...28, using: &$0)) * *" },
        { "0 \(Int.random(in: 0...23, using: &$0)) * * \(Int.random(in: 0...6, using: &$0))" },
        { "*/15 \(Int.random(in: 7...9, using: &$0))-\(Int.random(in: 17...19, using: &$0)) * * MON-FRI" },
        { "\(Int.random(in: 0...59, using: &$0)) \(Int.random(in: 0...23, using: &$0)) L * *" },
        { "0 \(Int.random(in: 0...23, using: &$0)) * * \(Int.random(in: 1...5, using: &$0))L" },
        { "30 \(Int.random(in: 0...23, using: &$0)) * * FRI#\(Int.random(in: 1...4, using: &$0))" },
        { "0 0 1 \(["1", "*/3", "1,7", "JAN-JUN"].randomElement(using: &$0)!) *" },
        { "\(Int.random(in: 0...59, using: &$0)) */\([2, 3, 4, 6, 12].randomElement(using: &$0)!) * * *" },
        { _ in "* * * * *" },
        { ["@hourly", "@daily", "@weekly", "@monthly"].randomElement(using: &$0)! },
    ]
    return (0..<count).map { _ in templates.randomElement(using: &rng)!(&rng) }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func nextFireThroughput(_ crons: [CronExpression], starts: [Instant], zone: ZoneRules) -> (rate: Double, total: Int) {
    let clock = ContinuousClock()
    var computed = 0
    var checksum: Int64 = 0
    let began = clock.now
    var elapsed = 0.0
    repeat {
        for (index, cron) in crons.enumerated() {
            if let fire = cron.nextFire(after: starts[index], in: zone) { checksum &+= fire.instant.secondsSinceEpoch }
            computed += 1
        }
        elapsed = seconds(clock.now - began)
    } while elapsed < 2
    precondition(checksum != 0)
    return (Double(computed) / elapsed, computed)
}

func cronsimRate(expressions: [String], starts: [Instant], zone: String) -> Double? {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Tests/cronsim/bench_cronsim.py").path
    // cronsim has no macros: hand it their five-field meaning.
    let macros = ["@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"]
    var input = ""
    for (index, written) in expressions.enumerated() {
        let expression = macros[written] ?? written
        input += JSONValue.object([("expr", .string(expression)), ("zone", .string(zone)),
                                   ("start", .int(starts[index].secondsSinceEpoch))]).rendered + "\n"
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script]
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let payload = Data(input.utf8)
    let writer = Thread {
        stdin.fileHandleForWriting.write(payload)
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
          let count = object["computations"] as? Double ?? (object["computations"] as? Int).map(Double.init),
          let elapsed = object["seconds"] as? Double, elapsed > 0 else { return nil }
    return count / elapsed
}

/// Wall time of whole `ascribe` processes, spawned and reaped directly (Foundation's Process
/// adds tens of milliseconds of its own).
func processTimes(executable: String, arguments: [String], runs: Int) -> [Double] {
    let clock = ContinuousClock()
    var times: [Double] = []
    let argv = [executable] + arguments
    for _ in 0..<runs {
        let began = clock.now
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        let spawned = posix_spawn(&pid, executable, &actions, nil, cArguments, environ)
        cArguments.forEach { free($0) }
        posix_spawn_file_actions_destroy(&actions)
        guard spawned == 0 else { return [] }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        times.append(seconds(clock.now - began) * 1000)
    }
    return times.sorted()
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

func format(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

if CommandLine.arguments.dropFirst().first == "daemon" {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ascribe").path
    let idleSeconds = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 300
    DaemonBenchmark.run(executable: executable, idleSeconds: idleSeconds)
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "startup" {
    StartupBenchmark.startup(builds: StartupBenchmark.builds(Array(CommandLine.arguments.dropFirst(2)), benchmarks: CommandLine.arguments[0]), runs: 20)
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "memory" {
    StartupBenchmark.idleMemory(builds: StartupBenchmark.builds(Array(CommandLine.arguments.dropFirst(2)), benchmarks: CommandLine.arguments[0]),
                                jobs: 10_000, settleSeconds: 20)
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "tokens" {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ascribe").path
    await TokenBenchmark.run(executable: executable, rounds: CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 3)
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "checkpoints" {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ascribe").path
    let options = CommandLine.arguments.dropFirst(2)
    CheckpointBenchmark.run(executable: executable,
                            oldDirectory: options.first { $0.hasPrefix("old=") }.map { String($0.dropFirst(4)) },
                            rounds: options.compactMap { Int($0) }.first ?? 1, largeLog: !options.contains("no-verify"))
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "events" {
    EventStoreBenchmark.run(includingLargeStore: true)
    exit(0)
}

var rng = SplitMix64(seed: 20_261_123)
let expressions = realisticExpressions(count: 10_000, rng: &rng)
let crons = expressions.compactMap { try? CronExpression(parsing: $0) }
precondition(crons.count == expressions.count, "a benchmark expression failed to parse")
let starts = (0..<crons.count).map { _ in Instant(secondsSinceEpoch: Int64.random(in: 1_767_225_600...1_798_761_600, using: &rng)) }
let database = ZoneDatabase()
guard let berlin = database.rules(for: "Europe/Berlin") else { fatalError("Europe/Berlin is not installed (tzdata)") }

print("# Ascribe benchmarks (release build)\n")
print("## Next-fire throughput: 10,000 realistic expressions, one thread\n")
print("| zone | Ascribe (computations/s) | cronsim (computations/s) | ratio |")
print("| --- | --- | --- | --- |")
for (name, zone) in [("UTC", ZoneRules.utc), ("Europe/Berlin", berlin)] {
    let ours = nextFireThroughput(crons, starts: starts, zone: zone)
    let theirs = cronsimRate(expressions: expressions, starts: starts, zone: name)
    let ratio = theirs.map { format(ours.rate / $0, 0) + "×" } ?? "cronsim not installed"
    print("| \(name) | \(format(ours.rate)) | \(theirs.map { format($0) } ?? "n/a") | \(ratio) |")
}

let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ascribe").path
print("\n## `ascribe next --expr` as a whole process (\(executable))\n")
if FileManager.default.isExecutableFile(atPath: executable) {
    let times = processTimes(executable: executable,
                             arguments: ["next", "--expr", "30 2 * * *", "--tz", "Europe/Berlin", "--count", "5"], runs: 50)
    print("| runs | p50 (ms) | p90 (ms) | max (ms) |")
    print("| --- | --- | --- | --- |")
    print("| \(times.count) | \(format(percentile(times, 0.5), 1)) | \(format(percentile(times, 0.9), 1)) | \(format(times.last ?? .nan, 1)) |")
} else {
    print("not built: run `swift build -c release` first")
}

EventStoreBenchmark.run(includingLargeStore: false)

// MARK: Launch burst

/// The product path for runs due together: `RunExecution.runTogether` — every `run.fired` in
/// one durable transaction before anything starts, starts in slices of 64 handed to one
/// RunSupervisor, each terminal event appended (and durable) as its run ends.
@MainActor
func recordedBurst(count: Int, directory: String) async -> (rate: Double, failures: Int)? {
    var lines = ["schedule = * * * * *", "identity = burst-runner", "owner = bench <bench@example.com>", "command = /bin/true"]
    if DefaultPaths.runningAsRoot { lines.append("run-as = nobody") }
    let parsed = JobFile.parse(Array((lines.joined(separator: "\n") + "\n").utf8), path: "/bench/burst.job", zones: { _ in nil })
    guard let job = parsed.definition,
          let store = try? EventStore.open(path: directory + "/recorded-\(RandomIdentifier.hex128())/events.db") else { return nil }
    let execution = RunExecution(store: store, environment: RunEnvironment(
        host: "bench", stateDirectory: directory, credentialStore: directory + "/credentials",
        development: !DefaultPaths.runningAsRoot))
    let slot = EventTime.now()
    let clock = ContinuousClock()
    let began = clock.now
    let reports = await execution.runTogether(Array(repeating: RunOrder(job: job, definitionHash: nil, scheduledFor: slot), count: count))
    let elapsed = seconds(clock.now - began)
    let recorded = reports.filter { report in
        guard case .completed(let completion) = report.result else { return false }
        return completion.outcome.succeeded && report.events.count == 2
    }
    return (Double(count) / elapsed, count - recorded.count)
}

/// Launcher alone, no event store: prepare a slice, start it, hand each run to one
/// RunSupervisor, until the last completion. Slices of one use the single-run `start`.
/// `generated`: files each run finds in its credentials directory (a token, TokenBenchmark).
func launcherBurst(count: Int, slice: Int, directory: String,
                   generated: [LaunchRequest.GeneratedCredential] = []) async -> (rate: Double, failures: Int)? {
    let launcher = Launcher(configuration: LauncherConfiguration(
        credentialsRuntimeDirectory: directory + "/credentials", makeDigest: { SHA256OutputDigest() }))
    guard let supervisor = try? RunSupervisor() else { return nil }
    let runAs = DefaultPaths.runningAsRoot ? RunAsTarget(user: "nobody") : nil
    let clock = ContinuousClock()
    let began = clock.now
    var failures = 0
    for first in stride(from: 0, to: count, by: slice) {
        var prepared: [PreparedLaunch] = []
        for _ in first..<min(count, first + slice) {
            let runID = RandomIdentifier.hex128()
            var request = LaunchRequest(
                runID: runID, executable: "/bin/true", arguments: ["true"], runAs: runAs,
                attribution: AttributionEnvironment(job: "burst", identity: "burst-runner", runID: runID, scheduledFor: nil),
                outputPath: directory + "/\(runID).out")
            request.generatedCredentials = generated
            do {
                prepared.append(try launcher.prepare(request))
            } catch {
                failures += 1
            }
        }
        let results = slice == 1 ? prepared.map { prepared in Result { () throws(LaunchFailure) in try launcher.start(prepared) } }
                                 : launcher.start(prepared)
        for result in results {
            switch result {
            case .success(let running): supervisor.supervise(running)
            case .failure: failures += 1
            }
        }
    }
    supervisor.finish()
    var succeeded = 0
    for await completion in supervisor.completions where completion.outcome == .exited(code: 0) { succeeded += 1 }
    let elapsed = seconds(clock.now - began)
    return (Double(count) / elapsed, count - succeeded + failures)
}

/// The floor: posix_spawn + waitpid, one run at a time, no privilege change, no capture.
func bareSpawnLoop(count: Int) -> Double {
    let clock = ContinuousClock()
    let began = clock.now
    var argv: [UnsafeMutablePointer<CChar>?] = [strdup("true"), nil]
    defer { free(argv[0]) }
    for _ in 0..<count {
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/true", nil, nil, &argv, environ) == 0 else { continue }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
    return Double(count) / seconds(clock.now - began)
}

let burstDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-burst-\(getpid())").path
try? FileManager.default.createDirectory(atPath: burstDirectory, withIntermediateDirectories: false)
print("\n## Launch burst: 1,000 `/bin/true` runs due at the same instant\n")
print("Recorded path: `RunExecution.runTogether` — all 1,000 `run.fired` events in one durable transaction, then starts in slices of 64 (exec helper, \(DefaultPaths.runningAsRoot ? "run as nobody" : "run as the invoking user")) → one RunSupervisor → each terminal event appended durably as its run ends. The launcher-only rows leave the store out.\n")
print("Three interleaved rounds (the cores are shared); median, with the range in brackets.\n")
print("| path | runs/s | ratio to bare |")
print("| --- | --- | --- |")
let paths = [("Ascribe launcher only, slices of 64", 64), ("Ascribe launcher only, one at a time", 1)]
var bareRates: [Double] = []
var recordedRates: [Double] = []
var recordedRatios: [Double] = []
var recordedFailures = 0
var pathRates = Array(repeating: [Double](), count: paths.count)
var pathRatios = Array(repeating: [Double](), count: paths.count)
var pathFailures = Array(repeating: 0, count: paths.count)
var supervisorAvailable = true
for _ in 0..<3 {
    let bare = bareSpawnLoop(count: 1000)
    bareRates.append(bare)
    if let recorded = await recordedBurst(count: 1000, directory: burstDirectory) {
        recordedRates.append(recorded.rate)
        recordedRatios.append(recorded.rate / bare)
        recordedFailures += recorded.failures
    }
    for (index, path) in paths.enumerated() {
        guard let burst = await launcherBurst(count: 1000, slice: path.1, directory: burstDirectory) else {
            supervisorAvailable = false
            continue
        }
        pathRates[index].append(burst.rate)
        pathRatios[index].append(burst.rate / bare)
        pathFailures[index] += burst.failures
    }
}
func summary(_ values: [Double], _ digits: Int = 0) -> String {
    let sorted = values.sorted()
    return "\(format(percentile(sorted, 0.5), digits)) [\(format(sorted.first ?? .nan, digits))–\(format(sorted.last ?? .nan, digits))]"
}
print("| bare posix_spawn + waitpid | \(summary(bareRates)) | 1.00 |")
print("| Ascribe, recorded (runTogether: launcher + event store)\(recordedFailures > 0 ? " (\(recordedFailures) not recorded as succeeded)" : "") | \(summary(recordedRates)) | \(summary(recordedRatios, 2)) |")
for (index, path) in paths.enumerated() {
    guard supervisorAvailable else {
        print("| \(path.0) | n/a (no supervisor: epoll or eventfd unavailable) | n/a |")
        continue
    }
    let failed = pathFailures[index] > 0 ? " (\(pathFailures[index]) did not succeed)" : ""
    print("| \(path.0)\(failed) | \(summary(pathRates[index])) | \(summary(pathRatios[index], 2)) |")
}
try? FileManager.default.removeItem(atPath: burstDirectory)
