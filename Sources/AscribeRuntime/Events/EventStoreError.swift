import AscribeSystem

/// Why the store refused a draft at its write boundary (PRODUCT.md 1.2 and section 5): these
/// hold whoever the caller is, so no bug upstream can record an unattributed event.
public enum EventRefusal: Equatable, Sendable, CustomStringConvertible {
    case emptyActor
    /// The actor, or its name before `@host`, is an anonymous name (`system`, `Ad_Min`, …).
    case bannedActor(String)
    case emptyHost
    /// A principal was given but is blank: leave it out when nobody delegated.
    case emptyPrincipal
    case bannedIdentity(String)
    /// A field this type of event cannot do without (`run.*` needs job, identity and owner).
    case missingField(String, type: EventType)

    public var description: String {
        switch self {
        case .emptyActor:
            "the actor is empty; every event must name who acted (the job's identity, or ascribe-scheduler@<host>)"
        case .bannedActor(let actor):
            "actor \(actor.debugDescription) is an anonymous name; events must name who acted, e.g. the job's identity or ascribe-scheduler@<host>"
        case .emptyHost:
            "the host is empty"
        case .emptyPrincipal:
            "the principal is blank; leave it out when nobody delegated the action"
        case .bannedIdentity(let identity):
            "identity \(identity.debugDescription) is an anonymous name; identities are named for what the automation does"
        case .missingField(let field, let type):
            "a \(type.rawValue) event needs a non-empty \(field)"
        }
    }
}

/// Everything that can go wrong opening, writing or reading the event store.
public enum EventStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Draft `draftIndex` (0-based) of a batch broke a write-boundary rule; nothing of the
    /// batch was stored.
    case refused(draftIndex: Int, EventRefusal)
    /// A system call on the store's file or directory failed.
    case fileSystem(path: String, operation: String, errno: Int32)
    /// The store file is not something Ascribe should trust (a link, another user's file,
    /// permissions that would not stay 0600).
    case unsafeFile(path: String, problem: String)
    /// Opened for reading, but there is no store at the path.
    case storeMissing(path: String)
    /// The file this process opened is no longer at the path (renamed over, deleted): nothing
    /// more is written to it, until the store is opened again.
    case storeReplaced(path: String, problem: String)
    /// An SQLite database that Ascribe did not create.
    case notAnEventStore(path: String)
    /// Written by a newer Ascribe: its events may carry fields this version would drop.
    case schemaTooNew(path: String, found: Int64, supported: Int64)
    /// Opened for reading, but the schema needs a migration only a writer may perform.
    case schemaOutdated(path: String, found: Int64, supported: Int64)
    /// A durability pragma did not take effect (read back after setting it).
    case pragmaNotInEffect(name: String, expected: String, actual: String)
    case sqlite(SQLiteError)
    /// The fleet's PostgreSQL store (`daemon --store postgresql://…`) failed or refused.
    case postgreSQL(PostgreSQLError)
    case hashing(SHA256Error)
    /// A stored row that cannot be read back as an event; `ascribe verify` says more.
    case corruptRow(seq: Int64, problem: String)
    case invalidFilter(String)
    /// The Merkle tree over the log does not match the events (rows deleted or replaced
    /// outside Ascribe), or a tree size or seq asked for is not in it.
    case merkleTree(String)

    public var description: String {
        switch self {
        case .refused(let index, let refusal):
            "event store refused event \(index + 1) of its batch (nothing of the batch was stored): \(refusal)"
        case .fileSystem(let path, let operation, let code):
            "\(path): \(operation) failed: \(SystemError(code: code).reason)"
        case .unsafeFile(let path, let problem):
            "\(path): refusing to use the event store: \(problem)"
        case .storeMissing(let path):
            "\(path): no event store here (the daemon or `ascribe run` creates it)"
        case .storeReplaced(let path, let problem):
            "\(path): the event store this process opened is no longer at this path (\(problem)); nothing more is "
                + "written to the old file: find out who replaced it, then restart the daemon to open the store at the path"
        case .notAnEventStore(let path):
            "\(path): an SQLite database, but not an Ascribe event store"
        case .schemaTooNew(let path, let found, let supported):
            "\(path): event store schema version \(found) is newer than this ascribe supports (\(supported)); upgrade ascribe"
        case .schemaOutdated(let path, let found, let supported):
            "\(path): event store schema version \(found) predates this ascribe (\(supported)); open it read-write once (daemon or `ascribe run`) to migrate"
        case .pragmaNotInEffect(let name, let expected, let actual):
            "event store durability: PRAGMA \(name) is \(actual.debugDescription), expected \(expected.debugDescription)"
        case .sqlite(let error):
            "event store: \(error)"
        case .postgreSQL(let error):
            "event store: \(error)"
        case .hashing(let error):
            "event store: \(error)"
        case .corruptRow(let seq, let problem):
            "event store: seq \(seq) cannot be read: \(problem); run `ascribe verify`"
        case .invalidFilter(let problem):
            "event query: \(problem)"
        case .merkleTree(let problem):
            "event store Merkle tree: \(problem)"
        }
    }
}
