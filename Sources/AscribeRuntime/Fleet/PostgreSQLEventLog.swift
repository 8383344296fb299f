import AscribeCore

/// The fleet's event log (PRODUCT.md §10, docs/FLEET.md): every host's events in one hash chain
/// in PostgreSQL, with the same canonical encoding and hash as the SQLite store, so the same
/// verifier checks both. Appends from every host serialise on the `chain_head` row (locked
/// `FOR UPDATE` in the append's transaction), which keeps seq dense and each link exact; the
/// database itself refuses updates and deletes and checks each new event's link.
///
/// Single-owner like `EventStore`: one connection, used by one actor or thread at a time.
public final class PostgreSQLEventLog: EventLog {
    /// This host's name: its open runs are the ones it closes at start (`openRuns`).
    public let host: String
    public var appended: (([Event]) -> Void)?
    let connection: PostgreSQLConnection

    private init(host: String, connection: PostgreSQLConnection) {
        self.host = host
        self.connection = connection
    }

    /// Connects with `conninfo` (a libpq URI or key=value string), requires durable commits,
    /// and for `.readWrite` creates or migrates the schema; `.readOnly` (`verify --store`)
    /// changes nothing and requires this version's schema.
    public static func open(_ conninfo: String, host: String,
                            access: EventStore.Access = .readWrite) throws(EventStoreError) -> PostgreSQLEventLog {
        let connection: PostgreSQLConnection
        do {
            connection = try PostgreSQLConnection(conninfo)
            // A commit must be durable when it returns: the fail-closed promise rests on it.
            try connection.keep("SET synchronous_commit = on")
            try connection.keep("SET TIME ZONE 'UTC'")
        } catch {
            throw .postgreSQL(error)
        }
        let log = PostgreSQLEventLog(host: host, connection: connection)
        switch access {
        case .readWrite: try log.migrate()
        case .readOnly: try log.checkSchemaForReading()
        }
        return log
    }

    /// Runs connection work, reporting its failure as the store's error.
    func postgres<Result>(_ work: () throws(PostgreSQLError) -> Result) throws(EventStoreError) -> Result {
        do {
            return try work()
        } catch {
            throw .postgreSQL(error)
        }
    }

    // MARK: Schema

    /// Brings the schema to `PostgreSQLSchema.version` in one transaction, under an advisory
    /// lock so racing daemons migrate once; refuses a database a newer Ascribe migrated.
    func migrate() throws(EventStoreError) {
        try connection.transaction(reporting: EventStoreError.postgreSQL) { () throws(EventStoreError) in
            try postgres { () throws(PostgreSQLError) in
                try connection.execute("SELECT pg_advisory_xact_lock($1::bigint)", [.integer(PostgreSQLSchema.migrationLock)])
                try connection.execute("CREATE TABLE IF NOT EXISTS ascribe_schema (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), version bigint NOT NULL)")
            }
            let found = try postgres { () throws(PostgreSQLError) in
                try connection.execute("SELECT version FROM ascribe_schema")
            }
            let version = found.value(0, 0).flatMap { Int64($0) } ?? 0
            guard version <= PostgreSQLSchema.version else {
                throw .schemaTooNew(path: "the PostgreSQL store", found: version, supported: PostgreSQLSchema.version)
            }
            guard version < PostgreSQLSchema.version else { return }
            try postgres { () throws(PostgreSQLError) in
                for migration in PostgreSQLSchema.migrations.dropFirst(Int(version)) { try connection.executeScript(migration, operation: "migrate") }
                try connection.execute("INSERT INTO ascribe_schema (version) VALUES ($1::bigint) ON CONFLICT (only_row) DO UPDATE SET version = EXCLUDED.version",
                                       [.integer(PostgreSQLSchema.version)])
            }
        }
    }

    private static let noSchema = PostgreSQLError(
        operation: "open", sqlState: "42P01",
        message: "no Ascribe schema here (no ascribe_schema table on the role's search_path; the daemon creates it, docs/FLEET.md)")

    /// A reader may not migrate: the schema must already be this version's.
    func checkSchemaForReading() throws(EventStoreError) {
        let store = "the PostgreSQL store"
        let found: PostgreSQLRows
        do {
            found = try connection.execute("SELECT version FROM ascribe_schema")
        } catch {
            // 42P01: no such table, so no Ascribe schema here (or not on the role's search_path).
            if error.sqlState == "42P01" { throw .postgreSQL(Self.noSchema) }
            throw .postgreSQL(error)
        }
        guard let version = found.value(0, 0).flatMap({ Int64($0) }) else { throw .postgreSQL(Self.noSchema) }
        if version > PostgreSQLSchema.version { throw .schemaTooNew(path: store, found: version, supported: PostgreSQLSchema.version) }
        if version < PostgreSQLSchema.version { throw .schemaOutdated(path: store, found: version, supported: PostgreSQLSchema.version) }
    }

    // MARK: Writing

