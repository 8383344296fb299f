import AscribeCore

/// The log behind the daemon: drafts appended as hash-chained, durable events, and what a
/// start reads back (disablements, the last events, open runs, archived definitions). SQLite's
/// `EventStore` is one; a PostgreSQL store for fleets (issue 12) is meant to be another, so
/// nothing here names a backend's types.
///
/// Health: an `append` either stores the whole batch or throws, and then nothing of it is
/// stored. `EventStoreError.meansStoreUnwritable` tells an outage (the log cannot take a write
/// now: the daemon fails closed, starting nothing until it can) from drafts refused at the write
/// boundary (no retry would change that).
///
/// Single-owner, like `EventStore`: used by one actor or thread at a time.
public protocol EventLog: AnyObject {
    /// Told of every batch once it is durable, in append order, on the appending thread.
    var appended: (([Event]) -> Void)? { get set }

    /// Appends `drafts` in one durable transaction, each chained to the one before; returns
    /// them as stored (seq, event id, hashes). On any error nothing of the batch is stored.
    @discardableResult
    func append(_ drafts: [EventDraft]) throws(EventStoreError) -> [Event]

    /// Appends one event durably.
    @discardableResult
    func append(_ draft: EventDraft) throws(EventStoreError) -> Event

    /// Claims each of `claims` and appends `drafts` in one durable transaction: a draft whose
    /// run lost its claim (another host holds the slot) is not stored, and its run must not
    /// start. On any error nothing is claimed or stored. A single host's log claims every slot
    /// (the default below); a fleet's store claims by a unique key (`SlotClaim`).
    func append(_ drafts: [EventDraft], claiming claims: [SlotClaim]) throws(EventStoreError) -> ClaimedAppend

    func events(matching filter: EventFilter) throws(EventStoreError) -> [Event]

    /// Each event matching `filter`, without holding them all.
    func forEachEvent(matching filter: EventFilter, _ body: (Event) -> Void) throws(EventStoreError)

    /// Every `run.fired` with no terminal event yet, oldest first.
    func openRuns() throws(EventStoreError) -> [Event]

    /// Keeps each definition's exact text under its hash (content-addressed, append-only).
    func archive(_ definitions: [StoredDefinition], at time: EventTime) throws(EventStoreError)

    /// The archived definition of `job` whose hash starts with `prefix`, parsed back with its
    /// whole hash; nil when it is not kept or no longer parses.
    func definition(of job: JobName, hashPrefix prefix: String,
                    zones: (String) -> ZoneRules?) -> (definition: JobDefinition, hash: String)?

    /// Hands back memory the backend keeps for speed (after a load filled its caches).
    func releaseMemory()

    // The RFC 6962 Merkle tree over the event hashes (docs/EVENTS.md), kept with each append.

    /// How many events the tree covers (every stored event).
    func merkleTreeSize() throws(EventStoreError) -> UInt64

    /// The root of the tree's first `size` leaves.
    func merkleRoot(size: UInt64) throws(EventStoreError) -> MerkleHash

    /// The proof that event `seq` is leaf `seq - 1` of the tree of `size` leaves.
    func inclusionProof(seq: Int64, size: UInt64) throws(EventStoreError) -> [MerkleHash]

    /// The proof that the tree of `oldSize` leaves is a prefix of the one of `newSize`.
    func consistencyProof(oldSize: UInt64, newSize: UInt64) throws(EventStoreError) -> [MerkleHash]
}

extension EventLog {
    /// One host owns every slot of its own log: every claim wins.
    public func append(_ drafts: [EventDraft], claiming claims: [SlotClaim]) throws(EventStoreError) -> ClaimedAppend {
        ClaimedAppend(events: try append(drafts), claimedElsewhere: [])
    }
}

extension EventStore: EventLog {}

extension EventStoreError {
    /// The log could not take a write (full, locked, unwritable, gone), as opposed to a draft
    /// refused at the write boundary, which no retry would change.
    var meansStoreUnwritable: Bool {
        if case .refused = self { return false }
        return true
    }
}
