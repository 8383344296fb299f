import AscribeCore
import AscribeRuntime
import Foundation

/// Issue 13 item 5's cost: `ascribe-benchmarks tokens [rounds]`. The 1,000-job burst with no
/// tokens, one ES256 token per run and one RS256 token per run, side by side: signing alone,
/// the in-process recorded burst (`RunExecution.runTogether`, interleaved rounds) and the real
/// daemon's burst (slot → spawn).
enum TokenBenchmark {
    enum Variant: String, CaseIterable {
        case none = "no tokens"
        case es256 = "one ES256 token per run"
        case rs256 = "one RS256 token per run"

        var algorithm: KeyAlgorithm? {
            switch self {
            case .none: nil
            case .es256: .es256
            case .rs256: .rs256
            }
        }
    }

    static let issuer = "https://ascribe.bench.example"
    static let tokenLine = "tokens = id=https://vault.bench.example"

    static func run(executable: String, rounds: Int) async {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-tokens-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        print("# Identity token cost (issue 13 item 5), release build\n")
        signingAlone(directory: directory)
        await recordedBursts(directory: directory, rounds: rounds)
        await stagingBursts(directory: directory, rounds: rounds)
        print("\n## The real daemon: 1,000 jobs due at the same minute\n")
        print("Daemon arguments added per variant: `--issuer \(issuer) --keys <tmp> --token-algorithm ALG`; jobs add `\(tokenLine)`.\n")
        print("| jobs | slot | fired / succeeded | run.fired p50 / p99 / max (ms) | spawn p50 / p99 / max (ms) | start p50 / p99 / max (ms) | peak open fds | target (p99 spawn) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        _ = DaemonBenchmark.raiseFileLimit()
        for _ in 0..<rounds {
            for variant in Variant.allCases {
                let arguments = ["--keys", "<root>/keys"]
                    + (variant.algorithm.map { ["--issuer", issuer, "--token-algorithm", $0.rawValue] } ?? [])
                DaemonBenchmark.burst(executable: executable, jobs: 1000, target: "< 1000 ms", label: variant.rawValue,
                                      daemonArguments: arguments, jobLines: variant.algorithm == nil ? [] : [tokenLine])
            }
        }
    }

    static func authority(_ algorithm: KeyAlgorithm, directory: String) throws -> TokenAuthority {
        var keys = try KeyStore.open(KeyStoreSettings(directory: directory + "/keys-\(RandomIdentifier.hex128())",
                                                      tokenAlgorithm: algorithm, checkpointKeyName: "ascribe/bench"), create: true)
        _ = try keys.prepare(.token, now: EventTime.now().instant)
        return TokenAuthority(issuer: issuer, lifetime: 600, store: keys)
    }

    /// What the burst adds per run, without the burst: `TokenAuthority.issue` 1,000 times.
    static func signingAlone(directory: String) {
        print("## Signing alone: 1,000 tokens, one thread\n")
        print("| algorithm | total (ms) | per token (µs) |")
        print("| --- | --- | --- |")
        let subject = TokenSubject(identity: "bench-runner", job: "bench", owner: "bench <bench@example.com>", principal: nil,
                                   trigger: "schedule", scheduledFor: EventTime.now().rfc3339, host: "bench",
                                   configHash: String(repeating: "a", count: 64), runID: RandomIdentifier.hex128())
        for algorithm in [KeyAlgorithm.es256, .rs256] {
            do {
                let requests = [try TokenRequest(parsing: "id=https://vault.bench.example")]
                let authority = try authority(algorithm, directory: directory)
                _ = try authority.issue(requests, for: subject, at: EventTime.now().instant)
                let clock = ContinuousClock()
                let began = clock.now
                for _ in 0..<1000 { _ = try authority.issue(requests, for: subject, at: EventTime.now().instant) }
                let elapsed = seconds(clock.now - began)
                print("| \(algorithm.rawValue) | \(format(elapsed * 1000, 1)) | \(format(elapsed * 1000, 0)) |")
            } catch {
                print("| \(algorithm.rawValue) | failed: \(error) | |")
            }
        }
    }

    /// `RunExecution.runTogether` with 1,000 runs of one job: runs per second over the whole
    /// burst, and slot → `spawned_at` of every run (from its terminal event).
    @MainActor
    static func recordedBurst(_ variant: Variant, directory: String) async -> (rate: Double, spawn: [Double], failures: Int)? {
        var lines = ["schedule = * * * * *", "identity = burst-runner", "owner = bench <bench@example.com>", "command = /bin/true"]
        if DefaultPaths.runningAsRoot { lines.append("run-as = nobody") }
        if variant.algorithm != nil { lines.append(tokenLine) }
        let parsed = JobFile.parse(Array((lines.joined(separator: "\n") + "\n").utf8), path: "/bench/burst.job", zones: { _ in nil })
        guard let job = parsed.definition,
              let store = try? EventStore.open(path: directory + "/recorded-\(RandomIdentifier.hex128())/events.db") else { return nil }
        let tokens = variant.algorithm.flatMap { try? authority($0, directory: directory) }
        guard variant.algorithm == nil || tokens != nil else { return nil }
        let execution = RunExecution(store: store, environment: RunEnvironment(
            host: "bench", stateDirectory: directory, credentialStore: directory + "/credentials",
            development: !DefaultPaths.runningAsRoot, tokens: tokens))
        let slot = EventTime.now()
        let clock = ContinuousClock()
        let began = clock.now
        let reports = await execution.runTogether(Array(repeating: RunOrder(job: job, definitionHash: nil, scheduledFor: slot), count: 1000))
        let elapsed = seconds(clock.now - began)
        var spawn: [Double] = []
        var failures = 0
        for report in reports {
            guard case .completed(let completion) = report.result, completion.outcome.succeeded,
                  let terminal = report.events.last(where: { $0.type.isRunTerminal }),
                  let spawned = DaemonBenchmark.spawnedAt(terminal) else {
                failures += 1
                continue
            }
            spawn.append(Double(spawned - slot.millisecondsSinceEpoch))
        }
        return (1000 / elapsed, spawn.sorted(), failures)
    }

    /// Where the rest goes: the launcher alone (no store, no signing), 1,000 runs in slices of
    /// 64, with and without a credentials directory holding one token-sized file per run
    /// (made, handed to the run's user, removed after the run).
    static func stagingBursts(directory: String, rounds: Int) async {
        print("\n## Launcher only: a credentials directory per run, no store, no signing\n")
        let token = LaunchRequest.GeneratedCredential(name: "id.jwt", bytes: Array(repeating: UInt8(ascii: "a"), count: 700))
        var rates: [[Double]] = [[], []]
        for _ in 0..<rounds {
            for (index, generated) in [[], [token]].enumerated() {
                if let burst = await launcherBurst(count: 1000, slice: 64, directory: directory, generated: generated) {
                    rates[index].append(burst.rate)
                }
            }
        }
        print("| launcher, slices of 64 | runs/s | ratio |")
        print("| --- | --- | --- |")
        print("| no credentials | \(summary(rates[0])) | 1.00 |")
        print("| one 700-byte file staged per run | \(summary(rates[1])) | \(format(percentile(rates[1].sorted(), 0.5) / percentile(rates[0].sorted(), 0.5), 2)) |")
    }

    static func recordedBursts(directory: String, rounds: Int) async {
        print("\n## Recorded burst in-process: 1,000 `/bin/true` runs, `RunExecution.runTogether`\n")
        print("\(rounds) interleaved rounds (none, ES256, RS256, none, …); median with the range in brackets. Spawn = slot → the terminal event's `spawned_at` (ms resolution).\n")
        var rates: [Variant: [Double]] = [:]
        var p50: [Variant: [Double]] = [:]
        var p99: [Variant: [Double]] = [:]
        var failures: [Variant: Int] = [:]
        for _ in 0..<rounds {
            for variant in Variant.allCases {
                guard let burst = await recordedBurst(variant, directory: directory) else { continue }
                rates[variant, default: []].append(burst.rate)
                p50[variant, default: []].append(percentile(burst.spawn, 0.5))
                p99[variant, default: []].append(percentile(burst.spawn, 0.99))
                failures[variant, default: 0] += burst.failures
            }
        }
        func median(_ values: [Double]?) -> Double { percentile((values ?? []).sorted(), 0.5) }
        print("| variant | runs/s | spawn p50 (ms) | spawn p99 (ms) | runs/s vs no tokens | p99 spawn vs no tokens |")
        print("| --- | --- | --- | --- | --- | --- |")
        for variant in Variant.allCases {
            let failed = (failures[variant] ?? 0) > 0 ? " (\(failures[variant] ?? 0) not succeeded)" : ""
            print("| \(variant.rawValue)\(failed) | \(summary(rates[variant] ?? [])) | \(summary(p50[variant] ?? [])) | \(summary(p99[variant] ?? []))"
                  + " | \(format(median(rates[variant]) / median(rates[.none]), 2)) | \(format(median(p99[variant]) / median(p99[.none]), 2)) |")
        }
    }
}
