import Glibc
internal import CAscribeShim

/// TCP for the witness protocol (`ascribe witness serve`, the daemon's `--witness`): blocking
/// sockets whose reads are bounded by a receive timeout.
extension SystemCalls {
    /// A listening socket on `host`:`port` (port 0: the kernel picks one; see `localPort`).
    public static func listenTCP(host: String, port: String, backlog: Int32) throws(SystemError) -> FileDescriptor {
        let descriptor = ascribe_tcp_listen(host, port, backlog)
        guard descriptor >= 0 else { throw .current("bind", "\(host):\(port)") }
        return FileDescriptor(owning: descriptor)
    }

    public static func connectTCP(host: String, port: String) throws(SystemError) -> FileDescriptor {
        let descriptor = ascribe_tcp_connect(host, port)
        guard descriptor >= 0 else { throw .current("connect", "\(host):\(port)") }
        return FileDescriptor(owning: descriptor)
    }

    /// The next connection, waiting for one.
    public static func acceptWaiting(_ listener: borrowing FileDescriptor) throws(SystemError) -> FileDescriptor {
        let descriptor = try SystemError.value("accept4") { ascribe_accept_blocking(listener.rawValue) }
        return FileDescriptor(owning: descriptor)
    }

    public static func localPort(_ socket: borrowing FileDescriptor) throws(SystemError) -> Int {
        let port = ascribe_local_port(socket.rawValue)
        guard port >= 0 else { throw .current("getsockname") }
        return Int(port)
    }
}
