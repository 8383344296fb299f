import AscribeCore
import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport
import AscribeCoreTestSupport

private typealias Fixture = EventStoreFixture

/// `ascribe witness serve` run for real on loopback, fed checkpoints of real stores.
@Suite(.serialized) struct WitnessTests {
    /// The witness process; killed (SIGKILL) and reaped by `stop`.
    final class WitnessProcess {
        let process = Process()
        let port: String
        let cosignerKey: String

        init(state: String, logKey: String) throws {
            process.executableURL = URL(fileURLWithPath: AscribeBinary.path)
            process.arguments = ["witness", "serve", "--listen", "127.0.0.1:0", "--state", state, "--log-key", logKey,
                                 "--name", "witness.test/w1"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line: [UInt8] = []
            while line.last != UInt8(ascii: "\n") {
                let byte = out.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty { break }
                line += byte
            }
            let text = String(decoding: line, as: UTF8.self)
            let words = text.split(separator: " ")
            port = words.firstIndex(of: "port").map { String(words[$0 + 1].dropLast()) } ?? ""
            cosignerKey = words.last.map { String($0.dropLast()) } ?? ""
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private func post(_ port: String, _ request: AddCheckpointRequest) throws -> WitnessResponse {
        try WitnessHTTP.addCheckpoint(url: "http://127.0.0.1:\(port)", body: request.rendered)
    }

    /// A log of `count` events and its checkpoint at every `sizes`.
    private func checkpoints(_ store: EventStore, signer: NoteSigner) throws -> SignedCheckpoint {
        try store.signCheckpoint(signer: signer, host: "web1", actor: "ascribe-scheduler@web1", time: Fixture.draft().time).0
    }

    private func drafts(_ count: Int, _ reason: String = "") -> [EventDraft] {
        (0..<count).map { index in
            var draft = Fixture.draft(minute: Int64(index))
            draft.reason = reason + String(index)
            return draft
        }
    }

    @Test func theWitnessCosignsConsistentCheckpointsAndRefusesTheRest() throws {
        try Fixture.withScratchDirectory { directory in
            let signer = try CheckpointKeys.fresh("ascribe/web1")
            let store = try EventStore.open(path: directory + "/log/events.db")
            try store.append(drafts(9))
            let first = try checkpoints(store, signer: signer)
            try store.append(drafts(10))
            let second = try checkpoints(store, signer: signer)
            #expect(first.checkpoint.size == 9 && second.checkpoint.size == 20)

            var witness = try WitnessProcess(state: directory + "/witness", logKey: signer.verifierKey.description)
            defer { witness.stop() }
            let cosigner = try Ed25519NoteVerifier(NoteVerifierKey.parse(witness.cosignerKey, hashing: TreeHashing()))

            // First contact: old 0, no proof.
            let answer = try post(witness.port, AddCheckpointRequest(oldSize: 0, proof: [], note: Array(first.note.rendered.utf8)))
            #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
            let cosigned = try SignedNote.parse(Array((first.note.rendered + String(decoding: answer.body, as: UTF8.self)).utf8))
            #expect(try cosigned.verifiedSignatures(by: [cosigner]).count == 1)

            // Extending it, with the proof from 9 to 20.
            let proof = try store.consistencyProof(oldSize: 9, newSize: 20)
            #expect(try post(witness.port, AddCheckpointRequest(oldSize: 9, proof: proof, note: Array(second.note.rendered.utf8))).status == 200)

            // Asked to roll back to 9: 409 and the size it holds.
            let rollback = try post(witness.port, AddCheckpointRequest(oldSize: 0, proof: [], note: Array(first.note.rendered.utf8)))
            #expect(rollback.status == 409 && rollback.contentType == "text/x.tlog.size" && rollback.body == Array("20\n".utf8))

            // A forked log signed with the same key (the host's root has it): its proof from 20
            // does not lead from the root the witness holds.
            let fork = try EventStore.open(path: directory + "/fork/events.db")
            try fork.append(drafts(9) + drafts(10, "rewritten "))
            try fork.append(drafts(5))
            let forked = try checkpoints(fork, signer: signer)
            let forkProof = try fork.consistencyProof(oldSize: 20, newSize: forked.checkpoint.size)
            #expect(try post(witness.port, AddCheckpointRequest(oldSize: 20, proof: forkProof, note: Array(forked.note.rendered.utf8))).status == 422)

            // Another key, another log.
            let stranger = try CheckpointKeys.fresh("ascribe/web1")
            let foreign = SignedNote(text: second.checkpoint.body, signatures: [try stranger.sign(second.checkpoint.body)])
            #expect(try post(witness.port, AddCheckpointRequest(oldSize: 20, proof: [], note: Array(foreign.rendered.utf8))).status == 403)
            let other = try CheckpointKeys.fresh("ascribe/db1")
            var otherCheckpoint = second.checkpoint
            otherCheckpoint.origin = "ascribe/db1"
            let otherNote = SignedNote(text: otherCheckpoint.body, signatures: [try other.sign(otherCheckpoint.body)])
            #expect(try post(witness.port, AddCheckpointRequest(oldSize: 0, proof: [], note: Array(otherNote.rendered.utf8))).status == 404)
            #expect(try WitnessHTTP.addCheckpoint(url: "http://127.0.0.1:\(witness.port)", body: Array("old x\n\n".utf8)).status == 400)

            // Restarted on the same state, it still holds 20.
            witness.stop()
            witness = try WitnessProcess(state: directory + "/witness", logKey: signer.verifierKey.description)
            let after = try post(witness.port, AddCheckpointRequest(oldSize: 9, proof: proof, note: Array(second.note.rendered.utf8)))
            #expect(after.status == 409 && after.body == Array("20\n".utf8))
        }
    }

    /// Two add-checkpoint calls from the same old size at once: one is cosigned, the other
    /// gets 409 with the winner's size; the witness never goes back.
    @Test func concurrentCallsCannotRollTheWitnessBack() async throws {
        let directory = "/tmp/ascribe-witness-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let signer = try CheckpointKeys.fresh("ascribe/web1")
        let store = try EventStore.open(path: directory + "/log/events.db")
        try store.append(drafts(5))
        let base = try checkpoints(store, signer: signer)
        try store.append(drafts(4))
        let small = try checkpoints(store, signer: signer)
        try store.append(drafts(7))
        let large = try checkpoints(store, signer: signer)
        let requests = try [small, large].map { signed in
            AddCheckpointRequest(oldSize: 5, proof: try store.consistencyProof(oldSize: 5, newSize: signed.checkpoint.size),
                                 note: Array(signed.note.rendered.utf8))
        }
        let witness = try WitnessProcess(state: directory + "/witness", logKey: signer.verifierKey.description)
        defer { witness.stop() }
        let port = witness.port
        #expect(try post(port, AddCheckpointRequest(oldSize: 0, proof: [], note: Array(base.note.rendered.utf8))).status == 200)
        async let one = offThePool { try WitnessHTTP.addCheckpoint(url: "http://127.0.0.1:\(port)", body: requests[0].rendered) }
        async let two = offThePool { try WitnessHTTP.addCheckpoint(url: "http://127.0.0.1:\(port)", body: requests[1].rendered) }
        let answers = try await [one, two]
        #expect(answers.map(\.status).sorted() == [200, 409])
        let winner = answers[0].status == 200 ? small : large
        let loser = answers.first { $0.status == 409 }
        #expect(loser?.body == Array("\(winner.checkpoint.size)\n".utf8))
        let probe = try post(port, AddCheckpointRequest(oldSize: 0, proof: [], note: Array(base.note.rendered.utf8)))
        #expect(probe.body == Array("\(winner.checkpoint.size)\n".utf8))
    }
}
