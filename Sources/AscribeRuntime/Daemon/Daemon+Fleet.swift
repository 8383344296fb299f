/// Where the daemon keeps its log: this host's SQLite store, or a fleet's shared PostgreSQL
/// store (PRODUCT.md §10, docs/FLEET.md).
public enum DaemonStore: Sendable, Equatable {
    /// `events.db` in the state directory: one host, every slot its own.
    case local
    /// A libpq connection URI (`postgresql://…`): one log and one claim per slot for the fleet.
    case postgreSQL(String)
}

extension Daemon {
    /// Opens the configured log (creating or migrating its schema); nothing may run without it.
    func openEventLog() throws(DaemonStartError) -> any EventLog {
        switch configuration.store {
        case .local:
            let path = DefaultPaths.eventStore(stateDirectory: configuration.stateDirectory)
            do {
                return try EventStore.open(path: path)
            } catch {
                throw DaemonStartError(description: "cannot open the event store \(path), so nothing may run: \(error.description)")
            }
        case .postgreSQL(let conninfo):
            do {
                return try PostgreSQLEventLog.open(conninfo, host: configuration.host)
            } catch {
                // Not the connection string: it may hold a password.
                throw DaemonStartError(description: "cannot open the fleet's PostgreSQL store, so nothing may run: \(error.description)")
            }
        }
    }
}
