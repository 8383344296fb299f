import Foundation
import Synchronization
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// Standard output of a running process, split into lines as they arrive.
final class LineCollector: Sendable {
    private let state = Mutex<(lines: [String], partial: String)>(([], ""))

    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                return
            }
            state.withLock { state in
                state.partial += String(decoding: data, as: UTF8.self)
                while let newline = state.partial.firstIndex(of: "\n") {
                    state.lines.append(String(state.partial[..<newline]))
                    state.partial = String(state.partial[state.partial.index(after: newline)...])
                }
            }
        }
    }

    var lines: [String] { state.withLock { $0.lines } }

    /// Waits (real time, up to `seconds`) until at least `count` lines have arrived.
    func waitFor(_ count: Int, seconds: Double = 10) -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        while lines.count < count, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return lines
    }
}

@Suite struct LogFollowTests {
    /// `log` prints the short line by default, every field with `--verbose`; `--verbose` and
    /// `--json` exclude each other.
    @Test func logPrintsTheShortLineAndEveryFieldWithVerbose() throws {
        try EventStoreFixture.withScratchDirectory { directory in
            let state = directory + "/state"
            let store = try EventStore.open(path: DefaultPaths.eventStore(stateDirectory: state))
            try store.append([EventStoreFixture.fullDraft()])
            let short = try AscribeBinary.run(["log", "--state", state])
            #expect(short.status == 0)
            #expect(short.stdout.hasPrefix("2026-11-23T18:30:00.123Z  run.failed  failure-drill  failure-drill → alice  exit 3 after 12ms"))
            #expect(!short.stdout.contains("launch_failure") && !short.stdout.contains("pid 4242"))
            let verbose = try AscribeBinary.run(["log", "--state", state, "--verbose"])
            #expect(verbose.status == 0 && verbose.stdout.contains("launch_failure=\"none\"") && verbose.stdout.contains("pid 4242"))
            let both = try AscribeBinary.run(["log", "--state", state, "--verbose", "--json"])
            #expect(both.status == 2 && both.stderr.contains("--verbose and --json exclude each other"))
        }
    }

    /// The real binary: history first (filtered), then each matching event appended by
    /// another writer while it runs, one JSON object per line, the same object `log --json`
    /// prints; SIGTERM ends it with exit 0.
    @Test func followPrintsHistoryThenNewEventsAndStopsOnSigterm() throws {
        try EventStoreFixture.withScratchDirectory { directory in
            let state = directory + "/state"
            let store = try EventStore.open(path: DefaultPaths.eventStore(stateDirectory: state))
            try store.append([EventStoreFixture.draft(.runFired, minute: 0), EventStoreFixture.draft(.runFired, job: "other", minute: 1)])

            let follower = Process()
            follower.executableURL = URL(fileURLWithPath: AscribeBinary.path)
            follower.arguments = ["log", "--follow", "--json", "--state", state, "--job", "failure-drill"]
            let out = Pipe()
            follower.standardOutput = out
            let collector = LineCollector(out)
            try follower.run()
            defer { if follower.isRunning { follower.terminate() } }
            #expect(collector.waitFor(1).count == 1)

            // A clock stepped back: an older time but a later seq must still be shown.
            let appended = try store.append([
                EventStoreFixture.draft(.runSucceeded, minute: 2), EventStoreFixture.draft(.runFired, job: "other", minute: 3),
                EventStoreFixture.draft(.runFailed, minute: -5),
            ])
            let lines = collector.waitFor(3)
            let more = try store.append(EventStoreFixture.draft(.runFired, minute: 4))
            let all = collector.waitFor(4)
            follower.terminate()
            follower.waitUntilExit()
            #expect(follower.terminationStatus == 0 && follower.terminationReason == .exit)

            #expect(lines.count == 3 && all.count == 4)
            let expected = try store.events(matching: EventFilter(job: "failure-drill", order: .oldestFirst)).filter { $0.seq == 1 }
                + [appended[0], appended[2], more]
            #expect(all == expected.map(\.jsonObject.rendered))
            let plain = try AscribeBinary.run(["log", "--json", "--state", state, "--job", "failure-drill"])
            #expect(Set(plain.stdout.split(separator: "\n").map(String.init)) == Set(all))
        }
    }

    @Test func followEndsQuietlyWhenTheReaderGoesAway() throws {
        try EventStoreFixture.withScratchDirectory { directory in
            let state = directory + "/state"
            let store = try EventStore.open(path: DefaultPaths.eventStore(stateDirectory: state))
            try store.append(EventStoreFixture.draft(.runFired))
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", "{ \"$0\" log --follow --state \"$1\"; echo \"follow exited $?\" >&2; } | head -n 1", AscribeBinary.path, state]
            let out = Pipe()
            let errors = Pipe()
            shell.standardOutput = out
            shell.standardError = errors
            try shell.run()
            // head has exited after the history line; the next event's write meets a closed pipe.
            Thread.sleep(forTimeInterval: 0.5)
            try store.append(EventStoreFixture.draft(.runSucceeded, minute: 1))
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            shell.waitUntilExit()
            #expect(text.contains("run.fired") && !text.contains("run.succeeded"))
            #expect(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "follow exited 0\n")
        }
    }

    @Test func followRejectsUntil() throws {
        let result = try AscribeBinary.run(["log", "--follow", "--until", "now"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--follow"))
    }
}
