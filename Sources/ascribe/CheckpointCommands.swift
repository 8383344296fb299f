import AscribeCommandLine
import AscribeCore
import AscribeRuntime
import AscribeSystem

/// `verify --checkpoint`, `verify --proof` and `prove`: the log against checkpoints kept off
/// the host (PRODUCT.md section 9, docs/EVENTS.md "What checkpoints prove").
enum CheckpointOptions {
    static let checkpoint = CommandOption("--checkpoint", value: "FILE",
        help: "a checkpoint saved off the host, or a witness file of them: the log must extend each one")
    static let proof = CommandOption("--proof", value: "FILE",
        help: "an inclusion proof from `ascribe prove`: checked on its own, without the log")
    static let key = CommandOption("--key", value: "VKEY",
        help: "trust checkpoints signed by this C2SP verifier key (name+id+base64); by default the keys the log recorded signing with",
        repeatable: true)
    static let witnessKey = CommandOption("--witness-key", value: "VKEY",
        help: "a witness's cosigning key: its cosignatures date the checkpoints", repeatable: true)
    static let maxAge = CommandOption("--max-age", value: "AGE",
        help: "also fail when the newest checkpoint the log extends is older than AGE, e.g. 2h: a silent log")

    /// A saved checkpoint, witness file or proof: small text, read whole.
    static let fileLimit = 16 << 20

    static func read(_ path: String, option: String) throws(UsageError) -> [UInt8] {
        do throws(FileReadError<Never>) {
            return try FileSystem.read(path, limit: fileLimit) { _ in }
        } catch {
            switch error {
            case .system(let error): throw UsageError(message: "\(option) \(path): \(error)")
            }
        }
    }

    static func verifiers(_ texts: [String], option: String) throws(UsageError) -> [Ed25519NoteVerifier] {
        do {
            return try Ed25519NoteVerifier.parse(texts)
        } catch {
            throw UsageError(message: "\(option): \(error)")
        }
    }

    /// `1,204`.
    static func grouped(_ number: UInt64) -> String {
        var digits = Array(String(number))
        var index = digits.count - 3
        while index > 0 {
            digits.insert(",", at: index)
            index -= 3
        }
        return String(digits)
    }

    static func time(_ seconds: Int64) -> String {
        EventTime(millisecondsSinceEpoch: seconds * 1000).rfc3339
    }
}

