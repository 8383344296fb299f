import Glibc

/// An `AF_UNIX` datagram socket: what `/dev/log` is. Every socket call of the syslog sender
/// (and of a test's receiver) is wrapped here once; errno becomes a `SystemError` naming the
/// call and the path, and no pointer leaves this file.
///
/// Sendable: the only stored property is an immutable descriptor, and the kernel serialises
/// concurrent calls on one socket.
public final class UnixDatagramSocket: Sendable {
    private let descriptor: Int32

    /// An unbound, close-on-exec socket for sending with `send(_:to:)`.
    public init() throws(SystemError) {
        descriptor = try Self.makeSocket()
    }

    /// A socket bound to `path` (which must not exist yet), for receiving: the tests' stand-in
    /// for the syslog socket (Ascribe itself only sends).
    init(boundTo path: String) throws(SystemError) {
        let socket = try Self.makeSocket()
        do throws(SystemError) {
            guard try Self.withAddress(path, { address, length in Glibc.bind(socket, address, length) }) == 0 else {
                throw .current("bind", path)
            }
        } catch {
            Glibc.close(socket)
            throw error
        }
        descriptor = socket
    }

    deinit { Glibc.close(descriptor) }

    /// Sends one datagram to the socket at `path` without ever blocking: a full receive queue
    /// is `EAGAIN`, a missing socket `ENOENT`, a socket nobody reads `ECONNREFUSED`. Each send
    /// names the path, so a receiver that restarts (a new socket at the same path) is reached
    /// again without reconnecting.
    public func send(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let sent = try Self.withAddress(path) { address, length in
            SystemError.valueOrErrno {
                bytes.withUnsafeBytes { buffer in
                    sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), address, length)
                }
            }
        }
        if case .failure(let error) = sent { throw SystemError(code: error.code, call: "sendto", context: path) }
    }

    /// One datagram, or nil when none arrives within `timeoutMilliseconds`.
    func receive(timeoutMilliseconds: Int32, capacity: Int = 65_536) throws(SystemError) -> [UInt8]? {
        guard !SystemCalls.pollReadable([descriptor], timeoutMilliseconds: timeoutMilliseconds).isEmpty else { return nil }
        var buffer = [UInt8](repeating: 0, count: capacity)
        switch SystemError.valueOrErrno({ buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) } }) {
        case .success(let count): return Array(buffer[..<count])
        case .failure(let error) where error.code == EAGAIN: return nil
        case .failure(let error): throw SystemError(code: error.code, call: "recv")
        }
    }

    private static func makeSocket() throws(SystemError) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .current("socket", "AF_UNIX datagram") }
        return descriptor
    }

    /// Calls `body` with a `sockaddr_un` for `path`; `ENAMETOOLONG` when the path does not fit,
    /// `EINVAL` when it is empty or holds a NUL.
    private static func withAddress<Result>(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result
    ) throws(SystemError) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, !bytes.contains(0) else { throw SystemError(code: EINVAL, call: "sockaddr_un", context: path) }
        guard bytes.count < capacity else { throw SystemError(code: ENAMETOOLONG, call: "sockaddr_un", context: path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
