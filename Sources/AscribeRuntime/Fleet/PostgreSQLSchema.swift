/// The fleet store's tables (docs/FLEET.md), as ordered migrations the daemon applies, and the
/// mapping between `EventSchema`'s columns and PostgreSQL values.
enum PostgreSQLSchema {
    /// Taken (transaction-scoped) while migrating, so daemons starting together migrate once.
    static let migrationLock: Int64 = 0x4153_4352

    /// Migration n (1-based) takes the schema from version n-1 to n. Append only: a shipped
    /// migration never changes, so every fleet database reaches the same schema.
    static let migrations: [String] = [
        """
        CREATE TABLE events (
            seq bigint PRIMARY KEY CHECK (seq >= 1),
            event_id text NOT NULL UNIQUE,
            time_ms bigint NOT NULL,
            host text NOT NULL,
            type text NOT NULL,
            actor text NOT NULL,
            principal text,
            owner text,
            job text,
            identity text,
            run_id text,
            scheduled_for_ms bigint,
            reason bytea,
            argv text,
            run_as text,
            config_source text,
            config_hash text,
            pid bigint,
            exit_code bigint,
            signal bigint,
            duration_ms bigint,
            stdout_bytes bigint,
            stderr_bytes bigint,
            output_sha256 text,
            output_tail bytea,
            output_cap_bytes bigint,
            output_path text,
            development bigint NOT NULL,
            details text NOT NULL,
            prev_hash text NOT NULL,
            hash text NOT NULL
        );
        CREATE INDEX events_by_time ON events (time_ms, seq);
        CREATE INDEX events_by_job ON events (job, time_ms, seq) WHERE job IS NOT NULL;
        CREATE INDEX events_by_identity ON events (identity, time_ms, seq) WHERE identity IS NOT NULL;
        CREATE INDEX events_by_type ON events (type, time_ms, seq);
        CREATE INDEX events_by_run ON events (run_id) WHERE run_id IS NOT NULL;

        -- The one head of the fleet's chain: every append locks it FOR UPDATE, so appends from
        -- every host serialise and seq stays dense.
        CREATE TABLE chain_head (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            seq bigint NOT NULL,
            hash text NOT NULL
        );
        INSERT INTO chain_head (seq, hash) VALUES (0, '\(Event.genesisHash)');

        CREATE TABLE definitions (
            hash text PRIMARY KEY,
            job text NOT NULL,
            source_path text NOT NULL,
            text bytea NOT NULL,
            first_loaded_ms bigint NOT NULL
        );

        -- One row per claimed slot: host is '' for placement = once (one claim per slot in the
        -- fleet), the claiming host for every-host (one per host).
        CREATE TABLE slot_claims (
            job text NOT NULL,
            scheduled_for_ms bigint NOT NULL,
            host text NOT NULL,
            claimed_by text NOT NULL,
            run_id text NOT NULL UNIQUE,
            config_hash text,
            claimed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job, scheduled_for_ms, host)
        );

        CREATE FUNCTION ascribe_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
            FOR EACH ROW EXECUTE FUNCTION ascribe_refuse_change();
        CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
            FOR EACH STATEMENT EXECUTE FUNCTION ascribe_refuse_change();
        CREATE TRIGGER definitions_no_change BEFORE UPDATE OR DELETE ON definitions
            FOR EACH ROW EXECUTE FUNCTION ascribe_refuse_change();
        CREATE TRIGGER definitions_no_truncate BEFORE TRUNCATE ON definitions
            FOR EACH STATEMENT EXECUTE FUNCTION ascribe_refuse_change();
        CREATE TRIGGER slot_claims_no_delete BEFORE DELETE ON slot_claims
            FOR EACH ROW EXECUTE FUNCTION ascribe_refuse_change();
        CREATE TRIGGER slot_claims_no_truncate BEFORE TRUNCATE ON slot_claims
            FOR EACH STATEMENT EXECUTE FUNCTION ascribe_refuse_change();
        CREATE TRIGGER chain_head_no_delete BEFORE DELETE ON chain_head
            FOR EACH ROW EXECUTE FUNCTION ascribe_refuse_change();

        -- The chain link, checked by the database whoever inserts: a new event follows the
        -- last one (next seq, prev_hash = its hash).
        CREATE FUNCTION ascribe_check_link() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM events WHERE seq >= NEW.seq)
               OR NEW.prev_hash IS DISTINCT FROM coalesce(
                   (SELECT hash FROM events WHERE seq = NEW.seq - 1),
                   CASE WHEN NEW.seq = 1 THEN '\(Event.genesisHash)' END) THEN
                RAISE EXCEPTION 'events are append-only: a new event must follow the last one'
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER events_append_at_head BEFORE INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION ascribe_check_link();

        -- The head names the newest event, never one before it or one not stored.
        CREATE FUNCTION ascribe_check_head() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.seq < OLD.seq OR NEW.hash IS DISTINCT FROM (SELECT hash FROM events WHERE seq = NEW.seq)
               OR EXISTS (SELECT 1 FROM events WHERE seq > NEW.seq) THEN
                RAISE EXCEPTION 'chain_head must name the newest event' USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER chain_head_follows BEFORE UPDATE ON chain_head
            FOR EACH ROW EXECUTE FUNCTION ascribe_check_head();

        REVOKE UPDATE, DELETE, TRUNCATE ON events, definitions FROM PUBLIC, CURRENT_USER;
        REVOKE DELETE, TRUNCATE ON slot_claims, chain_head FROM PUBLIC, CURRENT_USER;
        """,
    ]

