import Glibc
internal import CAscribeShim

/// The control socket's system calls: errno becomes a `SystemError` naming the call and the
/// path, and no pointer leaves a wrapper.
extension SystemCalls {
    /// A non-blocking, close-on-exec listening socket bound at `path`.
    public static func listenUnix(at path: String, backlog: Int32) throws(SystemError) -> Int32 {
        let descriptor = ascribe_unix_listen(path, backlog)
        guard descriptor >= 0 else { throw .current("bind", path) }
        return descriptor
    }

    public static func connectUnix(to path: String) throws(SystemError) -> Int32 {
        let descriptor = ascribe_unix_connect(path)
        guard descriptor >= 0 else { throw .current("connect", path) }
        return descriptor
    }

    /// The next pending connection, or nil when none is waiting.
    public static func accept(_ listener: Int32) throws(SystemError) -> Int32? {
        switch SystemError.valueOrErrno({ ascribe_accept(listener) }) {
        case .success(let descriptor): return descriptor
        case .failure(let error) where [EAGAIN, EWOULDBLOCK, ECONNABORTED].contains(error.code): return nil
        case .failure(let error): throw SystemError(code: error.code, call: "accept4")
        }
    }

    /// Who is on the other end, as the kernel recorded it when they connected.
    public static func peerCredentials(_ descriptor: Int32) throws(SystemError) -> (pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32]) {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        guard ascribe_peer_credentials(descriptor, &pid, &uid, &gid) == 0 else { throw .current("getsockopt(SO_PEERCRED)") }
        var groups = [UInt32](repeating: 0, count: 256)
        let count = groups.withUnsafeMutableBufferPointer { ascribe_peer_groups(descriptor, $0.baseAddress, Int32($0.count)) }
        guard count >= 0 else { throw .current("getsockopt(SO_PEERGROUPS)") }
        return (pid, uid, gid, Array(groups[..<Int(count)]))
    }

    /// Sends what the socket takes now, without blocking or SIGPIPE: the count sent, 0 when
    /// the socket is full.
    public static func sendNow(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>) throws(SystemError) -> Int {
        switch SystemError.valueOrErrno({ bytes.withUnsafeBytes { ascribe_send_nowait(descriptor, $0.baseAddress, UInt($0.count)) } }) {
        case .success(let count): return count
        case .failure(let error) where error.code == EAGAIN || error.code == EWOULDBLOCK: return 0
        case .failure(let error): throw SystemError(code: error.code, call: "send")
        }
    }

    /// Sends a request that must fit the socket's buffer at once (a fresh connection's buffer
    /// holds far more than the largest request), without SIGPIPE.
    public static func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let sent = try sendNow(descriptor, bytes[offset...])
            guard sent > 0 else { throw SystemError(code: EAGAIN, call: "send", context: "the daemon is not reading") }
            offset += sent
        }
    }

    public static func setReceiveTimeout(_ descriptor: Int32, milliseconds: Int32) throws(SystemError) {
        guard ascribe_set_receive_timeout(descriptor, milliseconds) == 0 else { throw .current("setsockopt(SO_RCVTIMEO)") }
    }
}
