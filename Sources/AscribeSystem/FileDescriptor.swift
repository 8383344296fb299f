import Glibc

/// An open descriptor owned by this value: closed exactly once, when the value ends (or with
/// `close()`), on every path out of a scope, thrown errors included; being non-copyable, it
/// cannot be closed twice through a copy. `rawValue` lends the number to a call while the
/// value lives; `release()` hands ownership to code that still keeps bare numbers.
public struct FileDescriptor: ~Copyable, Sendable {
    public let rawValue: Int32

    /// Takes ownership of `rawValue`.
    public init(owning rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// `SystemCalls.open`, owned.
    public static func open(_ path: String, flags: Int32, mode: UInt32 = 0) throws(SystemError) -> FileDescriptor {
        FileDescriptor(owning: try SystemCalls.open(path, flags: flags, mode: mode))
    }

    /// `SystemCalls.open(_:in:flags:mode:)`, owned.
    public static func open(_ name: String, in directory: borrowing FileDescriptor, flags: Int32, mode: UInt32 = 0) throws(SystemError) -> FileDescriptor {
        FileDescriptor(owning: try SystemCalls.open(name, in: directory.rawValue, flags: flags, mode: mode))
    }

    /// The number, no longer owned: the caller closes it.
    public consuming func release() -> Int32 {
        let rawValue = rawValue
        discard self
        return rawValue
    }

    public consuming func close() {
        SystemCalls.close(release())
    }

    deinit { SystemCalls.close(rawValue) }
}
