import CPostgreSQL

/// A failure libpq or the server reported: the SQLSTATE (when the server sent one) tells the
/// kind (`23505` a unique violation, `42501` a missing privilege, `08…` a lost connection),
/// the message says it in the server's words.
public struct PostgreSQLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being done: `connect`, `query`, `begin`, `commit`, ….
    public var operation: String
    /// The five-character SQLSTATE, nil when the failure never reached the server.
    public var sqlState: String?
    public var message: String

    public init(operation: String, sqlState: String?, message: String) {
        self.operation = operation
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String {
        "PostgreSQL \(operation) failed" + (sqlState.map { " (SQLSTATE \($0))" } ?? "") + ": " + message
    }
}

/// A value sent with a statement, always as a parameter, never spliced into SQL text.
public enum PostgreSQLParameter: Equatable, Sendable {
    case null
    /// Sent in text format; the server converts it to the parameter's type (`$1::bigint`).
    case text(String)
    /// Sent in binary format, for `bytea`: any bytes, NUL included.
    case bytes([UInt8])

    static func integer(_ value: Int64) -> PostgreSQLParameter { .text(String(value)) }
    static func optionalText(_ value: String?) -> PostgreSQLParameter { value.map(PostgreSQLParameter.text) ?? .null }
}

/// A statement's rows, copied out of libpq (text format) so no pointer outlives the call.
public struct PostgreSQLRows: Sendable {
    public var columns: [String]
    /// Each row's values in column order; nil is SQL NULL.
    public var rows: [[String?]]

    /// Row `row`'s value in column `column`, or nil (NULL or no such cell).
    public func value(_ row: Int, _ column: Int) -> String? {
        guard rows.indices.contains(row), rows[row].indices.contains(column) else { return nil }
        return rows[row][column]
    }
}

/// One libpq connection (`PGconn`), closed once when released. Every statement goes through
/// `PQexecParams` with its values as parameters.
///
/// Single-owner like `SQLiteDatabase`: one thread at a time (libpq connections are not
/// thread-safe), so it is not `Sendable`.
public final class PostgreSQLConnection {
    private let connection: OpaquePointer
    /// Settings run on every (re)connection, since a new session starts from the server's defaults.
    private var sessionSettings = ["SET client_min_messages = warning"]

