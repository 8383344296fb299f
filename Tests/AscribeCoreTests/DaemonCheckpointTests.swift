import AscribeCore
import Foundation
import Testing
@testable import AscribeRuntime

/// The daemon signs checkpoints at start, after new events and at shutdown, records each as
/// `checkpoint.signed` and appends each to the witness file; the log extends every one.
@Suite struct DaemonCheckpointTests {
    @Test func theDaemonSignsCheckpointsTheLogExtends() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let signer = try CheckpointKeys.fresh("ascribe/testhost")
        let witnessFile = harness.root + "/witness"
        let (daemon, task) = await harness.start(clock: clock) { configuration in
            configuration.checkpoints = CheckpointPublishing(signer: signer, witnessFile: witnessFile)
        }
        // A heartbeat is a new event; 300 s is past the 60 s a new event may wait.
        await clock.advance(by: 300, settling: daemon)
        await daemon.stop()
        #expect(await task.value == .stopped)

        let events = try harness.events()
        let signed = events.filter { $0.type == .checkpointSigned }
        #expect(signed.count == 3, "\(events.map(\.type.rawValue))")
        #expect(events.last?.type == .checkpointSigned)
        #expect(events.dropLast().last?.type == .daemonStopped)
        let sizes = signed.compactMap { $0.details[.treeSize].flatMap { UInt64($0) } }
        #expect(sizes == sizes.sorted() && Set(sizes).count == sizes.count)
        #expect(sizes.last == UInt64(events.count - 1), "the shutdown checkpoint covers daemon.stopped")

        let saved = try SignedCheckpoint.parseAll(Array(try Data(contentsOf: URL(fileURLWithPath: witnessFile))))
        #expect(saved.map(\.checkpoint.size) == sizes)
        #expect(saved.map(\.note.rendered) == signed.compactMap { $0.details[.checkpoint] })
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let audit = try CheckpointAudit.run(store: store, origin: "ascribe/testhost", checkpoints: saved,
                                            keys: [Ed25519NoteVerifier(signer.verifierKey)], witnessKeys: [])
        #expect(audit.entries.map(\.finding) == sizes.map { .extended(size: $0) })
        #expect(audit.chain == .intact(count: events.count))
    }
}
