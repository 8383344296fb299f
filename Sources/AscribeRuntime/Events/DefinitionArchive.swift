import AscribeCore

/// A job file's exact bytes, kept under their SHA-256 — the `config_hash` events carry — so a
/// record always leads to the definition that was in force, even after the file changed.
public struct StoredDefinition: Equatable, Sendable {
    public var hash: String
    public var job: String
    public var path: String
    public var bytes: [UInt8]

    public init(hash: String, job: String, path: String, bytes: [UInt8]) {
        self.hash = hash
        self.job = job
        self.path = path
        self.bytes = bytes
    }
}

extension EventStore {
    /// Keeps each definition not kept yet, in one transaction. Content-addressed and
    /// append-only: a hash that does not match its bytes is refused.
    public func archive(_ definitions: [StoredDefinition], at time: EventTime) throws(EventStoreError) {
        guard !definitions.isEmpty else { return }
        for definition in definitions where !(try Self.matches(definition)) {
            throw .corruptRow(seq: 0, problem: "definition of \(definition.job) does not hash to \(definition.hash)")
        }
        try database.immediateTransaction(reporting: EventStoreError.sqlite) { () throws(EventStoreError) in
            try checkFileStillAtPath()
            let insert = try sqlite { () throws(SQLiteError) in
                try database.prepare("INSERT OR IGNORE INTO definitions (hash, job, source_path, text, first_loaded_ms) VALUES (?, ?, ?, ?, ?)")
            }
            for definition in definitions {
                try sqlite { () throws(SQLiteError) in
                    try insert.bind([.text(definition.hash), .text(definition.job), .text(definition.path),
                                     .blob(definition.bytes), .integer(time.millisecondsSinceEpoch)])
                    _ = try insert.step()
                    try insert.reset()
                }
            }
        }
    }

    /// The definition whose hash starts with `prefix` (events name definitions by a 12-digit
    /// prefix in `config.loaded`, by the whole hash in `config_hash`); nil when none or more
    /// than one is kept, or when the kept bytes no longer match their hash.
    public func definition(hashPrefix prefix: String) throws(EventStoreError) -> StoredDefinition? {
        guard !prefix.isEmpty, prefix.allSatisfy(\.isHexDigit) else { return nil }
        let found = try sqlite { () throws(SQLiteError) -> [StoredDefinition] in
            let select = try database.prepare("SELECT hash, job, source_path, text FROM definitions WHERE hash >= ? AND hash < ? LIMIT 2")
            try select.bind([.text(prefix.lowercased()), .text(prefix.lowercased() + "g")])
            var rows: [StoredDefinition] = []
            while try select.step() {
                guard case .text(let hash) = try select.value(at: 0), case .text(let job) = try select.value(at: 1),
                      case .text(let path) = try select.value(at: 2) else { continue }
                var bytes: [UInt8] = []
                if case .blob(let value) = try select.value(at: 3) { bytes = value }
                rows.append(StoredDefinition(hash: hash, job: job, path: path, bytes: bytes))
            }
            return rows
        }
        guard found.count == 1, let definition = found.first, try Self.matches(definition) else { return nil }
        return definition
    }

    /// The archived definition of `job` under `prefix`, parsed back, with its whole hash; nil
    /// when it is not kept, no longer parses (zones changed), or names another job.
    public func definition(of job: JobName, hashPrefix prefix: String,
                           zones: (String) -> ZoneRules?) -> (definition: JobDefinition, hash: String)? {
        guard let stored = try? definition(hashPrefix: prefix),
              let definition = JobFile.parse(stored.bytes, path: stored.path, zones: zones).definition,
              definition.name == job else { return nil }
        return (definition, stored.hash)
    }

    private static func matches(_ definition: StoredDefinition) throws(EventStoreError) -> Bool {
        do throws(SHA256Error) {
            return try SHA256.digest(definition.bytes).hex == definition.hash
        } catch {
            throw .hashing(error)
        }
    }
}
