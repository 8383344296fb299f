/// The store's tables, as ordered migrations, and the mapping between a row and an `Event`.
enum EventSchema {
    /// Marks the file as an Ascribe event store (`PRAGMA application_id`, "ASCR").
    static let applicationID: Int64 = 0x4153_4352

    /// Migration n (1-based) takes the schema from `user_version` n-1 to n. Append only: a
    /// shipped migration never changes, so every store reaches the same schema.
    static let migrations: [String] = [
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            time_ms INTEGER NOT NULL,
            host TEXT NOT NULL,
            type TEXT NOT NULL,
            actor TEXT NOT NULL,
            principal TEXT,
            owner TEXT,
            job TEXT,
            identity TEXT,
            run_id TEXT,
            scheduled_for_ms INTEGER,
            reason TEXT,
            argv TEXT,
            run_as TEXT,
            config_source TEXT,
            config_hash TEXT,
            pid INTEGER,
            exit_code INTEGER,
            signal INTEGER,
            duration_ms INTEGER,
            stdout_bytes INTEGER,
            stderr_bytes INTEGER,
            output_sha256 TEXT,
            output_tail TEXT,
            output_cap_bytes INTEGER,
            output_path TEXT,
            development INTEGER NOT NULL,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        ) STRICT;
        CREATE INDEX events_by_time ON events (time_ms);
        CREATE INDEX events_by_job ON events (job, time_ms) WHERE job IS NOT NULL;
        CREATE INDEX events_by_identity ON events (identity, time_ms) WHERE identity IS NOT NULL;
        CREATE INDEX events_by_type ON events (type, time_ms);
        CREATE INDEX events_by_run ON events (run_id) WHERE run_id IS NOT NULL;
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TRIGGER events_append_at_head BEFORE INSERT ON events
            WHEN EXISTS (SELECT 1 FROM events WHERE seq >= NEW.seq)
              OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM events WHERE seq = NEW.seq - 1),
                                               CASE WHEN NEW.seq = 1 THEN '\(Event.genesisHash)' END)
            BEGIN SELECT RAISE(ABORT, 'events are append-only: a new event must follow the last one'); END;
        """,
        """
        CREATE TABLE definitions (
            hash TEXT PRIMARY KEY,
            job TEXT NOT NULL,
            source_path TEXT NOT NULL,
            text BLOB NOT NULL,
            first_loaded_ms INTEGER NOT NULL
        ) STRICT;
        CREATE TRIGGER definitions_no_update BEFORE UPDATE ON definitions
            BEGIN SELECT RAISE(ABORT, 'definitions are append-only'); END;
        CREATE TRIGGER definitions_no_delete BEFORE DELETE ON definitions
            BEGIN SELECT RAISE(ABORT, 'definitions are append-only'); END;
        """,
        // The RFC 6962 Merkle tree over the events' hashes (EventStore+MerkleTree.swift): each
        // complete subtree of 2^level leaves, numbered idx at its level. Filled from the events
        // already stored by `EventStore.extendMerkleTree()` in the same transaction.
        """
        CREATE TABLE merkle_nodes (
            level INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            hash BLOB NOT NULL,
            PRIMARY KEY (level, idx)
        ) STRICT, WITHOUT ROWID;
        CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
            BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only'); END;
        CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
            BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only'); END;
        """,
    ]

    static var version: Int64 { Int64(migrations.count) }

    /// Every column, in table order; the insert binds and the select reads in this order.
    enum Column: Int32, CaseIterable {
        case seq, eventID, time, host, type, actor, principal, owner, job, identity, runID, scheduledFor, reason
        case argv, runAs, configSource, configHash, pid, exitCode, signal, durationMs, stdoutBytes, stderrBytes
        case outputSHA256, outputTail, outputCapBytes, outputPath, development, details, prevHash, hash

        var name: String {
            switch self {
            case .seq: "seq"
            case .eventID: "event_id"
            case .time: "time_ms"
            case .host: "host"
            case .type: "type"
            case .actor: "actor"
            case .principal: "principal"
            case .owner: "owner"
            case .job: "job"
            case .identity: "identity"
            case .runID: "run_id"
            case .scheduledFor: "scheduled_for_ms"
            case .reason: "reason"
            case .argv: "argv"
            case .runAs: "run_as"
            case .configSource: "config_source"
            case .configHash: "config_hash"
            case .pid: "pid"
            case .exitCode: "exit_code"
            case .signal: "signal"
            case .durationMs: "duration_ms"
            case .stdoutBytes: "stdout_bytes"
            case .stderrBytes: "stderr_bytes"
            case .outputSHA256: "output_sha256"
            case .outputTail: "output_tail"
            case .outputCapBytes: "output_cap_bytes"
            case .outputPath: "output_path"
            case .development: "development"
            case .details: "details"
            case .prevHash: "prev_hash"
            case .hash: "hash"
            }
        }
    }

    private static let columnList = Column.allCases.map(\.name).joined(separator: ", ")

    static let insertSQL = "INSERT INTO events (\(columnList)) VALUES ("
        + Column.allCases.map { "?\($0.rawValue + 1)" }.joined(separator: ", ") + ")"

    static let selectColumns = "SELECT \(columnList) FROM events"

    /// The values to bind for `event`, in `columns` order.
    static func row(of event: Event) -> [SQLiteValue] {
        let content = event.content
        return [
            .integer(event.seq), .text(event.eventID), .integer(content.time.millisecondsSinceEpoch),
            .text(content.host), .text(content.type.rawValue), .text(content.actor), text(content.principal),
            text(content.owner), text(content.job), text(content.identity), text(content.runID),
            integer(content.scheduledFor?.millisecondsSinceEpoch), text(content.reason),
            text(content.argv.map(StoredJSON.render)), text(content.runAs), text(content.configSource),
            text(content.configHash), integer(content.pid.map(Int64.init)),
            integer(content.exitCode.map(Int64.init)), integer(content.signal.map(Int64.init)),
            integer(content.durationMs), integer(content.stdoutBytes), integer(content.stderrBytes),
            text(content.outputSHA256), text(content.outputTail), integer(content.outputCapBytes),
            text(content.outputPath), .integer(content.development ? 1 : 0),
            .text(StoredJSON.render(content.details)), .text(event.prevHash), .text(event.hash),
        ]
    }

    private static func text(_ value: String?) -> SQLiteValue { value.map(SQLiteValue.text) ?? .null }
    private static func integer(_ value: Int64?) -> SQLiteValue { value.map(SQLiteValue.integer) ?? .null }

    /// Reads one selected row back into an event, or says which column holds what no event
    /// could have written (the row was edited outside Ascribe).
    static func event(from statement: borrowing SQLiteStatement) throws(SQLiteError) -> Result<Event, RowDefect> {
        var values: [SQLiteValue] = []
        values.reserveCapacity(Column.allCases.count)
        for column in Column.allCases {
            values.append(try statement.value(at: column.rawValue))
        }
        return event(from: values)
    }

    /// Reads one row's values, in `Column` order, back into an event (any backend's row, as
    /// SQLite's storage classes), or says which column holds what no event could have written.
    static func event(from values: [SQLiteValue]) -> Result<Event, RowDefect> {
        do throws(RowDefect) {
            return .success(try RowReader(values: values).event())
        } catch {
            return .failure(error)
        }
    }
}

/// A stored row that is not a well-formed event.
struct RowDefect: Error, Equatable {
    /// The row's seq if it could be read, else nil (the seq column itself is damaged).
    var seq: Int64?
    var problem: String
}

/// Typed access to one row's values, each failure naming the column.
private struct RowReader {
    typealias Column = EventSchema.Column
    let values: [SQLiteValue]
    let seq: Int64?

    init(values: [SQLiteValue]) {
        self.values = values
        if case .integer(let seq) = values[Int(Column.seq.rawValue)] { self.seq = seq } else { self.seq = nil }
    }

    func event() throws(RowDefect) -> Event {
        guard let seq else { throw defect(.seq, "an INTEGER") }
        let typeText = try text(.type)
        guard let type = EventType(rawValue: typeText) else {
            throw RowDefect(seq: seq, problem: "type \(typeText.debugDescription) is not an event type")
        }
        let argv: [String]? = try optionalText(.argv).map { (json: String) throws(RowDefect) -> [String] in
            guard let list = StoredJSON.stringArray(json) else { throw defect(.argv, "a JSON array of strings") }
            return list
        }
        guard let details = StoredJSON.stringObject(try text(.details)) else {
            throw defect(.details, "a JSON object of strings")
        }
        let development: Bool
        switch try integer(.development) {
        case 0: development = false
        case 1: development = true
        default: throw defect(.development, "0 or 1")
        }
        let content = EventDraft(
            time: EventTime(millisecondsSinceEpoch: try integer(.time)), host: try text(.host), type: type,
            actor: try text(.actor), principal: try optionalText(.principal), owner: try optionalText(.owner),
            job: try optionalText(.job), identity: try optionalText(.identity), runID: try optionalText(.runID),
            scheduledFor: try optionalInteger(.scheduledFor).map(EventTime.init(millisecondsSinceEpoch:)),
            reason: try optionalText(.reason), argv: argv, runAs: try optionalText(.runAs),
            configSource: try optionalText(.configSource), configHash: try optionalText(.configHash),
            pid: try optionalInt32(.pid), exitCode: try optionalInt32(.exitCode), signal: try optionalInt32(.signal),
            durationMs: try optionalInteger(.durationMs), stdoutBytes: try optionalInteger(.stdoutBytes),
            stderrBytes: try optionalInteger(.stderrBytes), outputSHA256: try optionalText(.outputSHA256),
            outputTail: try optionalText(.outputTail), outputCapBytes: try optionalInteger(.outputCapBytes),
            outputPath: try optionalText(.outputPath), development: development, details: details)
        return Event(seq: seq, eventID: try text(.eventID), content: content, prevHash: try text(.prevHash),
                     hash: try text(.hash))
    }

    private func value(_ column: Column) -> SQLiteValue { values[Int(column.rawValue)] }

    private func defect(_ column: Column, _ expected: String) -> RowDefect {
        RowDefect(seq: seq, problem: "column \(column.name) holds \(value(column).storageClass) where \(expected) belongs")
    }

    private func text(_ column: Column) throws(RowDefect) -> String {
        guard case .text(let text) = value(column) else { throw defect(column, "TEXT") }
        return text
    }

    private func optionalText(_ column: Column) throws(RowDefect) -> String? {
        if case .null = value(column) { return nil }
        return try text(column)
    }

    private func integer(_ column: Column) throws(RowDefect) -> Int64 {
        guard case .integer(let number) = value(column) else { throw defect(column, "an INTEGER") }
        return number
    }

    private func optionalInteger(_ column: Column) throws(RowDefect) -> Int64? {
        if case .null = value(column) { return nil }
        return try integer(column)
    }

    private func optionalInt32(_ column: Column) throws(RowDefect) -> Int32? {
        guard let number = try optionalInteger(column) else { return nil }
        guard let narrow = Int32(exactly: number) else { throw defect(column, "a 32-bit integer") }
        return narrow
    }
}