    @discardableResult
    public func append(_ drafts: [EventDraft]) throws(EventStoreError) -> [Event] {
        try append(drafts, claiming: []).events
    }

    @discardableResult
    public func append(_ draft: EventDraft) throws(EventStoreError) -> Event {
        guard let event = try append([draft]).first else {
            throw .corruptRow(seq: 0, problem: "a one-event append returned no event")
        }
        return event
    }

    /// Locks the chain's head, claims each slot (`INSERT … ON CONFLICT DO NOTHING RETURNING`),
    /// then appends the drafts of every run that won and every draft not about a claimed run,
    /// and moves the head — all in one transaction, committed durably before this returns.
    public func append(_ drafts: [EventDraft], claiming claims: [SlotClaim]) throws(EventStoreError) -> ClaimedAppend {
        for (index, draft) in drafts.enumerated() {
            if let refusal = EventStore.refusal(for: draft) { throw .refused(draftIndex: index, refusal) }
        }
        guard !drafts.isEmpty || !claims.isEmpty else { return ClaimedAppend(events: [], claimedElsewhere: []) }
        let result = try connection.transaction(reporting: EventStoreError.postgreSQL) { () throws(EventStoreError) -> ClaimedAppend in
            let head = try postgres { () throws(PostgreSQLError) in
                try connection.execute("SELECT seq, hash FROM chain_head FOR UPDATE")
            }
            guard var seq = head.value(0, 0).flatMap({ Int64($0) }), var prevHash = head.value(0, 1) else {
                throw .corruptRow(seq: 0, problem: "the chain head row is missing or unreadable")
            }
            var lost = Set<String>()
            for claim in claims {
                let won = try postgres { () throws(PostgreSQLError) in
                    try connection.execute("""
                        INSERT INTO slot_claims (job, scheduled_for_ms, host, claimed_by, run_id, config_hash)
                        VALUES ($1::text, $2::bigint, $3::text, $4::text, $5::text, $6::text)
                        ON CONFLICT (job, scheduled_for_ms, host) DO NOTHING RETURNING run_id
                        """, [.text(claim.job), .integer(claim.scheduledFor.millisecondsSinceEpoch), .text(claim.keyHost),
                              .text(claim.host), .text(claim.runID), .optionalText(claim.configHash)], operation: "claim")
                }
                if won.rows.isEmpty { lost.insert(claim.runID) }
            }
            var events: [Event] = []
            for draft in drafts where !(draft.runID.map(lost.contains) ?? false) {
                guard seq < Int64.max else { throw .corruptRow(seq: seq, problem: "no seq can follow it") }
                seq += 1
                let eventID = RandomIdentifier.hex128()
                let hash: String
                do throws(SHA256Error) {
                    hash = try SHA256.digest(CanonicalEncoding.bytes(seq: seq, eventID: eventID, content: draft, prevHash: prevHash)).hex
                } catch {
                    throw .hashing(error)
                }
                let event = Event(seq: seq, eventID: eventID, content: draft, prevHash: prevHash, hash: hash)
                try postgres { () throws(PostgreSQLError) in
                    try connection.execute(PostgreSQLSchema.insertSQL, PostgreSQLSchema.parameters(of: event), operation: "append")
                }
                events.append(event)
                prevHash = hash
            }
            if !events.isEmpty {
                try postgres { () throws(PostgreSQLError) in
                    try connection.execute("UPDATE chain_head SET seq = $1::bigint, hash = $2::text",
                                           [.integer(seq), .text(prevHash)], operation: "append")
                }
            }
            return ClaimedAppend(events: events, claimedElsewhere: lost)
        }
        if !result.events.isEmpty { appended?(result.events) }
        return result
    }

    // MARK: Reading

    public func events(matching filter: EventFilter) throws(EventStoreError) -> [Event] {
        var events: [Event] = []
        try forEachEvent(matching: filter) { events.append($0) }
        return events
    }

    public func forEachEvent(matching filter: EventFilter, _ body: (Event) -> Void) throws(EventStoreError) {
        var parameters: [PostgreSQLParameter] = []
        func parameter(_ value: PostgreSQLParameter, _ type: String) -> String {
            parameters.append(value)
            return "$\(parameters.count)::\(type)"
        }
        var conditions: [String] = []
        if let job = filter.job { conditions.append("job = " + parameter(.text(job), "text")) }
        if let identity = filter.identity { conditions.append("identity = " + parameter(.text(identity), "text")) }
        if let type = filter.type { conditions.append("type = " + parameter(.text(type.rawValue), "text")) }
        if let since = filter.since { conditions.append("time_ms >= " + parameter(.integer(since.millisecondsSinceEpoch), "bigint")) }
        if let until = filter.until { conditions.append("time_ms < " + parameter(.integer(until.millisecondsSinceEpoch), "bigint")) }
        if let throughSeq = filter.throughSeq { conditions.append("seq <= " + parameter(.integer(throughSeq), "bigint")) }
        var sql = PostgreSQLSchema.selectColumns
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += filter.order == .newestFirst ? " ORDER BY time_ms DESC, seq DESC" : " ORDER BY time_ms, seq"
        if let limit = filter.limit {
            guard limit >= 0 else { throw .invalidFilter("the limit must not be negative (got \(limit))") }
            sql += " LIMIT " + parameter(.integer(Int64(limit)), "bigint")
        }
        try forEachEvent(sql: sql, parameters: parameters, body)
    }

