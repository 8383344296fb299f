import AscribeCore
import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport
import AscribeCoreTestSupport

private typealias Fixture = EventStoreFixture

/// Keys for the tests: the Go note package's test key, and fresh ones.
enum CheckpointKeys {
    /// golang.org/x/mod/sumdb/note's test vector (note_test.go).
    static let goVerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let goPrivateKey = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let goText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let goNote = goText + "\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    /// An Ed25519 key from its 32-byte seed, through PKCS#8 PEM (RFC 8410's fixed prefix).
    static func ed25519(seed: [UInt8]) throws -> SigningKey {
        let der: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20] + seed
        let pem = "-----BEGIN PRIVATE KEY-----\n\(Base64.standard.encode(der))\n-----END PRIVATE KEY-----\n"
        return try SigningKey(pem: Array(pem.utf8))
    }

    static func goSigner() throws -> NoteSigner {
        let material = Base64.standard.decode(goPrivateKey) ?? []
        #expect(material.count == 33 && material.first == 0x01)
        return try NoteSigner(name: "PeterNeumann", key: ed25519(seed: Array(material.dropFirst())))
    }

    static func fresh(_ name: String) throws -> NoteSigner {
        try NoteSigner(name: name, key: SigningKey.generate(.ed25519))
    }
}

@Suite struct SignedNoteTests {
    @Test func theGoTestVectorSignsAndVerifiesByteForByte() throws {
        let signer = try CheckpointKeys.goSigner()
        #expect(signer.verifierKey.description == CheckpointKeys.goVerifierKey)
        #expect(NoteKeyID.hex(signer.verifierKey.keyID) == "c74f20a3")
        let note = SignedNote(text: CheckpointKeys.goText, signatures: [try signer.sign(CheckpointKeys.goText)])
        #expect(note.rendered == CheckpointKeys.goNote)

        let verifier = try Ed25519NoteVerifier(NoteVerifierKey.parse(CheckpointKeys.goVerifierKey, hashing: TreeHashing()))
        let parsed = try SignedNote.parse(Array(CheckpointKeys.goNote.utf8))
        #expect(parsed.text == CheckpointKeys.goText)
        #expect(try parsed.verifiedSignatures(by: [verifier]).map(\.name) == ["PeterNeumann"])
    }