    /// Connects with a libpq connection string or URI (`postgresql://user@host:5432/db`).
    public init(_ conninfo: String) throws(PostgreSQLError) {
        guard let connection = PQconnectdb(conninfo) else {
            throw PostgreSQLError(operation: "connect", sqlState: nil, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.text(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgreSQLError(operation: "connect", sqlState: nil, message: message)
        }
        self.connection = connection
        // Notices ("already exists, skipping") would go to standard error.
        for setting in sessionSettings { try execute(setting) }
    }

    /// Runs `setting` (a fixed `SET …`) now and again after every reconnection.
    public func keep(_ setting: String) throws(PostgreSQLError) {
        try execute(setting)
        sessionSettings.append(setting)
    }

    /// After the connection was lost (the server restarted, a backend was terminated), connects
    /// again with the same parameters and settings. A transaction in flight when it was lost
    /// is gone: the server rolled it back.
    public func reconnectIfLost() throws(PostgreSQLError) {
        guard PQstatus(connection) != CONNECTION_OK else { return }
        PQreset(connection)
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PostgreSQLError(operation: "reconnect", sqlState: nil, message: Self.text(PQerrorMessage(connection)))
        }
        for setting in sessionSettings { try execute(setting, operation: "reconnect") }
    }

    deinit { PQfinish(connection) }

    /// Runs `sql` with `parameters` bound to `$1`, `$2`, …; returns its rows (none for a
    /// statement that returns none). One statement per call.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgreSQLParameter] = [],
                        operation: String = "query") throws(PostgreSQLError) -> PostgreSQLRows {
        let texts: [[CChar]?] = parameters.map { parameter in
            switch parameter {
            case .null: nil
            case .text(let text): Array(text.utf8CString)
            // One byte more than sent, so even empty bytes have an address (NULL would mean SQL NULL).
            case .bytes(let bytes): bytes.map { CChar(bitPattern: $0) } + [0]
            }
        }
        if let index = parameters.firstIndex(where: { if case .text(let text) = $0 { text.utf8.contains(0) } else { false } }) {
            throw PostgreSQLError(operation: operation, sqlState: nil,
                                  message: "parameter $\(index + 1) holds a NUL byte, which PostgreSQL text cannot store")
        }
        let lengths: [Int32] = parameters.map { if case .bytes(let bytes) = $0 { Int32(clamping: bytes.count) } else { 0 } }
        let formats: [Int32] = parameters.map { if case .bytes = $0 { 1 } else { 0 } }
        let result = Self.withPointers(to: texts[...], collected: []) { pointers in
            PQexecParams(connection, sql, Int32(parameters.count), nil, pointers, lengths, formats, 0)
        }
        guard let result else {
            throw PostgreSQLError(operation: operation, sqlState: nil, message: Self.text(PQerrorMessage(connection)))
        }
        defer { PQclear(result) }
        try Self.check(result, operation: operation)
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = (0..<columnCount).map { Self.text(PQfname(result, $0)) }
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            rows.append((0..<columnCount).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : Self.text(PQgetvalue(result, row, column))
            })
        }
        return PostgreSQLRows(columns: columns, rows: rows)
    }

    /// Runs a fixed script of several statements (a schema migration) in one round trip. It
    /// takes no values: anything that varies goes through `execute` as a parameter.
    public func executeScript(_ sql: String, operation: String) throws(PostgreSQLError) {
        guard let result = PQexec(connection, sql) else {
            throw PostgreSQLError(operation: operation, sqlState: nil, message: Self.text(PQerrorMessage(connection)))
        }
        defer { PQclear(result) }
        try Self.check(result, operation: operation)
    }

    private static func check(_ result: OpaquePointer, operation: String) throws(PostgreSQLError) {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            throw PostgreSQLError(operation: operation, sqlState: state, message: primary ?? text(PQresultErrorMessage(result)))
        }
    }

    /// Runs `body` between BEGIN and COMMIT; any error rolls back and is rethrown, so either
    /// all of `body`'s statements commit or none does. `report` turns the connection's own
    /// failures into the caller's error type.
    public func transaction<Result, Failure: Error>(
        reporting report: (PostgreSQLError) -> Failure, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        do {
            try reconnectIfLost()
            try execute("BEGIN", operation: "begin")
        } catch {
            throw report(error)
        }
        let result: Result
        do {
            result = try body()
        } catch {
            _ = try? execute("ROLLBACK", operation: "rollback")
            throw error
        }
        do {
            try execute("COMMIT", operation: "commit")
        } catch {
            _ = try? execute("ROLLBACK", operation: "rollback")
            throw report(error)
        }
        return result
    }

    /// The `bytea` a text-format result holds (`\x` and hex digits), nil for anything else.
    public static func bytes(fromByteaText text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count >= 2, digits[0] == UInt8(ascii: "\\"), digits[1] == UInt8(ascii: "x"), digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2 - 1)
        var index = 2
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Gives `body` a C array of pointers to each parameter's bytes (NULL for SQL NULL), valid
    /// only during the call.
    private static func withPointers<Result>(to values: ArraySlice<[CChar]?>, collected: [UnsafePointer<CChar>?],
                                             _ body: ([UnsafePointer<CChar>?]) -> Result) -> Result {
        guard let first = values.first else { return body(collected) }
        guard let value = first else { return withPointers(to: values.dropFirst(), collected: collected + [nil], body) }
        return value.withUnsafeBufferPointer { buffer in
            withPointers(to: values.dropFirst(), collected: collected + [buffer.baseAddress], body)
        }
    }

    private static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        var text = String(cString: pointer)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