    /// This host's `run.fired` events with no terminal event yet, oldest first: what a start
    /// closes as lost. Another host's open runs are its own to close.
    public func openRuns() throws(EventStoreError) -> [Event] {
        let terminal = EventType.allCases.filter(\.isRunTerminal).map(\.rawValue)
        var parameters: [PostgreSQLParameter] = [.text(host)]
        let placeholders = terminal.map { type in
            parameters.append(.text(type))
            return "$\(parameters.count)::text"
        }
        var open: [Event] = []
        try forEachEvent(sql: PostgreSQLSchema.selectColumns + " AS f WHERE f.type = 'run.fired' AND f.run_id IS NOT NULL"
                            + " AND f.host = $1::text AND NOT EXISTS (SELECT 1 FROM events AS t WHERE t.run_id = f.run_id"
                            + " AND t.type IN (\(placeholders.joined(separator: ", ")))) ORDER BY f.seq",
                         parameters: parameters) { open.append($0) }
        return open
    }

    /// Every event in seq order, checked as `EventStore.verify()` checks the SQLite chain.
    public func verify() throws(EventStoreError) -> ChainVerification {
        var verifier = ChainVerifier()
        var broken: ChainVerification?
        try forEachRow(sql: PostgreSQLSchema.selectColumns + " ORDER BY seq", parameters: []) { row in
            guard broken == nil else { return }
            broken = verifier.next(PostgreSQLSchema.event(from: row))
        }
        return broken ?? verifier.result
    }

    public func archive(_ definitions: [StoredDefinition], at time: EventTime) throws(EventStoreError) {
        guard !definitions.isEmpty else { return }
        for definition in definitions where !(try Self.matches(definition)) {
            throw .corruptRow(seq: 0, problem: "definition of \(definition.job) does not hash to \(definition.hash)")
        }
        try connection.transaction(reporting: EventStoreError.postgreSQL) { () throws(EventStoreError) in
            for definition in definitions {
                try postgres { () throws(PostgreSQLError) in
                    try connection.execute("""
                        INSERT INTO definitions (hash, job, source_path, text, first_loaded_ms)
                        VALUES ($1::text, $2::text, $3::text, $4::bytea, $5::bigint) ON CONFLICT (hash) DO NOTHING
                        """, [.text(definition.hash), .text(definition.job), .text(definition.path), .bytes(definition.bytes),
                              .integer(time.millisecondsSinceEpoch)], operation: "archive")
                }
            }
        }
    }

    public func definition(of job: JobName, hashPrefix prefix: String,
                           zones: (String) -> ZoneRules?) -> (definition: JobDefinition, hash: String)? {
        guard !prefix.isEmpty, prefix.allSatisfy(\.isHexDigit),
              let found = try? connection.execute(
                  "SELECT hash, source_path, text FROM definitions WHERE hash >= $1::text AND hash < $2::text LIMIT 2",
                  [.text(prefix.lowercased()), .text(prefix.lowercased() + "g")]),
              found.rows.count == 1, let hash = found.value(0, 0), let path = found.value(0, 1),
              let bytes = found.value(0, 2).flatMap(PostgreSQLConnection.bytes(fromByteaText:)),
              (try? Self.matches(StoredDefinition(hash: hash, job: job.rawValue, path: path, bytes: bytes))) == true,
              let definition = JobFile.parse(bytes, path: path, zones: zones).definition, definition.name == job
        else { return nil }
        return (definition, hash)
    }

    /// Nothing is cached on this side of the connection.
    public func releaseMemory() {}

    private static func matches(_ definition: StoredDefinition) throws(EventStoreError) -> Bool {
        do throws(SHA256Error) {
            return try SHA256.digest(definition.bytes).hex == definition.hash
        } catch {
            throw .hashing(error)
        }
    }

    private func forEachEvent(sql: String, parameters: [PostgreSQLParameter], _ body: (Event) -> Void) throws(EventStoreError) {
        var defect: RowDefect?
        try forEachRow(sql: sql, parameters: parameters) { row in
            guard defect == nil else { return }
            switch PostgreSQLSchema.event(from: row) {
            case .success(let event): body(event)
            case .failure(let problem): defect = problem
            }
        }
        if let defect { throw .corruptRow(seq: defect.seq ?? 0, problem: defect.problem) }
    }

    private func forEachRow(sql: String, parameters: [PostgreSQLParameter], _ body: ([String?]) -> Void) throws(EventStoreError) {
        let result = try postgres { () throws(PostgreSQLError) in
            try connection.reconnectIfLost()
            return try connection.execute(sql, parameters)
        }
        for row in result.rows { body(row) }
    }
}
