import AscribeCore

/// A checkpoint and the note that carries it (the log's signature, and any cosignatures).
public struct SignedCheckpoint: Equatable, Sendable {
    public var checkpoint: Checkpoint
    public var note: SignedNote

    public init(checkpoint: Checkpoint, note: SignedNote) {
        self.checkpoint = checkpoint
        self.note = note
    }

    /// Reads a note as a checkpoint (signatures not checked yet).
    public init(parsing bytes: [UInt8]) throws(CheckpointReadError) {
        do {
            note = try SignedNote.parse(bytes)
        } catch {
            throw .note(error)
        }
        do {
            checkpoint = try Checkpoint(body: note.text)
        } catch {
            throw .checkpoint(error)
        }
    }

    /// Every note in `bytes`, one after another: a witness file, or a single saved checkpoint.
    /// A note ends at its last signature line; the next starts at the first line after it that
    /// is not a signature line.
    public static func parseAll(_ bytes: [UInt8]) throws(CheckpointReadError) -> [SignedCheckpoint] {
        var notes: [SignedCheckpoint] = []
        var start = 0, inSignatures = false, lineStart = 0
        let signaturePrefix = Array("\u{2014} ".utf8)
        while lineStart < bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = bytes[lineStart..<lineEnd]
            if line.isEmpty {
                inSignatures = true
            } else if inSignatures && !line.starts(with: signaturePrefix) {
                notes.append(try SignedCheckpoint(parsing: Array(bytes[start..<lineStart])))
                start = lineStart
                inSignatures = false
            }
            lineStart = lineEnd + 1
        }
        if start < bytes.count { notes.append(try SignedCheckpoint(parsing: Array(bytes[start...]))) }
        guard !notes.isEmpty else { throw .note(.malformed("the file holds no checkpoint")) }
        return notes
    }

    /// The times (seconds since the epoch) of the cosignatures among `verified`.
    public func cosignatureTimes(_ verified: [NoteSignature], verifiers: [Ed25519NoteVerifier]) -> [UInt64] {
        verified.compactMap { signature in
            guard verifiers.contains(where: { $0.keyID == signature.keyID && $0.name == signature.name
                && $0.key.algorithm == NoteKeyID.cosignatureV1 }) else { return nil }
            return CosignatureV1.split(signature.signature)?.time
        }
    }
}

public enum CheckpointReadError: Error, Equatable, Sendable, CustomStringConvertible {
    case note(NoteError)
    case checkpoint(CheckpointError)

    public var description: String {
        switch self {
        case .note(let error): error.description
        case .checkpoint(let error): error.description
        }
    }
}

/// Why the log did not sign a checkpoint.
public enum CheckpointSigningError: Error, Sendable, CustomStringConvertible {
    case store(EventStoreError)
    case signing(NoteSigningError)
    /// The tree does not extend the last checkpoint the log signed: signing now would put two
    /// inconsistent views of the log into the world, so the log refuses.
    case inconsistent(signedSize: UInt64, treeSize: UInt64)

    public var description: String {
        switch self {
        case .store(let error): "checkpoint: \(error)"
        case .signing(let error): "checkpoint: \(error)"
        case .inconsistent(let signedSize, let treeSize):
            "checkpoint refused: the log already signed a checkpoint of \(signedSize) events that its tree of "
                + "\(treeSize) events does not extend (events were deleted or rewritten; run `ascribe verify`)"
        }
    }
}

/// Checkpoints over any log's Merkle tree (its `EventLog` requirements), so a fleet's store
/// signs the same way as SQLite's.
extension EventLog {
    /// A checkpoint's origin: `ascribe/<host>`.
    public static func checkpointOrigin(host: String) -> String { "ascribe/" + host }

