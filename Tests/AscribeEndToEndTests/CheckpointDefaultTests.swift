import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport

/// PRODUCT.md section 9: the daemon signs checkpoints of its own log without being asked, and
/// `--no-checkpoints` is the one way to stop it.
@Suite struct CheckpointDefaultTests {
    /// Starts the real daemon with `extra`, waits until it answers, stops it, and returns the
    /// checkpoint.signed events in its log.
    func signedCheckpoints(_ extra: [String]) throws -> (events: [Event], keys: Bool, created: [Event]) {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("nightly", schedule: "0 3 * * *", command: "/bin/true")
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr",
                                       extra: extra)
        try #require(try daemon.waitUntilAnswering(), "the daemon did not answer: \(daemon.stderr)")
        #expect(daemon.stop() == 0, "\(daemon.stderr)")
        let keys = FileManager.default.fileExists(atPath: harness.state + "/keys")
        let events = try harness.events()
        return (events.filter { $0.type == .checkpointSigned }, keys, events.filter { $0.type == .keyCreated })
    }

    @Test func theDaemonSignsCheckpointsByDefault() throws {
        let (signed, keys, created) = try signedCheckpoints([])
        // One at the first tick, one at shutdown covering daemon.stopped.
        #expect(signed.count >= 2, "\(signed.map(\.seq))")
        #expect(keys, "the checkpoint key is made in the key directory the test gave (--keys)")
        // The keys made on this first start are recorded, as token keys are.
        #expect(Set(created.compactMap { $0.details[.purpose] }) == ["checkpoint"], "\(created.map(\.details))")
        #expect(!created.isEmpty)
        for event in signed {
            #expect(event.details[.key]?.hasPrefix("ascribe/") == true)
            #expect(event.details[.treeSize].flatMap { UInt64($0) } != nil)
        }
    }

    @Test func noCheckpointsSignsNoneAndMakesNoKey() throws {
        let (signed, keys, created) = try signedCheckpoints(["--no-checkpoints"])
        #expect(signed.isEmpty && created.isEmpty)
        #expect(!keys)
    }
}