extension VerifyCommand {
    /// `verify --checkpoint FILE`: one line per checkpoint, then the chain's verdict.
    static func verifyCheckpoints(_ arguments: ParsedArguments, path: String, state: String,
                                  output: inout Output) throws(UsageError) -> ExitCode {
        let witnessKeys = try CheckpointOptions.verifiers(arguments.values(CheckpointOptions.witnessKey), option: "--witness-key")
        let maxAge = try arguments.value(CheckpointOptions.maxAge).map { (text) throws(UsageError) -> Int64 in
            guard let span = try? TimeSpan(parsing: text) else {
                throw UsageError(message: "--max-age \"\(text)\" is not an age such as 90m, 2h or 7d")
            }
            return Int64(span.seconds)
        }
        let checkpoints: [SignedCheckpoint]
        do {
            checkpoints = try SignedCheckpoint.parseAll(CheckpointOptions.read(path, option: "--checkpoint"))
        } catch let error as UsageError {
            throw error
        } catch {
            output.error("ascribe verify: \(path): \(error)")
            return .badInput
        }
        let store = try HostContext().openStore(state: state, access: .readOnly)
        let keys = try checkpointKeys(arguments, store: store, output: &output)
        let audit: CheckpointAudit
        do throws(EventStoreError) {
            let origin = try store.lastEvent().map { EventStore.checkpointOrigin(host: $0.host) }
            audit = try CheckpointAudit.run(store: store, origin: origin,
                                            checkpoints: checkpoints, keys: keys, witnessKeys: witnessKeys)
        } catch {
            output.error("ascribe verify: \(error.description)")
            return .findings
        }
        var problem = false
        for entry in audit.entries {
            let size = CheckpointOptions.grouped(entry.checkpoint.size)
            let when = entry.witnessedAt.map { " at " + CheckpointOptions.time($0) } ?? ""
            problem = problem || entry.finding.isProblem
            switch entry.finding {
            case .extended:
                output.line("checkpoint of \(size) events\(when): the log extends it (\(CheckpointOptions.grouped(audit.logSize)) events)")
            case .truncated(let logSize, let checkpointSize):
                output.line("checkpoint of \(size) events: TRUNCATED: the log ends at \(CheckpointOptions.grouped(logSize)); "
                    + "seq \(CheckpointOptions.grouped(logSize + 1))–\(CheckpointOptions.grouped(checkpointSize)) were witnessed\(when)")
            case .rewritten:
                output.line("checkpoint of \(size) events\(when): REWRITTEN: the log's first \(size) events do not hash to "
                    + "its root \(entry.checkpoint.root.base64)")
            case .otherLog(let origin):
                output.line("checkpoint of \(size) events: of another log (\(origin))")
            case .unverified(let error):
                output.line("checkpoint of \(size) events: NOT TRUSTED: \(error)")
            }
        }
        if let maxAge, let silence = audit.silence(now: SystemClock.now().secondsSinceEpoch, maxAge: maxAge) {
            problem = true
            output.line("SILENT: the newest checkpoint the log extends (\(CheckpointOptions.grouped(silence.size)) events) "
                + "dates from \(CheckpointOptions.time(silence.since)), older than --max-age \(arguments.value(CheckpointOptions.maxAge) ?? "")")
        }
        switch audit.chain {
        case .intact(let count):
            output.line("\(count) event\(count == 1 ? "" : "s"), chain intact")
        case .broken(let seq, let reason):
            problem = true
            output.line("chain broken at seq \(seq): \(reason)")
        }
        return problem ? .findings : .ok
    }

    /// The keys a checkpoint must be signed by: `--key`, else those the log recorded signing with.
    static func checkpointKeys(_ arguments: ParsedArguments, store: EventStore,
                               output: inout Output) throws(UsageError) -> [Ed25519NoteVerifier] {
        let given = arguments.values(CheckpointOptions.key)
        guard given.isEmpty else { return try CheckpointOptions.verifiers(given, option: "--key") }
        let recorded: [String]
        do throws(EventStoreError) {
            recorded = try store.recordedCheckpointKeys()
        } catch {
            throw UsageError(message: error.description)
        }
        return try CheckpointOptions.verifiers(recorded, option: "the log's checkpoint keys")
    }

    /// `verify --proof FILE --key VKEY`: the proof, without the log.
    static func verifyProof(_ arguments: ParsedArguments, path: String, output: inout Output) throws(UsageError) -> ExitCode {
        let keyTexts = arguments.values(CheckpointOptions.key)
        guard !keyTexts.isEmpty else {
            throw UsageError(message: "--proof needs --key VKEY: the log's checkpoint key the proof must be signed by")
        }
        let keys = try CheckpointOptions.verifiers(keyTexts, option: "--key")
        let bytes = try CheckpointOptions.read(path, option: "--proof")
        do {
            let proof = try InclusionProofText(parsing: bytes)
            let signed = try SignedCheckpoint(parsing: proof.note)
            let signers = try signed.note.verifiedSignatures(by: keys)
            let checkpoint = signed.checkpoint
            let hashing = TreeHashing()
            let leaf = try hashing.leafHash(Array(proof.eventHash.utf8))
            let included = try proof.seq <= checkpoint.size && hashing.verifyInclusion(
                index: proof.seq - 1, size: checkpoint.size, leaf: leaf, proof: proof.path, root: checkpoint.root)
            guard included else {
                output.line("NOT PROVEN: seq \(proof.seq) with hash \(proof.eventHash) is not in \(checkpoint.origin)'s "
                    + "checkpoint of \(CheckpointOptions.grouped(checkpoint.size)) events")
                return .findings
            }
            output.line("seq \(proof.seq) (event hash \(proof.eventHash)) is in \(checkpoint.origin)'s checkpoint of "
                + "\(CheckpointOptions.grouped(checkpoint.size)) events, signed by "
                + signers.map { "\($0.name)+\(NoteKeyID.hex($0.keyID))" }.joined(separator: ", "))
            return .ok
        } catch {
            output.error("ascribe verify: \(path): \(error)")
            return .findings
        }
    }
}

