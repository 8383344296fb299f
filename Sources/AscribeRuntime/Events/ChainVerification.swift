/// What `EventStore.verify()` found.
public enum ChainVerification: Equatable, Sendable {
    /// Every event's hash matches its contents and links to its predecessor; seq runs 1…count.
    case intact(count: Int)
    /// The first event at which the chain does not hold, and why, in words for on-call.
    case broken(seq: Int64, reason: String)
}

extension EventStore {
    /// Re-reads every event in seq order (one row in memory at a time), recomputes each hash
    /// and checks each link. Catches an edited field, a deleted or inserted row and a
    /// renumbering; it cannot catch removal or a consistent rewrite of the newest events
    /// without an anchor kept elsewhere (docs/EVENTS.md).
    public func verify() throws(EventStoreError) -> ChainVerification {
        let statement = try sqlite { () throws(SQLiteError) in
            try database.prepare(EventSchema.selectColumns + " ORDER BY seq")
        }
        var verifier = ChainVerifier()
        while try sqlite({ () throws(SQLiteError) in try statement.step() }) {
            let row = try sqlite { () throws(SQLiteError) in try EventSchema.event(from: statement) }
            if let broken = verifier.next(row) { return broken }
        }
        return verifier.result
    }
}

/// Walks a chain in seq order, one event at a time, whatever store it is read from (SQLite's,
/// or the fleet's PostgreSQL store), so both are checked by the same rules.
struct ChainVerifier {
    private var expectedSeq: Int64 = 1
    private var previousHash = Event.genesisHash

    /// The verdict once every event has been given to `next` without a break.
    var result: ChainVerification { .intact(count: Int(expectedSeq - 1)) }

    /// Checks the next row read in seq order; the first break found, else nil.
    mutating func next(_ row: Result<Event, RowDefect>) -> ChainVerification? {
        let event: Event
        switch row {
        case .success(let decoded):
            event = decoded
        case .failure(let defect):
            let seq = defect.seq ?? expectedSeq
            return .broken(seq: seq, reason: "seq \(seq): \(defect.problem) (the event was altered)")
        }
        if let broken = Self.check(event, expectedSeq: expectedSeq, previousHash: previousHash) { return broken }
        previousHash = event.hash
        expectedSeq = event.seq &+ 1
        return nil
    }

    /// The first problem with `event` given the event before it, if any.
    private static func check(_ event: Event, expectedSeq: Int64, previousHash: String) -> ChainVerification? {
        let seq = event.seq
        if seq < expectedSeq {
            return .broken(seq: seq, reason: "seq \(seq): the log must start at seq 1 (a row was inserted)")
        }
        let recomputed: String
        do {
            recomputed = try SHA256.digest(CanonicalEncoding.bytes(
                seq: seq, eventID: event.eventID, content: event.content, prevHash: event.prevHash)).hex
        } catch {
            return .broken(seq: seq, reason: "seq \(seq): its hash could not be recomputed: \(error)")
        }
        guard recomputed == event.hash else {
            return .broken(seq: seq, reason: "seq \(seq): stored hash does not match its contents (the event was altered)")
        }
        let predecessor = expectedSeq == 1 ? "the genesis value (64 zeros)" : "seq \(expectedSeq - 1)'s hash"
        if seq > expectedSeq {
            let missing = seq == expectedSeq + 1 ? "seq \(expectedSeq) is" : "seq \(expectedSeq)…\(seq - 1) are"
            let link = event.prevHash == previousHash ? "prev_hash matches \(predecessor) but" : "prev_hash does not match \(predecessor);"
            return .broken(seq: seq, reason: "seq \(seq): \(link) \(missing) missing (deleted?)")
        }
        guard event.prevHash == previousHash else {
            return .broken(seq: seq, reason: "seq \(seq): prev_hash does not match \(predecessor) (seq \(expectedSeq - 1) was altered or replaced, its hash recomputed)")
        }
        return nil
    }
}
