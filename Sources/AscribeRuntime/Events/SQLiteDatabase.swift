internal import CSQLite

/// A failed SQLite call: the result codes, SQLite's message, and what Ascribe was doing.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The primary result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, …).
    public let code: Int32
    /// The extended result code (`SQLITE_CONSTRAINT_TRIGGER`, `SQLITE_IOERR_FSYNC`, …).
    public let extendedCode: Int32
    public let message: String
    /// The SQL or the operation that failed.
    public let context: String

    init(extendedCode: Int32, message: String, context: String) {
        self.code = extendedCode & 0xFF
        self.extendedCode = extendedCode
        self.message = message
        self.context = context
    }

    /// A failure whose reason is Ascribe's, not SQLite's (a value it cannot represent).
    static func misuse(_ message: String, context: String) -> SQLiteError {
        SQLiteError(extendedCode: SQLITE_MISUSE, message: message, context: context)
    }

    public var description: String {
        "SQLite error \(extendedCode) (\(String(cString: sqlite3_errstr(extendedCode)))): \(message) [while: \(context)]"
    }
}

/// One value in or out of SQLite, typed as SQLite stores it.
enum SQLiteValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// SQLite's name for the storage class, for messages about unexpected values.
    var storageClass: String {
        switch self {
        case .null: "NULL"
        case .integer: "INTEGER"
        case .real: "REAL"
        case .text: "TEXT"
        case .blob: "BLOB"
        }
    }
}

/// The one place Ascribe calls SQLite. A connection has one owner and is never used from two
/// threads at once (it is opened with `SQLITE_OPEN_NOMUTEX`); the owner closes it by letting
/// go of it.
final class SQLiteDatabase {
    enum Access {
        /// Read and write an existing file (the store creates the file itself, with its mode).
        case readWrite
        case readOnly
    }

    private let handle: OpaquePointer

    /// How long a writer waits for another process's write lock before failing with
    /// `SQLITE_BUSY` (the daemon and `ascribe run` share one store).
    static let busyTimeoutMilliseconds: Int32 = 10_000

    init(path: String, access: Access) throws(SQLiteError) {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE
        flags |= access == .readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        var opened: OpaquePointer?
        let result = sqlite3_open_v2(path, &opened, flags, nil)
        guard let opened else {
            throw SQLiteError(extendedCode: result, message: "out of memory", context: "open \(path)")
        }
        guard result == SQLITE_OK else {
            let error = SQLiteError(extendedCode: result, message: String(cString: sqlite3_errmsg(opened)),
                                    context: "open \(path)")
            sqlite3_close_v2(opened)
            throw error
        }
        handle = opened
        sqlite3_extended_result_codes(handle, 1)
        try check(sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds), "busy_timeout")
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows the caller needs.
    func execute(_ sql: String) throws(SQLiteError) {
        try check(sqlite3_exec(handle, sql, nil, nil, nil), sql)
    }

    /// The first column of the first row of `sql` (a pragma's value), or nil if no row.
    func scalar(_ sql: String) throws(SQLiteError) -> SQLiteValue? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return try statement.value(at: 0)
    }

    /// A compiled statement, finalized when the returned value's lifetime ends.
    func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var prepared: OpaquePointer?
        try check(sqlite3_prepare_v2(handle, sql, -1, &prepared, nil), sql)
        guard let prepared else { throw .misuse("statement is empty", context: sql) }
        return SQLiteStatement(handle: prepared, database: handle, sql: sql)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT` (the write lock is taken up front, so the
    /// body's reads see the state it writes after). Any failure rolls the whole body back.
    func immediateTransaction<Result, Failure: Error>(
        reporting report: (SQLiteError) -> Failure, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        do {
            try execute("BEGIN IMMEDIATE")
        } catch {
            throw report(error)
        }
        do throws(Failure) {
            let result = try body()
            do {
                try execute("COMMIT")
            } catch {
                throw report(error)
            }
            return result
        } catch {
            if sqlite3_get_autocommit(handle) == 0 {
                sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
    }

    private func check(_ result: Int32, _ context: String) throws(SQLiteError) {
        guard result == SQLITE_OK else {
            throw SQLiteError(extendedCode: result, message: String(cString: sqlite3_errmsg(handle)), context: context)
        }
    }
}

/// A prepared statement. Non-copyable so exactly one value owns it and `deinit` finalizes it
/// the moment that value's lifetime ends, never later and never twice.
struct SQLiteStatement: ~Copyable {
    private let handle: OpaquePointer
    private let database: OpaquePointer
    private let sql: String

    fileprivate init(handle: OpaquePointer, database: OpaquePointer, sql: String) {
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// SQLite's way of saying "copy the bytes now": the Swift buffer dies after the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds `values` to parameters 1…n.
    func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let result: Int32
        switch value {
        case .null:
            result = sqlite3_bind_null(handle, index)
        case .integer(let number):
            result = sqlite3_bind_int64(handle, index, number)
        case .real(let number):
            result = sqlite3_bind_double(handle, index, number)
        case .text(var text):
            result = text.withUTF8 { bytes in
                // A zero-length buffer may have no address, and a NULL pointer would bind NULL.
                bytes.isEmpty
                    ? sqlite3_bind_text(handle, index, "", 0, Self.transient)
                    : bytes.withMemoryRebound(to: CChar.self) { text in
                        sqlite3_bind_text64(handle, index, text.baseAddress, UInt64(text.count),
                                            Self.transient, UInt8(SQLITE_UTF8))
                    }
            }
        case .blob(let bytes):
            result = bytes.withUnsafeBytes { raw in
                raw.isEmpty
                    ? sqlite3_bind_zeroblob(handle, index, 0)
                    : sqlite3_bind_blob64(handle, index, raw.baseAddress, UInt64(raw.count), Self.transient)
            }
        }
        try check(result, "bind parameter \(index)")
    }

    /// Advances to the next row: true when a row is available, false when the statement is done.
    func step() throws(SQLiteError) -> Bool {
        let result = sqlite3_step(handle)
        if result == SQLITE_ROW { return true }
        try check(result, "step")
        return false
    }

    /// Makes the statement ready to run again with new bindings.
    func reset() throws(SQLiteError) {
        try check(sqlite3_reset(handle), "reset")
        try check(sqlite3_clear_bindings(handle), "clear bindings")
    }

    /// Column `index` of the current row, as SQLite stores it.
    func value(at index: Int32) throws(SQLiteError) -> SQLiteValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            let text = sqlite3_column_text(handle, index)
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let text else {
                try check(sqlite3_errcode(database), "read text column \(index)")
                return .text("")
            }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let blob = sqlite3_column_blob(handle, index)
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let blob else {
                try check(sqlite3_errcode(database), "read blob column \(index)")
                return .blob([])
            }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }

    private func check(_ result: Int32, _ context: String) throws(SQLiteError) {
        guard result == SQLITE_OK || result == SQLITE_ROW || result == SQLITE_DONE else {
            throw SQLiteError(extendedCode: result, message: String(cString: sqlite3_errmsg(database)),
                              context: "\(context): \(sql)")
        }
    }
}
