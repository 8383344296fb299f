import AscribeCore

/// Which events a query returns, and in what order.
public struct EventFilter: Equatable, Sendable {
    public var job: String?
    public var identity: String?
    public var type: EventType?
    /// Inclusive lower bound on `time`.
    public var since: EventTime?
    /// Exclusive upper bound on `time`.
    public var until: EventTime?
    /// At most this many events, taken from the start of `order` (so, by default, the most recent).
    public var limit: Int?
    public var order: EventOrder
    /// Only events up to this seq: a reader that then follows the log from here on
    /// (`EventFollower`) sees each event exactly once.
    public var throughSeq: Int64?

    public init(job: String? = nil, identity: String? = nil, type: EventType? = nil, since: EventTime? = nil,
                until: EventTime? = nil, limit: Int? = nil, order: EventOrder = .newestFirst, throughSeq: Int64? = nil) {
        self.job = job
        self.identity = identity
        self.type = type
        self.since = since
        self.until = until
        self.limit = limit
        self.order = order
        self.throughSeq = throughSeq
    }

    /// Whether `event` passes the filter's conditions (limit and order aside), for events read
    /// some other way than through the filter's query.
    public func matches(_ event: Event) -> Bool {
        (job == nil || event.job == job) && (identity == nil || event.identity == identity)
            && (type == nil || event.type == type) && (since.map { event.time >= $0 } ?? true)
            && (until.map { event.time < $0 } ?? true) && (throughSeq.map { event.seq <= $0 } ?? true)
    }
}

/// Queries order by event time, ties broken by `seq` (the order they were written). That is
/// seq order unless the host clock stepped back; ordering by time lets each index serve
/// "the latest N" without sorting.
public enum EventOrder: Sendable {
    case newestFirst
    case oldestFirst
}

/// The host's append-only, hash-chained event log (PRODUCT.md section 5) in SQLite.
///
/// Single-owner: a store is used by one thread at a time and is not `Sendable`; hand it to the
/// one actor or thread that writes. Several processes may open the same file: each append
/// takes SQLite's write lock (`BEGIN IMMEDIATE`) and chains from the head it finds there.
/// There is deliberately no way to update or delete an event.
public final class EventStore {
    public enum Access: Sendable {
        /// Creates the store if missing, migrates it, appends (the daemon, `ascribe run`).
        case readWrite
        /// Never changes the file (`ascribe log`, `ascribe verify`); the store must exist.
        case readOnly
    }

    public let path: String
    /// Told of every batch once it is durable, in append order (the daemon prints each event
    /// as it happens). Called on the appending thread, inside the store's single owner.
    public var appended: (([Event]) -> Void)?
    let database: SQLiteDatabase
    /// The file opened for writing; every write checks it is still the one at `path`.
    private let fileIdentity: StoreFileIdentity?

    private init(path: String, database: SQLiteDatabase, fileIdentity: StoreFileIdentity?) {
        self.path = path
        self.database = database
        self.fileIdentity = fileIdentity
    }

    /// Opens (and for `.readWrite` creates and migrates) the store at `path`, with WAL and
    /// `synchronous=FULL` confirmed in effect.
    public static func open(path: String, access: Access = .readWrite) throws(EventStoreError) -> EventStore {
        var identity: StoreFileIdentity?
        switch access {
        case .readWrite: identity = try StoreFile.prepareForWriting(path: path)
        case .readOnly: try StoreFile.checkForReading(path: path)
        }
        let database: SQLiteDatabase
        do {
            database = try SQLiteDatabase(path: path, access: access == .readOnly ? .readOnly : .readWrite)
        } catch {
            throw .sqlite(error)
        }
        let store = EventStore(path: path, database: database, fileIdentity: identity)
        // The file SQLite opened is the one checked above.
        try store.checkFileStillAtPath()
        // Identify the file before changing anything in it.
        _ = try store.checkedSchemaVersion()
        try store.configureDurability(access: access)
        switch access {
        case .readWrite: try store.migrate()
        case .readOnly: try store.checkSchemaForReading()
        }
        return store
    }

