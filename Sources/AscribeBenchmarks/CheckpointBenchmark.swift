import AscribeCore
import AscribeRuntime
import Foundation

/// Issue 14 item 6's cost: `ascribe-benchmarks checkpoints [old=DIR] [rounds] [no-verify]`. Durable appends
/// with the Merkle tree (the same batches as the event store section), the real daemon's
/// 1,000-job burst without (`--no-checkpoints`) and with checkpoints (and the `ascribe` in DIR, a build from
/// before the tree, when given), and (unless `no-verify`) `ascribe verify --checkpoint` over
/// 1,000,000 events.
enum CheckpointBenchmark {
    static func run(executable: String, oldDirectory: String?, rounds: Int, largeLog: Bool) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-checkpoints-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        print("# Checkpoint cost (issue 14 item 6), release build\n")
        do {
            try EventStoreBenchmark.appendRates(directory: directory)
        } catch {
            print("durable appends failed: \(error)")
        }
        print("\n## The real daemon: 1,000 jobs due at the same minute\n")
        print("| jobs | slot | fired / succeeded | run.fired p50 / p99 / max (ms) | spawn p50 / p99 / max (ms) | start p50 / p99 / max (ms) | peak open fds | target (p99 spawn) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        _ = DaemonBenchmark.raiseFileLimit()
        let old = oldDirectory.map { $0 + "/ascribe" }
        for _ in 0..<rounds {
            if let old {
                DaemonBenchmark.burst(executable: old, jobs: 1000, target: "< 1000 ms", label: "before the tree")
            }
            DaemonBenchmark.burst(executable: executable, jobs: 1000, target: "< 1000 ms", label: "tree",
                                  daemonArguments: ["--no-checkpoints"])
            DaemonBenchmark.burst(executable: executable, jobs: 1000, target: "< 1000 ms", label: "tree, checkpoints",
                                  daemonArguments: ["--keys", "<root>/keys", "--witness-file", "<root>/witness"])
        }
        guard largeLog else { return }
        do {
            try verifyLargeLog(executable: executable, directory: directory + "/large")
        } catch {
            print("verify --checkpoint on 1,000,000 events failed: \(error)")
        }
    }

    /// 1,000,000 events through the store API (batches of 20,000, as the event store section),
    /// one checkpoint of the whole log signed with a fresh Ed25519 key, then `ascribe verify`
    /// with and without `--checkpoint` as whole processes: wall time and peak RSS.
    static func verifyLargeLog(executable: String, directory: String) throws {
        let count = EventStoreBenchmark.storeSize
        let store = try EventStore.open(path: directory + "/events.db")
        let step = EventStoreBenchmark.yearMilliseconds / Int64(count)
        let clock = ContinuousClock()
        let began = clock.now
        for batchStart in stride(from: 0, to: count, by: 20_000) {
            try store.append((batchStart..<batchStart + 20_000).map {
                EventStoreBenchmark.draft(index: $0, time: EventStoreBenchmark.yearStart + Int64($0) * step)
            })
        }
        let buildSeconds = seconds(clock.now - began)
        let signer = try NoteSigner(name: EventStore.checkpointOrigin(host: "bench-host"), key: SigningKey.generate(.ed25519))
        let (signed, _) = try store.signCheckpoint(signer: signer, host: "bench-host", actor: "bench", time: EventTime.now())
        let checkpointPath = directory + "/checkpoint"
        try signed.note.rendered.write(toFile: checkpointPath, atomically: false, encoding: .utf8)
        print("\n## `ascribe verify --checkpoint` on \(count) events\n")
        print("Store built through `EventStore.append` with the tree in \(format(buildSeconds, 1)) s (batches of 20,000: \(format(Double(count) / buildSeconds)) events/s); one checkpoint of all \(count) events signed, then each command 3 times as a whole process (wall time around `posix_spawn` … `waitpid`), and once more under `/usr/bin/time -f %M` for its peak RSS.\n")
        print("| command | exit | wall p50 / max (s) | peak RSS (MB) |")
        print("| --- | --- | --- | --- |")
        let commands: [(String, [String])] = [
            ("verify --checkpoint FILE --key VKEY", ["verify", "--state", directory, "--checkpoint", checkpointPath, "--key", signer.verifierKey.description]),
            ("verify (chain only)", ["verify", "--state", directory]),
        ]
        for (name, arguments) in commands {
            var times: [Double] = []
            var status: Int32 = -1
            for _ in 0..<3 {
                guard let measured = measuredProcess(executable: executable, arguments: arguments) else { continue }
                times.append(measured.seconds)
                status = measured.status
            }
            times.sort()
            print("| `\(name)` | \(status) | \(format(percentile(times, 0.5), 2)) / \(format(times.last ?? .nan, 2)) | \(peakResidentMB(executable: executable, arguments: arguments)) |")
        }
    }

    /// `/usr/bin/time -f %M` in a run of its own: `posix_spawn` vforks, so the harness's own peak
    /// (the million events just written) would be carried into the child's `ru_maxrss`.
    static func peakResidentMB(executable: String, arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%M", executable] + arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        guard (try? process.run()) != nil else { return "n/a (no /usr/bin/time)" }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let kilobytes = text.split(separator: "\n").last.flatMap({ Double($0) }) else { return "n/a" }
        return format(kilobytes / 1024, 1)
    }

    /// One whole process, spawned and reaped directly: wall seconds and exit status.
    static func measuredProcess(executable: String, arguments: [String]) -> (seconds: Double, status: Int32)? {
        let clock = ContinuousClock()
        let began = clock.now
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let cArguments = ([executable] + arguments).map { strdup($0) } + [nil]
        let spawned = posix_spawn(&pid, executable, &actions, nil, cArguments, environ)
        cArguments.forEach { free($0) }
        posix_spawn_file_actions_destroy(&actions)
        guard spawned == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -(status & 0x7F)
        return (seconds(clock.now - began), exit)
    }
}