    /// Flipping any bit pattern of any byte of the note makes it fail: malformed, unknown key,
    /// or a signature that does not verify. Nothing traps.
    @Test(arguments: [UInt8(0x01), 0x20, 0x80, 0xFF])
    func everyByteFlipOfTheNoteFails(mask: UInt8) throws {
        let verifier = try Ed25519NoteVerifier(NoteVerifierKey.parse(CheckpointKeys.goVerifierKey, hashing: TreeHashing()))
        let bytes = Array(CheckpointKeys.goNote.utf8)
        for index in bytes.indices {
            var flipped = bytes
            flipped[index] ^= mask
            #expect(throws: NoteError.self, "byte \(index) ^ \(mask)") {
                try SignedNote.parse(flipped).verifiedSignatures(by: [verifier])
            }
        }
    }

    @Test func manglingsOfTheVerifierKeyAreRefused() {
        let key = Array(CheckpointKeys.goVerifierKey.utf8)
        for index in key.indices {
            var changed = key
            changed[index] &+= 1
            #expect(throws: NoteError.self) { try NoteVerifierKey.parse(String(decoding: changed, as: UTF8.self), hashing: TreeHashing()) }
        }
        for cut in 1..<key.count {
            #expect(throws: NoteError.self) { try NoteVerifierKey.parse(String(decoding: key[..<cut], as: UTF8.self), hashing: TreeHashing()) }
        }
    }

    @Test func aCosignatureVerifiesAgainstItsCheckpointOnly() throws {
        let witness = try CheckpointKeys.fresh("witness.example/w1")
        let checkpoint = Checkpoint(origin: "ascribe/web1", size: 10, root: try TreeHashing().emptyRoot())
        let line = try witness.cosign(checkpoint, time: 1_795_458_600)
        let verifier = try Ed25519NoteVerifier(witness.cosignerKey)
        let note = SignedNote(text: checkpoint.body, signatures: [line])
        let verified = try note.verifiedSignatures(by: [verifier])
        #expect(CosignatureV1.split(verified[0].signature)?.time == 1_795_458_600)
        var other = checkpoint
        other.size = 11
        #expect(throws: NoteError.invalidSignature(name: "witness.example/w1", keyID: witness.cosignerKey.keyID)) {
            try SignedNote(text: other.body, signatures: [line]).verifiedSignatures(by: [verifier])
        }
        // The same key as a note signer (0x01) has another key ID: a cosignature is not a log signature.
        #expect(witness.verifierKey.keyID != witness.cosignerKey.keyID)
    }

    @Test(arguments: [
        "", "ascribe/web1\n", "ascribe/web1\n10\n", "ascribe/web1\n010\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "ascribe/web1\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "\n10\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "ascribe/web1\n10\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",
        "ascribe/web1\n10\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\nextension\n",
        "ascribe/web1\n10\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    ])
    func malformedCheckpointBodiesAreRefused(body: String) {
        #expect(throws: CheckpointError.self) { try Checkpoint(body: body) }
    }

    @Test func aCheckpointBodyRoundTrips() throws {
        let checkpoint = Checkpoint(origin: "ascribe/web1", size: 1311, root: try TreeHashing().emptyRoot(), extensions: ["x"])
        #expect(checkpoint.body == "ascribe/web1\n1311\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nx\n")
        #expect(try Checkpoint(body: checkpoint.body) == checkpoint)
    }
}

/// Saved checkpoints against real stores edited the way root would: `verify --checkpoint`
/// names what the hash chain alone calls intact.
@Suite(.enabled(if: EventStoreFixture.sqliteToolInstalled, "the sqlite3 command-line tool is not installed"))
struct CheckpointTamperTests {
    static let actor = "ascribe-scheduler@web1"

    private func drafts(_ count: Int) -> [EventDraft] {
        (0..<count).map { index in
            var draft = Fixture.draft(minute: Int64(index))
            draft.reason = "rotating db creds \(index)"
            return draft
        }
    }

    /// A store of 10 events and a checkpoint of them saved at `checkpointPath`.
    private func withCheckpointedStore(_ body: (_ state: String, _ checkpointPath: String, _ signer: NoteSigner) throws -> Void) throws {
        try Fixture.withScratchDirectory { directory in
            let state = directory + "/state"
            let store = try EventStore.open(path: state + "/events.db")
            try store.append(drafts(10))
            let signer = try CheckpointKeys.fresh("web1-checkpoint")
            let (signed, event) = try store.signCheckpoint(signer: signer, host: "web1", actor: Self.actor, time: Fixture.draft().time)
            #expect(signed.checkpoint.size == 10 && event.seq == 11 && event.type == .checkpointSigned)
            #expect(event.details[.key] == signer.verifierKey.description)
            let path = directory + "/web1.checkpoint"
            try Data(signed.note.rendered.utf8).write(to: URL(fileURLWithPath: path))
            try body(state, path, signer)
        }
    }

    private func audit(_ state: String, _ path: String, _ signer: NoteSigner) throws -> CheckpointAudit {
        let store = try EventStore.open(path: state + "/events.db", access: .readOnly)
        let saved = try SignedCheckpoint.parseAll(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        return try CheckpointAudit.run(store: store, origin: "ascribe/web1", checkpoints: saved,
                                       keys: [Ed25519NoteVerifier(signer.verifierKey)], witnessKeys: [])
    }

    @Test func anUntouchedLogExtendsItsCheckpoint() throws {
        try withCheckpointedStore { state, path, signer in
            try EventStore.open(path: state + "/events.db").append(drafts(3))
            let result = try audit(state, path, signer)
            #expect(result.entries.map(\.finding) == [.extended(size: 10)])
            #expect(result.chain == .intact(count: 14) && result.logSize == 14)
            let cli = try AscribeBinary.run(["verify", "--state", state, "--checkpoint", path])
            #expect(cli.status == 0, "\(cli.stderr)")
            #expect(cli.stdout.hasPrefix("checkpoint of 10 events at 2026-11-23T18:30:00.000Z: the log extends it (14 events)\n"))

            // Dated by the log's own checkpoint.signed: silent once older than the allowed age.
            let signedAt = Fixture.draft().time.instant.secondsSinceEpoch
            #expect(result.entries.first?.witnessedAt == signedAt)
            #expect(result.silence(now: signedAt + 7200, maxAge: 3600) ?? (0, 0) == (10, signedAt))
            #expect(result.silence(now: signedAt + 1800, maxAge: 3600) == nil)
        }
    }

    @Test(arguments: [1, 3, 11])
    func deletingTheNewestEventsIsNamedTruncation(deleted: Int) throws {
        try withCheckpointedStore { state, path, signer in
            try Fixture.sqlite3(state + "/events.db", EventStoreTamperTests.dropTriggers
                + "DELETE FROM events WHERE seq > \(11 - deleted);")
            let result = try audit(state, path, signer)
            #expect(result.chain == .intact(count: 11 - deleted), "the chain alone cannot see it")
            let logSize = UInt64(11 - deleted)
            #expect(result.entries.map(\.finding) == [logSize >= 10 ? .extended(size: 10) : .truncated(logSize: logSize, checkpointSize: 10)])
            guard logSize < 10 else { return }
            let cli = try AscribeBinary.run(["verify", "--state", state, "--checkpoint", path, "--key", signer.verifierKey.description])
            #expect(cli.status == 1)
            #expect(cli.stdout.contains("TRUNCATED: the log ends at \(logSize); seq \(logSize + 1)–10 were witnessed"), "\(cli.stdout)")
        }
    }

    /// One event changed and every hash after it recomputed (or the whole log replaced by a
    /// consistent forgery): the chain verifies, the checkpoint's root does not.
    @Test(arguments: [1, 5, 10])
    func aRewriteRehashedToTheHeadIsNamed(changedSeq: Int) throws {
        try withCheckpointedStore { state, path, signer in
            try Fixture.withScratchDirectory { forgery in
                var forged = drafts(10)
                forged[changedSeq - 1].reason = "nothing happened here"
                try EventStore.open(path: forgery + "/events.db").append(forged)
                try FileManager.default.removeItem(atPath: state + "/events.db")
                for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: state + "/events.db" + suffix) }
                try FileManager.default.copyItem(atPath: forgery + "/events.db", toPath: state + "/events.db")
            }
            let result = try audit(state, path, signer)
            #expect(result.chain == .intact(count: 10))
            #expect(result.entries.map(\.finding) == [.rewritten(size: 10)])
            let cli = try AscribeBinary.run(["verify", "--state", state, "--checkpoint", path, "--key", signer.verifierKey.description])
            #expect(cli.status == 1)
            #expect(cli.stdout.contains("REWRITTEN: the log's first 10 events do not hash to its root"), "\(cli.stdout)")
        }
    }

    /// Editing events while leaving the stored tree alone does not fool the audit: it
    /// recomputes the roots from the events.
    @Test func theStoredTreeIsNotTrusted() throws {
        try withCheckpointedStore { state, path, signer in
            try Fixture.sqlite3(state + "/events.db", EventStoreTamperTests.dropTriggers
                + "UPDATE events SET hash = '\(String(repeating: "0", count: 64))' WHERE seq = 4;")
            let result = try audit(state, path, signer)
            #expect(result.entries.map(\.finding) == [.rewritten(size: 10)])
        }
    }

    @Test func strippedOrForeignSignaturesAreNotTrusted() throws {
        try withCheckpointedStore { state, path, signer in
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let body = String(text[..<text.range(of: "\n\n")!.lowerBound]) + "\n"
            try Data((body + "\n").utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: CheckpointReadError.self) { try audit(state, path, signer) }
            let other = try CheckpointKeys.fresh("web1-checkpoint")
            let forged = SignedNote(text: body, signatures: [try other.sign(body)])
            try Data(forged.rendered.utf8).write(to: URL(fileURLWithPath: path))
            guard case .unverified(.noKnownSignature) = try audit(state, path, signer).entries.first?.finding else {
                Issue.record("a checkpoint signed by another key was trusted")
                return
            }
        }
    }

    /// `prove` writes a proof that `verify --proof` checks without the log; a changed path
    /// hash or event hash is not proven.
    @Test func aProofIsCheckedWithoutTheLog() throws {
        try withCheckpointedStore { state, path, signer in
            let proved = try AscribeBinary.run(["prove", "4", "--state", state, "--checkpoint", path])
            #expect(proved.status == 0, "\(proved.stderr)")
            let proof = try InclusionProofText(parsing: Array(proved.stdout.utf8))
            #expect(proof.seq == 4 && proof.path.count == 4)
            try Fixture.withScratchDirectory { elsewhere in
                let proofPath = elsewhere + "/seq-4.proof"
                try Data(proved.stdout.utf8).write(to: URL(fileURLWithPath: proofPath))
                let checked = try AscribeBinary.run(["verify", "--proof", proofPath, "--key", signer.verifierKey.description])
                #expect(checked.status == 0, "\(checked.stderr)")
                #expect(checked.stdout == "seq 4 (event hash \(proof.eventHash)) is in ascribe/web1's checkpoint of 10 events, signed by web1-checkpoint+\(NoteKeyID.hex(signer.verifierKey.keyID))\n")

                var wrong = proof
                wrong.seq = 5
                try Data(wrong.rendered.utf8).write(to: URL(fileURLWithPath: proofPath))
                #expect(try AscribeBinary.run(["verify", "--proof", proofPath, "--key", signer.verifierKey.description]).status == 1)
                let other = try CheckpointKeys.fresh("web1-checkpoint")
                try Data(proved.stdout.utf8).write(to: URL(fileURLWithPath: proofPath))
                #expect(try AscribeBinary.run(["verify", "--proof", proofPath, "--key", other.verifierKey.description]).status == 1)
            }
        }
    }

    /// The log refuses to sign a checkpoint its last signed one is not a prefix of (here its
    /// stored tree was edited under the signed root).
    @Test func theLogNeverSignsTwoInconsistentCheckpoints() throws {
        try withCheckpointedStore { state, _, signer in
            try Fixture.sqlite3(state + "/events.db", EventStoreTamperTests.dropTriggers
                + "DROP TRIGGER merkle_nodes_no_update; UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 3 AND idx = 0;")
            let store = try EventStore.open(path: state + "/events.db")
            let before = try store.count()
            #expect(throws: CheckpointSigningError.self) {
                try store.signCheckpoint(signer: signer, host: "web1", actor: Self.actor, time: Fixture.draft().time)
            }
            #expect(try store.count() == before)
        }
    }
}
