import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport

private typealias Fixture = EventStoreFixture

/// An independent verifier (Python, written from docs/EVENTS.md alone) must agree with the
/// store about the chain: the documentation is the format, not the Swift code.
@Suite(.requires(IndependentVerifier.isAvailable, "python3 is not installed; the independent chain check is skipped"))
struct EventStoreCrossCheckTests {
    @Test func theDocumentedEncodingIsTheOneStored() throws {
        try Fixture.withStorePath { path in
            try Self.fill(path)
            #expect(try IndependentVerifier.run(path) == "intact 300")
        }
    }

    /// A row changed behind the store's back (with the real sqlite3 tool) is found at the same
    /// seq by both verifiers.
    @Test(.requires(Fixture.sqliteToolInstalled, "the sqlite3 command-line tool is not installed (apt-get install sqlite3; .ci/run installs it)"))
    func bothVerifiersFindTheSameTamperedRow() throws {
        try Fixture.withStorePath { path in
            let store = try Self.fill(path)
            try Fixture.sqlite3(path, "DROP TRIGGER events_no_update; UPDATE events SET exit_code = exit_code + 1 WHERE seq = 217;")
            #expect(try IndependentVerifier.run(path) == "broken 217")
            guard case .broken(217, _) = try store.verify() else {
                Issue.record("the store's verify disagrees with the independent verifier")
                return
            }
        }
    }

    /// 300 events of three kinds, appended in batches of 37.
    @discardableResult
    static func fill(_ path: String) throws -> EventStore {
        let store = try EventStore.open(path: path)
        var drafts: [EventDraft] = []
        for index in 0..<300 {
            switch index % 3 {
            case 0:
                var full = Fixture.fullDraft()
                full.exitCode = Int32(index) - 150
                full.details["index"] = String(index)
                full.argv = index % 2 == 0 ? nil : (0..<(index % 7)).map { "arg \($0) ✓" }
                drafts.append(full)
            case 1: drafts.append(Fixture.daemonDraft(.daemonHeartbeat, minute: Int64(index)))
            default: drafts.append(Fixture.draft(.runSkipped, job: "job-\(index)", minute: Int64(-index)))
            }
        }
        for batch in stride(from: 0, to: drafts.count, by: 37) {
            try store.append(Array(drafts[batch..<min(drafts.count, batch + 37)]))
        }
        return store
    }
}

enum IndependentVerifier {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("eventcheck/verify_chain.py").path

    static var isAvailable: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/python3") }
    }

    static func run(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
