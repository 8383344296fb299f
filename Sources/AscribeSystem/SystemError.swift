import Glibc

/// A failed system call: its errno with the C library's words for it, and, where the caller
/// said, which call failed on what (`mkdir`, `/run/ascribe/credentials`).
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int32
    /// The call that failed; empty when the message is clear without it.
    public var call: String
    /// What the call was working on (a path, a pid); may be empty.
    public var context: String

    public init(code: Int32, call: String = "", context: String = "") {
        self.code = code
        self.call = call
        self.context = context
    }

    /// `errno` as the last call left it; read it before anything else can change it.
    public static func current(_ call: String = "", _ context: String = "") -> SystemError {
        SystemError(code: errno, call: call, context: context)
    }

    /// The C library's words for the errno alone, for messages that name the call themselves.
    public var reason: String { String(cString: strerror(code)) }

    public var description: String {
        guard !call.isEmpty else { return reason }
        return context.isEmpty ? "\(call): \(reason)" : "\(call) \(context): \(reason)"
    }
}

extension SystemError {
    /// What a call that returns -1 and sets errno on failure produced: its value, or the errno
    /// it left (as a `SystemError` with only `code`). With `retryOnInterrupt` a call a signal
    /// interrupted (EINTR) is made again, so no caller writes that loop itself; the caller keeps
    /// deciding what the other errnos mean (EAGAIN is often not a failure).
    public static func valueOrErrno<Value: BinaryInteger>(
        retryOnInterrupt: Bool = true, _ call: () -> Value
    ) -> Result<Value, SystemError> {
        while true {
            let value = call()
            if value != -1 { return .success(value) }
            let code = errno
            if retryOnInterrupt, code == EINTR { continue }
            return .failure(SystemError(code: code))
        }
    }

    /// `valueOrErrno` for a call whose every errno is a failure: it is thrown, naming `call`
    /// and `context`.
    public static func value<Value: BinaryInteger>(
        _ call: String, _ context: String = "", retryOnInterrupt: Bool = true, _ body: () -> Value
    ) throws(SystemError) -> Value {
        switch valueOrErrno(retryOnInterrupt: retryOnInterrupt, body) {
        case .success(let value): return value
        case .failure(let error): throw SystemError(code: error.code, call: call, context: context)
        }
    }
}
