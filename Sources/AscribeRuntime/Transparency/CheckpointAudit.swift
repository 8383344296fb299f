import AscribeCore

/// What one saved checkpoint says about the local log.
public enum CheckpointFinding: Equatable, Sendable {
    /// The log's first `size` events hash to the checkpoint's root: it extends what was signed.
    case extended(size: UInt64)
    /// The log ends at `logSize`, before the checkpoint's end: the newest events were deleted.
    case truncated(logSize: UInt64, checkpointSize: UInt64)
    /// The log's first `size` events hash to another root: events were rewritten.
    case rewritten(size: UInt64)
    /// The checkpoint is of another log.
    case otherLog(origin: String)
    /// No signature on it verifies against a trusted key.
    case unverified(NoteError)

    public var isProblem: Bool {
        if case .extended = self { return false }
        return true
    }
}

/// `ascribe verify --checkpoint`: saved checkpoints against the log. The log's roots are
/// recomputed from its events (the stored tree is not trusted) and its chain re-walked.
public struct CheckpointAudit: Sendable {
    public struct Entry: Equatable, Sendable {
        public var checkpoint: Checkpoint
        public var finding: CheckpointFinding
        /// When it was witnessed (newest verified cosignature) or, failing that, signed (the
        /// log's own `checkpoint.signed`), in seconds since the epoch; nil when unknown.
        public var witnessedAt: Int64?
    }

    public var chain: ChainVerification
    public var logSize: UInt64
    public var entries: [Entry]

    /// Audits `checkpoints` against `store`. A checkpoint must carry a signature by one of
    /// `keys`; cosignatures by `witnessKeys` date it. `origin` is the log's (nil for an empty
    /// log, which names no host: every checkpoint is then of it, and truncated).
    public static func run(store: EventStore, origin: String?, checkpoints: [SignedCheckpoint],
                           keys: [Ed25519NoteVerifier], witnessKeys: [Ed25519NoteVerifier]) throws(EventStoreError) -> CheckpointAudit {
        let chain = try store.verify()
        let (roots, count) = try store.recomputedRoots(at: Set(checkpoints.map(\.checkpoint.size)))
        var signedTimes: [UInt64: (root: MerkleHash, time: Int64)] = [:]
        try store.forEachEvent(matching: EventFilter(type: .checkpointSigned, order: .oldestFirst)) { event in
            if let size = event.details[.treeSize].flatMap({ UInt64($0) }),
               let root = event.details[.rootHash].flatMap({ MerkleHash(base64: $0) }) {
                signedTimes[size] = (root, event.time.instant.secondsSinceEpoch)
            }
        }
        var entries: [Entry] = []
        for signed in checkpoints {
            let checkpoint = signed.checkpoint
            var witnessedAt: Int64?
            let finding: CheckpointFinding
            do {
                _ = try signed.note.verifiedSignatures(by: keys)
                let cosigned = (try? signed.note.verifiedSignatures(by: witnessKeys)) ?? []
                witnessedAt = signed.cosignatureTimes(cosigned, verifiers: witnessKeys).max().map { Int64(clamping: $0) }
                if let origin, checkpoint.origin != origin {
                    finding = .otherLog(origin: checkpoint.origin)
                } else if checkpoint.size > count {
                    finding = .truncated(logSize: count, checkpointSize: checkpoint.size)
                } else if roots[checkpoint.size] != checkpoint.root {
                    finding = .rewritten(size: checkpoint.size)
                } else {
                    finding = .extended(size: checkpoint.size)
                }
            } catch {
                finding = .unverified(error)
            }
            if witnessedAt == nil, let signedTime = signedTimes[checkpoint.size], signedTime.root == checkpoint.root {
                witnessedAt = signedTime.time
            }
            entries.append(Entry(checkpoint: checkpoint, finding: finding, witnessedAt: witnessedAt))
        }
        return CheckpointAudit(chain: chain, logSize: count, entries: entries)
    }

    /// The newest checkpoint the log extends, when it is older than `maxAge` seconds at `now`:
    /// the log has been silent (or its checkpoints kept from the witnesses) since.
    public func silence(now: Int64, maxAge: Int64) -> (size: UInt64, since: Int64)? {
        guard let newest = entries.filter({ !$0.finding.isProblem }).max(by: { $0.checkpoint.size < $1.checkpoint.size }) else {
            return nil
        }
        guard let time = newest.witnessedAt, now - time > maxAge else { return nil }
        return (newest.checkpoint.size, time)
    }
}
