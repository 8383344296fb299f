import Glibc
import AscribeSystem

/// The command line's side of the control socket: one request, then the daemon's replies until
/// the final one. Who is asking is never sent; the daemon asks the kernel.
public enum ControlClient {
    /// The socket in a state directory.
    public static func socketPath(stateDirectory: String) -> String {
        (stateDirectory.hasSuffix("/") ? stateDirectory : stateDirectory + "/") + "control.sock"
    }

    /// How long to wait for the daemon's first reply; a run's later replies wait for the run.
    public static let replyTimeoutMilliseconds: Int32 = 15_000

    /// Sends `request` and hands each reply to `body` as it arrives; returns after the final one.
    public static func exchange(stateDirectory: String, _ request: ControlRequest,
                                _ body: (ControlReply) -> Void) throws(ControlClientError) {
        let path = socketPath(stateDirectory: stateDirectory)
        let descriptor: Int32
        do {
            descriptor = try SystemCalls.connectUnix(to: path)
        } catch {
            switch error.code {
            case ENOENT, ECONNREFUSED: throw .noDaemon(path: path)
            case EACCES, EPERM: throw .notAllowed(path: path)
            default: throw .failed(error)
            }
        }
        defer { SystemCalls.close(descriptor) }
        do {
            try SystemCalls.setReceiveTimeout(descriptor, milliseconds: replyTimeoutMilliseconds)
            try SystemCalls.sendAll(descriptor, Array((request.json.rendered + "\n").utf8))
        } catch {
            throw .failed(error)
        }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                let reply: ControlReply
                do {
                    reply = try ControlReply(line: line)
                } catch {
                    throw .badReply(error.description)
                }
                body(reply)
                if reply.isFinal { return }
                if case .runStarted = reply {
                    // The run takes as long as it takes; its end is the next thing to wait for.
                    try? SystemCalls.setReceiveTimeout(descriptor, milliseconds: 0)
                }
            }
            let result: ReadResult
            do {
                result = try SystemCalls.read(descriptor, into: &buffer)
            } catch {
                throw .failed(error)
            }
            switch result {
            case .bytes(let count): pending += buffer[..<count]
            case .wouldBlock: throw .timedOut(path: path)
            case .endOfFile: throw .closedEarly(path: path)
            }
        }
    }
}

/// Why a control exchange did not complete.
public enum ControlClientError: Error, Sendable, CustomStringConvertible {
    /// No daemon listens on the state directory's socket.
    case noDaemon(path: String)
    /// The kernel refused the connection: the caller may not use the socket.
    case notAllowed(path: String)
    case timedOut(path: String)
    case closedEarly(path: String)
    case badReply(String)
    case failed(SystemError)

    public var description: String {
        switch self {
        case .noDaemon(let path): "no daemon is listening on \(path)"
        case .notAllowed(let path): "permission denied on \(path): only root, the daemon's user and members of its control group may control it"
        case .timedOut(let path): "the daemon did not answer on \(path) within \(ControlClient.replyTimeoutMilliseconds / 1000) s"
        case .closedEarly(let path): "the daemon closed \(path) before its final reply"
        case .badReply(let message): message
        case .failed(let error): error.description
        }
    }
}