    /// Signs a checkpoint of the whole tree and records it as `checkpoint.signed` (seq size + 1,
    /// so outside the tree it signs). Refuses to sign one the last signed checkpoint is not a
    /// prefix of: the log never signs two inconsistent views of itself.
    public func signCheckpoint(signer: NoteSigner, host: String, actor: String,
                               time: EventTime) throws(CheckpointSigningError) -> (SignedCheckpoint, Event) {
        func store<Result>(_ work: () throws(EventStoreError) -> Result) throws(CheckpointSigningError) -> Result {
            do { return try work() } catch { throw .store(error) }
        }
        let size = try store { () throws(EventStoreError) in try merkleTreeSize() }
        if let last = try store({ () throws(EventStoreError) in try lastSignedCheckpoint() }) {
            let consistent = try store { () throws(EventStoreError) in
                last.size <= size ? try merkleRoot(size: last.size) == last.root : false
            }
            guard consistent else { throw .inconsistent(signedSize: last.size, treeSize: size) }
        }
        let root = try store { () throws(EventStoreError) in try merkleRoot(size: size) }
        let checkpoint = Checkpoint(origin: Self.checkpointOrigin(host: host), size: size, root: root)
        let signature: NoteSignature
        do {
            signature = try signer.sign(checkpoint.body)
        } catch {
            throw .signing(error)
        }
        let signed = SignedCheckpoint(checkpoint: checkpoint, note: SignedNote(text: checkpoint.body, signatures: [signature]))
        let draft = EventDraft(time: time, host: host, type: .checkpointSigned, actor: actor,
                               details: EventDetails([.treeSize: String(size), .rootHash: root.base64,
                                                      .key: signer.verifierKey.description,
                                                      .checkpoint: signed.note.rendered]))
        let event = try store { () throws(EventStoreError) in try append(draft) }
        return (signed, event)
    }

    /// The newest `checkpoint.signed`: its tree size and root, as recorded.
    public func lastSignedCheckpoint() throws(EventStoreError) -> (size: UInt64, root: MerkleHash, event: Event)? {
        guard let last = try events(matching: EventFilter(type: .checkpointSigned, limit: 1)).first else { return nil }
        guard let size = last.details[.treeSize].flatMap({ UInt64($0) }),
              let root = last.details[.rootHash].flatMap({ MerkleHash(base64: $0) }) else {
            throw .corruptRow(seq: last.seq, problem: "checkpoint.signed without a readable tree_size and root_hash")
        }
        return (size, root, last)
    }

    /// The keys the log recorded signing checkpoints with (`key` of each `checkpoint.signed`).
    public func recordedCheckpointKeys() throws(EventStoreError) -> [String] {
        var keys: [String] = []
        try forEachEvent(matching: EventFilter(type: .checkpointSigned, order: .oldestFirst)) { event in
            if let key = event.details[.key], !keys.contains(key) { keys.append(key) }
        }
        return keys
    }
}

extension EventStore {
    /// The root over the events themselves at each of `sizes`, recomputed from every event's
    /// stored hash in seq order, trusting no stored tree node; and how many events there are.
    /// Pair it with `verify()`, which checks each hash against its event.
    public func recomputedRoots(at sizes: Set<UInt64>) throws(EventStoreError) -> (roots: [UInt64: MerkleHash], count: UInt64) {
        var frontier = MerkleFrontier()
        var roots: [UInt64: MerkleHash] = [:]
        let hashing = TreeHashing()
        var failure: SHA256Error?
        func note(_ size: UInt64) {
            guard sizes.contains(size), failure == nil else { return }
            do { roots[size] = try frontier.root(hashing: hashing) } catch { failure = error }
        }
        note(0)
        var after: Int64 = 0
        while true {
            let events = try events(afterSeq: after, limit: 4096)
            for event in events {
                do {
                    try frontier.append(leaf: try hashing.leafHash(Array(event.hash.utf8)), hashing: hashing)
                } catch {
                    throw .hashing(error)
                }
                note(frontier.size)
                if let failure { throw .hashing(failure) }
            }
            guard let last = events.last, events.count == 4096 else { break }
            after = last.seq
        }
        return (roots, frontier.size)
    }
}