    // MARK: Writing

    /// Appends `drafts` in one durable transaction: when this returns, every event is on disk
    /// (WAL committed with `synchronous=FULL`). On any error nothing of the batch is stored,
    /// and a caller about to launch a run must not launch it.
    @discardableResult
    public func append(_ drafts: [EventDraft]) throws(EventStoreError) -> [Event] {
        for (index, draft) in drafts.enumerated() {
            if let refusal = Self.refusal(for: draft) { throw .refused(draftIndex: index, refusal) }
        }
        guard !drafts.isEmpty else { return [] }
        let events = try database.immediateTransaction(reporting: EventStoreError.sqlite) { () throws(EventStoreError) in
            try checkFileStillAtPath()
            var (seq, prevHash) = try head()
            let insert = try sqlite { () throws(SQLiteError) in try database.prepare(EventSchema.insertSQL) }
            var events: [Event] = []
            events.reserveCapacity(drafts.count)
            for draft in drafts {
                guard seq < Int64.max else { throw .corruptRow(seq: seq, problem: "no seq can follow it") }
                seq += 1
                let eventID = RandomIdentifier.hex128()
                let canonical = CanonicalEncoding.bytes(seq: seq, eventID: eventID, content: draft, prevHash: prevHash)
                let hash: String
                do throws(SHA256Error) {
                    hash = try SHA256.digest(canonical).hex
                } catch {
                    throw .hashing(error)
                }
                let event = Event(seq: seq, eventID: eventID, content: draft, prevHash: prevHash, hash: hash)
                try sqlite { () throws(SQLiteError) in
                    try insert.bind(EventSchema.row(of: event))
                    _ = try insert.step()
                    try insert.reset()
                }
                events.append(event)
                prevHash = hash
            }
            try extendMerkleTree(with: events)
            return events
        }
        appended?(events)
        return events
    }

    /// Throws `storeReplaced` when the path no longer leads to the file this store wrote to.
    func checkFileStillAtPath() throws(EventStoreError) {
        guard let fileIdentity else { return }
        try StoreFile.checkStillAtPath(path, fileIdentity)
    }

    /// Appends one event durably; see `append(_:)` for a batch.
    @discardableResult
    public func append(_ draft: EventDraft) throws(EventStoreError) -> Event {
        let events = try append([draft])
        guard let event = events.first else {
            throw .corruptRow(seq: 0, problem: "a one-event append returned no event")
        }
        return event
    }

    /// The write-boundary rules (PRODUCT.md 1.2, 5): applied here so no caller can bypass them.
    static func refusal(for draft: EventDraft) -> EventRefusal? {
        let actor = trimmed(draft.actor)
        guard !actor.isEmpty else { return .emptyActor }
        // `cron@web1` is as anonymous as `cron`; `ascribe-scheduler@web1` is a name.
        let actorName = actor.firstIndex(of: "@").map { actor[..<$0] } ?? actor
        if IdentityName.isBanned(String(actor)) || IdentityName.isBanned(String(trimmed(actorName))) {
            return .bannedActor(draft.actor)
        }
        guard !trimmed(draft.host).isEmpty else { return .emptyHost }
        if let principal = draft.principal, trimmed(principal).isEmpty { return .emptyPrincipal }
        var required: [(String, String?)] = []
        if draft.type.isRun { required = [("job", draft.job), ("identity", draft.identity), ("owner", draft.owner)] }
        if draft.type == .identityDisabled || draft.type == .identityEnabled { required = [("identity", draft.identity)] }
        if draft.type == .jobDisabled || draft.type == .jobEnabled { required = [("job", draft.job)] }
        if draft.type == .credentialIssued { required = [("job", draft.job), ("identity", draft.identity), ("run_id", draft.runID)] }
        for (field, value) in required where trimmed(value ?? "").isEmpty {
            return .missingField(field, type: draft.type)
        }
        if let identity = draft.identity, IdentityName.isBanned(String(trimmed(identity))) { return .bannedIdentity(identity) }
        return nil
    }