    static var version: Int64 { Int64(migrations.count) }

    typealias Column = EventSchema.Column

    /// Free text a run can fill with any bytes (NUL included), which PostgreSQL `text` cannot
    /// hold: stored as `bytea`.
    static func isBytes(_ column: Column) -> Bool { column == .reason || column == .outputTail }

    static func isInteger(_ column: Column) -> Bool {
        switch column {
        case .seq, .time, .scheduledFor, .pid, .exitCode, .signal, .durationMs, .stdoutBytes, .stderrBytes,
             .outputCapBytes, .development: true
        default: false
        }
    }

    private static let columnList = Column.allCases.map(\.name).joined(separator: ", ")

    static let insertSQL = "INSERT INTO events (\(columnList)) VALUES ("
        + Column.allCases.map { "$\($0.rawValue + 1)" + (isInteger($0) ? "::bigint" : isBytes($0) ? "::bytea" : "::text") }
            .joined(separator: ", ") + ")"

    static let selectColumns = "SELECT \(columnList) FROM events"

    /// `event`'s values as parameters, in `Column` order.
    static func parameters(of event: Event) -> [PostgreSQLParameter] {
        EventSchema.row(of: event).enumerated().map { index, value in
            switch value {
            case .null: .null
            case .integer(let number): .integer(number)
            case .real(let number): .text(String(number))
            case .text(let text):
                Column(rawValue: Int32(index)).map(isBytes) == true ? .bytes(Array(text.utf8)) : .text(text)
            case .blob(let bytes): .bytes(bytes)
            }
        }
    }

    /// One selected row back into an event, each value typed as `EventSchema` expects, so a
    /// value no event could have written is reported by the same reader.
    static func event(from row: [String?]) -> Result<Event, RowDefect> {
        let values: [SQLiteValue] = Column.allCases.map { column in
            guard row.indices.contains(Int(column.rawValue)), let text = row[Int(column.rawValue)] else { return .null }
            if isInteger(column) { return Int64(text).map(SQLiteValue.integer) ?? .text(text) }
            if isBytes(column) {
                return PostgreSQLConnection.bytes(fromByteaText: text).map { .text(String(decoding: $0, as: UTF8.self)) } ?? .blob([])
            }
            return .text(text)
        }
        return EventSchema.event(from: values)
    }
}
