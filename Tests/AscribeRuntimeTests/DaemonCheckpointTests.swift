import AscribeCore
import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport
import AscribeCoreTestSupport

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

    /// With a witness (`ascribe witness serve`, for real on loopback), each checkpoint is
    /// cosigned and the cosignature recorded as `checkpoint.cosigned`; the second one is sent
    /// with the consistency proof from the first.
    @Test func eachCheckpointIsCosignedByTheWitness() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        let signer = try CheckpointKeys.fresh("ascribe/testhost")
        let witness = try WitnessTests.WitnessProcess(state: harness.root + "/witness", logKey: signer.verifierKey.description)
        defer { witness.stop() }
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock) { configuration in
            configuration.checkpoints = CheckpointPublishing(signer: signer, witnesses: ["http://127.0.0.1:\(witness.port)"])
        }
        func cosigned() throws -> [Event] { try harness.events().filter { $0.type == .checkpointCosigned } }
        while try cosigned().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        await clock.advance(by: 300, settling: daemon)
        while try cosigned().count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        await daemon.stop()
        #expect(await task.value == .stopped)

        let events = try harness.events()
        let signed = events.filter { $0.type == .checkpointSigned }
        let cosignatures = try cosigned()
        #expect(cosignatures.map { $0.details[.treeSize] } == signed.prefix(2).map { $0.details[.treeSize] })
        #expect(cosignatures.allSatisfy { $0.details[.witness] == "witness.test/w1" })
        let key = try Ed25519NoteVerifier(NoteVerifierKey.parse(witness.cosignerKey, hashing: TreeHashing()))
        var cosignedNotes: [SignedCheckpoint] = []
        for (checkpoint, cosignature) in zip(signed, cosignatures) {
            let text = (checkpoint.details[.checkpoint] ?? "") + (cosignature.details[.cosignature] ?? "")
            let note = try SignedNote.parse(Array(text.utf8))
            #expect(try note.verifiedSignatures(by: [key]).count == 1)
            cosignedNotes.append(try SignedCheckpoint(parsing: Array(text.utf8)))
        }
        // A cosigned checkpoint is dated by its cosignature (the fake clock's hour is in the past).
        let store = try EventStore.open(path: harness.storePath, access: .readOnly)
        let audit = try CheckpointAudit.run(store: store, origin: "ascribe/testhost", checkpoints: cosignedNotes,
                                            keys: [Ed25519NoteVerifier(signer.verifierKey)], witnessKeys: [key])
        #expect(audit.entries.allSatisfy { $0.finding.isProblem == false && $0.witnessedAt != nil })
        #expect(audit.entries.compactMap(\.witnessedAt).allSatisfy { $0 > DaemonHarness.startOfHour().secondsSinceEpoch - 3600 })
    }
}