    private static func trimmed<Text: StringProtocol>(_ text: Text) -> Text.SubSequence {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return text[first...last]
    }

    /// The last stored event's seq and hash, or (0, genesis) for an empty log.
    private func head() throws(EventStoreError) -> (seq: Int64, hash: String) {
        let statement = try sqlite { () throws(SQLiteError) in
            try database.prepare("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        }
        guard try sqlite({ () throws(SQLiteError) in try statement.step() }) else { return (0, Event.genesisHash) }
        let seq = try sqlite { () throws(SQLiteError) in try statement.value(at: 0) }
        let hash = try sqlite { () throws(SQLiteError) in try statement.value(at: 1) }
        guard case .integer(let lastSeq) = seq, case .text(let lastHash) = hash else {
            throw .corruptRow(seq: 0, problem: "the last event's seq or hash is not readable")
        }
        return (lastSeq, lastHash)
    }

    // MARK: Reading

    /// The events `filter` selects; see `forEachEvent` to stream a large result instead.
    public func events(matching filter: EventFilter) throws(EventStoreError) -> [Event] {
        var events: [Event] = []
        try forEachEvent(matching: filter) { events.append($0) }
        return events
    }

    /// Calls `body` with each selected event in order, holding one row in memory at a time.
    public func forEachEvent(matching filter: EventFilter, _ body: (Event) -> Void) throws(EventStoreError) {
        let query = try EventQuery(filter)
        try forEachEvent(sql: query.sql, parameters: query.parameters, body)
    }

    /// The events of one run, in the order they were written.
    func events(forRunID runID: String) throws(EventStoreError) -> [Event] {
        var events: [Event] = []
        try forEachEvent(sql: EventSchema.selectColumns + " WHERE run_id = ?1 ORDER BY seq", parameters: [.text(runID)]) {
            events.append($0)
        }
        return events
    }

    /// The latest event of one run: after a crash, a `run.fired` here means the run never ended.
    func lastEvent(forRunID runID: String) throws(EventStoreError) -> Event? {
        var last: Event?
        try forEachEvent(sql: EventSchema.selectColumns + " WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1",
                         parameters: [.text(runID)]) { last = $0 }
        return last
    }

    /// Every `run.fired` with no terminal event yet, oldest first: runs in progress, or lost by
    /// a process that died. One indexed query, however long the log.
    public func openRuns() throws(EventStoreError) -> [Event] {
        let terminal = EventType.allCases.filter(\.isRunTerminal).map { "'\($0.rawValue)'" }.joined(separator: ", ")
        var open: [Event] = []
        try forEachEvent(sql: EventSchema.selectColumns + " AS f WHERE f.type = 'run.fired' AND f.run_id IS NOT NULL"
                            + " AND NOT EXISTS (SELECT 1 FROM events AS t WHERE t.run_id = f.run_id AND t.type IN (\(terminal)))"
                            + " ORDER BY f.seq", parameters: []) { open.append($0) }
        return open
    }

    /// Frees what SQLite's page cache holds for this connection (`PRAGMA shrink_memory`); the
    /// cache refills as needed. For a long-lived reader after a burst of work.
    public func releaseMemory() {
        _ = try? sqlite { () throws(SQLiteError) in try database.execute("PRAGMA shrink_memory") }
    }

    /// The newest event: its hash is the value to keep elsewhere as an anchor (docs/EVENTS.md).
    public func lastEvent() throws(EventStoreError) -> Event? {
        var last: Event?
        try forEachEvent(sql: EventSchema.selectColumns + " ORDER BY seq DESC LIMIT 1", parameters: []) { last = $0 }
        return last
    }

    /// Up to `limit` events written after `seq`, in the order they were written.
    public func events(afterSeq seq: Int64, limit: Int) throws(EventStoreError) -> [Event] {
        var events: [Event] = []
        try forEachEvent(sql: EventSchema.selectColumns + " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                         parameters: [.integer(seq), .integer(Int64(max(0, limit)))]) { events.append($0) }
        return events
    }

    func count() throws(EventStoreError) -> Int {
        let value = try sqlite { () throws(SQLiteError) in try database.scalar("SELECT count(*) FROM events") }
        guard case .integer(let count) = value else { return 0 }
        return Int(count)
    }

    /// How many events `filter` selects (its order and limit aside), counted by SQLite
    /// without reading the rows.
    public func count(matching filter: EventFilter) throws(EventStoreError) -> Int {
        var unlimited = filter
        unlimited.limit = nil
        let query = try EventQuery(unlimited, selecting: "SELECT count(*) FROM events")
        let statement = try sqlite { () throws(SQLiteError) in try database.prepare(query.sql) }
        try sqlite { () throws(SQLiteError) in try statement.bind(query.parameters) }
        guard try sqlite({ () throws(SQLiteError) in try statement.step() }),
              case .integer(let count) = try sqlite({ () throws(SQLiteError) in try statement.value(at: 0) }) else { return 0 }
        return Int(count)
    }

    private func forEachEvent(sql: String, parameters: [SQLiteValue], _ body: (Event) -> Void) throws(EventStoreError) {
        let statement = try sqlite { () throws(SQLiteError) in try database.prepare(sql) }
        try sqlite { () throws(SQLiteError) in try statement.bind(parameters) }
        while try sqlite({ () throws(SQLiteError) in try statement.step() }) {
            switch try sqlite({ () throws(SQLiteError) in try EventSchema.event(from: statement) }) {
            case .success(let event): body(event)
            case .failure(let defect): throw .corruptRow(seq: defect.seq ?? 0, problem: defect.problem)
            }
        }
    }

    /// Runs SQLite work, reporting its failure as the store's error.
    func sqlite<Result: ~Copyable>(_ work: () throws(SQLiteError) -> Result) throws(EventStoreError) -> Result {
        do {
            return try work()
        } catch {
            throw .sqlite(error)
        }
    }
}

/// The SQL for an `EventFilter`, values bound by number. The index is chosen here rather than
/// left to SQLite's guess (the store keeps no statistics): the most selective column given —
/// job, then identity, then type, then time. Every index ends in `time_ms` (and the implicit
/// seq), so it also delivers the order and a limit stops the scan early.
struct EventQuery {
    private(set) var sql: String
    private(set) var parameters: [SQLiteValue] = []

    init(_ filter: EventFilter, selecting select: String = EventSchema.selectColumns) throws(EventStoreError) {
        let index = filter.job != nil ? "events_by_job"
            : filter.identity != nil ? "events_by_identity"
            : filter.type != nil ? "events_by_type" : "events_by_time"
        sql = select + " INDEXED BY " + index
        var conditions: [String] = []
        if let job = filter.job { conditions.append("job = " + parameter(.text(job))) }
        if let identity = filter.identity { conditions.append("identity = " + parameter(.text(identity))) }
        if let type = filter.type { conditions.append("type = " + parameter(.text(type.rawValue))) }
        if let since = filter.since { conditions.append("time_ms >= " + parameter(.integer(since.millisecondsSinceEpoch))) }
        if let until = filter.until { conditions.append("time_ms < " + parameter(.integer(until.millisecondsSinceEpoch))) }
        if let throughSeq = filter.throughSeq { conditions.append("seq <= " + parameter(.integer(throughSeq))) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += filter.order == .newestFirst ? " ORDER BY time_ms DESC, seq DESC" : " ORDER BY time_ms, seq"
        if let limit = filter.limit {
            guard limit >= 0 else { throw .invalidFilter("the limit must not be negative (got \(limit))") }
            sql += " LIMIT " + parameter(.integer(Int64(limit)))
        }
    }

    private mutating func parameter(_ value: SQLiteValue) -> String {
        parameters.append(value)
        return "?\(parameters.count)"
    }
}