enum ProveCommand {
    static let state = CommonOptions.state()
    static let checkpoint = CommandOption("--checkpoint", value: "FILE",
        help: "the saved checkpoint (or witness file) to prove against: the newest one holding SEQ that the log extends",
        required: true)

    static let declaration = CommandDeclaration(
        name: "prove", summary: "print an inclusion proof of one event against a saved checkpoint",
        discussion: """
            Prints the RFC 6962 inclusion proof that event SEQ is in the tree a saved checkpoint
            signed, followed by that checkpoint: a file anyone can check with `ascribe verify
            --proof FILE --key VKEY`, without the log. The checkpoint's signature is checked
            against the keys the log recorded (or --key), and the log must extend it.
            """,
        operands: [Operand("SEQ")], options: [state, checkpoint, CheckpointOptions.key],
        examples: """
            ascribe prove 3 --checkpoint examples/checkpoint/web1.checkpoint --key web1-checkpoint+134c3025+AUbz8bk3u4CSUaAqxn2VxflEJLQxWqzMiplbs75FuhUX   # exits 1
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let stateDirectory = arguments.value(state) ?? DefaultPaths.stateDirectory
        let operands = try arguments.operands(max: 1)
        guard let text = operands.first, let seq = UInt64(text), seq >= 1 else {
            throw UsageError(message: "prove needs the seq of one event, a number from 1")
        }
        let path = arguments.value(checkpoint) ?? ""
        let saved: [SignedCheckpoint]
        do {
            saved = try SignedCheckpoint.parseAll(CheckpointOptions.read(path, option: "--checkpoint"))
        } catch let error as UsageError {
            throw error
        } catch {
            output.error("ascribe prove: \(path): \(error)")
            return .badInput
        }
        let store = try HostContext().openStore(state: stateDirectory, access: .readOnly)
        let keys = try VerifyCommand.checkpointKeys(arguments, store: store, output: &output)
        do throws(EventStoreError) {
            let treeSize = try store.merkleTreeSize()
            var chosen: SignedCheckpoint?
            for signed in saved where seq <= signed.checkpoint.size && signed.checkpoint.size <= treeSize
                && signed.checkpoint.size > chosen?.checkpoint.size ?? 0
                && (try? signed.note.verifiedSignatures(by: keys)) != nil {
                if try store.merkleRoot(size: signed.checkpoint.size) == signed.checkpoint.root { chosen = signed }
            }
            guard let chosen else {
                output.error("ascribe prove: no checkpoint in \(path) is signed by a trusted key, holds seq \(seq) and is extended by the log "
                    + "(run `ascribe verify --checkpoint \(path)`)")
                return .findings
            }
            guard let event = try store.events(afterSeq: Int64(seq) - 1, limit: 1).first, event.seq == Int64(seq) else {
                output.error("ascribe prove: the log has no seq \(seq)")
                return .findings
            }
            let path = try store.inclusionProof(seq: Int64(seq), size: chosen.checkpoint.size)
            let proof = InclusionProofText(seq: seq, eventHash: event.hash, path: path, note: Array(chosen.note.rendered.utf8))
            output.line(proof.rendered, terminator: "")
            return .ok
        } catch {
            output.error("ascribe prove: \(error.description)")
            return .findings
        }
    }
}
