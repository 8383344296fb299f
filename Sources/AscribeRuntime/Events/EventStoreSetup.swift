/// Durability settings and schema migration, run on every open.
extension EventStore {
    /// WAL so readers never block the writer, and `synchronous=FULL` so a commit is on disk when
    /// it returns (in WAL mode NORMAL may lose the last commits on power loss). Both are read
    /// back: a setting SQLite silently ignored would break the fail-closed promise.
    func configureDurability(access: Access) throws(EventStoreError) {
        if access == .readWrite {
            try sqlite { () throws(SQLiteError) in _ = try database.scalar("PRAGMA journal_mode = WAL") }
        }
        let journalMode = try sqlite { () throws(SQLiteError) in try database.scalar("PRAGMA journal_mode") }
        guard journalMode == .text("wal") else {
            throw .pragmaNotInEffect(name: "journal_mode", expected: "wal", actual: Self.describe(journalMode))
        }
        try sqlite { () throws(SQLiteError) in try database.execute("PRAGMA synchronous = FULL") }
        // Five indexes over a large log: the default 2 MiB page cache thrashes on bulk writes.
        try sqlite { () throws(SQLiteError) in try database.execute("PRAGMA cache_size = -16384") }
        let synchronous = try sqlite { () throws(SQLiteError) in try database.scalar("PRAGMA synchronous") }
        guard synchronous == .integer(2) else {
            throw .pragmaNotInEffect(name: "synchronous", expected: "2 (FULL)", actual: Self.describe(synchronous))
        }
    }

    /// Brings the schema to `EventSchema.version`, applying each missing migration in order in
    /// one transaction. Safe to run on every open and from racing processes: the version is
    /// re-read under the write lock.
    func migrate() throws(EventStoreError) {
        guard try checkedSchemaVersion() < EventSchema.version else { return }
        try database.immediateTransaction(reporting: EventStoreError.sqlite) { () throws(EventStoreError) in
            let version = try checkedSchemaVersion()
            guard version < EventSchema.version else { return }
            if version == 0 {
                try sqlite { () throws(SQLiteError) in
                    try database.execute("PRAGMA application_id = \(EventSchema.applicationID)")
                }
            }
            for migration in EventSchema.migrations.dropFirst(Int(version)) {
                try sqlite { () throws(SQLiteError) in try database.execute(migration) }
            }
            try extendMerkleTree()
            try sqlite { () throws(SQLiteError) in try database.execute("PRAGMA user_version = \(EventSchema.version)") }
        }
    }

    /// The schema version, once the file is known to be an Ascribe store (or a blank database
    /// about to become one) that this version can read.
    func checkedSchemaVersion() throws(EventStoreError) -> Int64 {
        let version = try schemaVersion()
        if version > EventSchema.version {
            throw .schemaTooNew(path: path, found: version, supported: EventSchema.version)
        }
        if version == 0 {
            let objects = try sqlite { () throws(SQLiteError) in try database.scalar("SELECT count(*) FROM sqlite_schema") }
            guard objects == .integer(0) else { throw .notAnEventStore(path: path) }
        } else {
            try checkApplicationID()
        }
        return version
    }

    /// A reader may not migrate, so the schema must already be this version's.
    func checkSchemaForReading() throws(EventStoreError) {
        let version = try checkedSchemaVersion()
        if version == 0 { throw .notAnEventStore(path: path) }
        if version < EventSchema.version {
            throw .schemaOutdated(path: path, found: version, supported: EventSchema.version)
        }
    }

    private func schemaVersion() throws(EventStoreError) -> Int64 {
        let value = try sqlite { () throws(SQLiteError) in try database.scalar("PRAGMA user_version") }
        guard case .integer(let version) = value else { throw .notAnEventStore(path: path) }
        return version
    }

    private func checkApplicationID() throws(EventStoreError) {
        let value = try sqlite { () throws(SQLiteError) in try database.scalar("PRAGMA application_id") }
        guard value == .integer(EventSchema.applicationID) else { throw .notAnEventStore(path: path) }
    }

    private static func describe(_ value: SQLiteValue?) -> String {
        switch value {
        case .text(let text): text
        case .integer(let number): String(number)
        default: value.map(\.storageClass) ?? "no value"
        }
    }
}
