import Glibc
import Synchronization
import AscribeSystem

/// The daemon's control socket: a Unix-domain stream socket in the state directory (mode 0660,
/// the control group), served on the daemon's `Reactor`. Each connection carries one
/// request line; the server takes the caller's credentials from the kernel at accept, hands the
/// parsed request to `handler`, and writes the replies the daemon sends back through `reply`.
///
/// Hostile clients cannot stall the daemon: reads and writes never block, a request must
/// arrive within `requestDeadline` and fit `ControlRequest.maximumBytes`, a client that stops
/// reading is dropped once its replies stop fitting the socket, and connections beyond the
/// `ControlConnectionLimits` (per user, a reserve for root, in all) are told `busy` and closed.
public final class ControlServer: Sendable {
    /// One request, with the kernel's word on who sent it.
    public struct Call: Sendable {
        public var connection: UInt64
        public var peer: ControlPeer
        public var request: Result<ControlRequest, ControlRequestError>
    }

    /// A connection turned away at accept (`busy`), with the kernel's word on whose it was.
    public struct Busy: Sendable {
        public var peer: ControlPeer
        public var refusal: ControlConnectionLimits.Refusal
    }

    public static let requestDeadline: Duration = .seconds(5)
    /// How long queued replies may wait for a client that does not read.
    public static let replyDeadline: Duration = .seconds(5)

    /// How soon a reply the socket did not take is offered again.
    static let retryInterval: Duration = .milliseconds(20)

    public let path: String
    private let reactor: Reactor
    private let loop: ReactorBound<ControlLoop>
    private let closed = Atomic<Bool>(false)

    /// Binds `path` (a stale socket left by a dead daemon is replaced; anything else there is
    /// an error), applies mode 0660 and the control group, and serves on `reactor`. `handler`
    /// gets each request, `busy` each connection the limits turned away; both are called on
    /// the reactor's thread and must hand the work on.
    public init(path: String, access: ControlAccess, limits: ControlConnectionLimits = ControlConnectionLimits(),
                reactor: Reactor,
                handler: @escaping @Sendable (Call) -> Void,
                busy: @escaping @Sendable (Busy) -> Void) throws(SystemError) {
        self.path = path
        self.reactor = reactor
        if let existing = try? FileStatus(path: path, followingLinks: false) {
            guard existing.kind == .socket else {
                throw SystemError(code: EEXIST, call: "bind", context: "\(path) exists and is not a socket")
            }
            try SystemCalls.unlink(path: path)
        }
        let listener = FileDescriptor(owning: try SystemCalls.listenUnix(at: path, backlog: 128))
        do throws(SystemError) {
            try SystemCalls.changeMode(path: path, 0o660)
            if let group = access.group {
                try SystemCalls.changeOwner(path: path, uid: access.daemonUID, gid: group.gid)
            }
        } catch {
            listener.close()
            try? SystemCalls.unlink(path: path)
            throw error
        }
        loop = ReactorBound(ControlLoop(listener: listener, path: path, access: access, limits: limits,
                                        handler: handler, busy: busy), on: reactor)
        guard reactor.execute(loop, { state, loop in state.start(on: loop) }) else {
            try? SystemCalls.unlink(path: path)
            throw SystemError(code: ESHUTDOWN, call: "serve", context: "\(path): the daemon's event loop has stopped")
        }
    }

    /// Queues a reply for `connection`; a final reply closes it once written. Replies to a
    /// connection that is gone are dropped.
    public func reply(to connection: UInt64, _ reply: ControlReply) {
        reactor.execute(loop) { state, loop in state.queue(reply, for: connection, on: loop) }
    }

    /// Stops serving: closes every connection and the socket and removes the socket file.
    /// Returns once that is done.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if !reactor.perform(loop, { state, loop in state.stop(on: loop) }) {
            // The reactor shut down first; its shutdown hook closed everything.
            try? SystemCalls.unlink(path: path)
        }
    }

    deinit { close() }
}

/// The server's state; it lives on the reactor's thread only.
final class ControlLoop {
    struct Connection {
        var registration: ReactorToken
        var descriptor: Int32
        var peer: ControlPeer?
        var input: [UInt8] = []
        var output: [UInt8] = []
        /// Set once the request was handed over; no more input is read.
        var answered = false
        /// Close once `output` is written.
        var closeAfterOutput = false
        var deadline: ContinuousClock.Instant
        /// When `service` runs next without input: the deadline, or a retry of unsent output.
        var timer: ReactorToken?
    }

    /// The listener until `start` registers it.
    private var pendingListener: FileDescriptor?
    private var listener: ReactorToken?
    private var shutdownHook: ReactorToken?
    private let path: String
    private let access: ControlAccess
    private let limits: ControlConnectionLimits
    private let handler: @Sendable (ControlServer.Call) -> Void
    private let busy: @Sendable (ControlServer.Busy) -> Void
    private var connections: [UInt64: Connection] = [:]
    /// Open connections per peer uid (nil: the kernel did not say).
    private var held: [UInt32?: Int] = [:]
    private var nextConnection: UInt64 = 2
    private var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)

    init(listener: consuming FileDescriptor, path: String, access: ControlAccess, limits: ControlConnectionLimits,
         handler: @escaping @Sendable (ControlServer.Call) -> Void,
         busy: @escaping @Sendable (ControlServer.Busy) -> Void) {
        pendingListener = consume listener
        self.path = path
        self.access = access
        self.limits = limits
        self.handler = handler
        self.busy = busy
    }

    func start(on loop: ReactorLoop) {
        guard let listener = pendingListener.take() else { return }
        self.listener = loop.register(listener) { loop in self.acceptAll(on: loop) }
        shutdownHook = loop.onShutdown { loop in self.stop(on: loop) }
    }

    /// Closes every connection and the listener, and removes the socket file.
    func stop(on loop: ReactorLoop) {
        for connection in Array(connections.keys) { drop(connection, on: loop) }
        if let listener { loop.retire(listener) }
        listener = nil
        pendingListener = nil
        if let shutdownHook { loop.cancel(shutdownHook) }
        shutdownHook = nil
        try? SystemCalls.unlink(path: path)
    }

    private func acceptAll(on loop: ReactorLoop) {
        guard let listener, let listening = loop.descriptor(of: listener) else { return }
        while let accepted = try? SystemCalls.accept(listening) {
            let descriptor = FileDescriptor(owning: accepted)
            let peer = try? ControlPeer.of(connection: descriptor.rawValue, trust: access.loginUIDTrust)
            let uid = peer?.uid
            if let refusal = limits.refusal(privileged: uid.map(access.isPrivileged) ?? false,
                                            heldByCaller: held[uid, default: 0], open: connections.count) {
                _ = try? SystemCalls.sendNow(descriptor.rawValue, ArraySlice(ControlReply.refused(.busy, message: refusal.description).line))
                descriptor.close()
                if let peer { busy(ControlServer.Busy(peer: peer, refusal: refusal)) }
                continue
            }
            let id = nextConnection
            nextConnection += 1
            let raw = descriptor.rawValue
            let registration = loop.register(descriptor) { loop in self.readFrom(id, on: loop) }
            connections[id] = Connection(registration: registration, descriptor: raw, peer: peer,
                                         deadline: .now + ControlServer.requestDeadline)
            held[uid, default: 0] += 1
            arm(id, on: loop)
        }
    }

    private func readFrom(_ id: UInt64, on loop: ReactorLoop) {
        guard var connection = connections[id] else { return }
        if connection.answered {
            // Input after the request, or the client hanging up: either way it is done talking.
            switch try? SystemCalls.read(connection.descriptor, into: &readBuffer) {
            case .bytes?, .wouldBlock?: return
            default:
                drop(id, on: loop)
                return
            }
        }
        switch try? SystemCalls.read(connection.descriptor, into: &readBuffer) {
        case .bytes(let count)?:
            connection.input += readBuffer[..<count]
        case .wouldBlock?:
            return
        case .endOfFile?, nil:
            drop(id, on: loop)
            return
        }
        if let newline = connection.input.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(connection.input[..<newline])
            connection.input = []
            connection.answered = true
            connections[id] = connection
            arm(id, on: loop)
            guard let peer = connection.peer else {
                queue(.refused(.notAllowed, message: "the kernel did not report who you are"), for: id, on: loop)
                return
            }
            let request: Result<ControlRequest, ControlRequestError>
            do {
                request = .success(try ControlRequest(line: line))
            } catch {
                request = .failure(error)
            }
            handler(ControlServer.Call(connection: id, peer: peer, request: request))
        } else if connection.input.count > ControlRequest.maximumBytes {
            connection.answered = true
            connections[id] = connection
            queue(.refused(.badRequest, message: "the request is longer than \(ControlRequest.maximumBytes) bytes"), for: id, on: loop)
        } else {
            connections[id] = connection
        }
    }

    func queue(_ reply: ControlReply, for id: UInt64, on loop: ReactorLoop) {
        guard var connection = connections[id] else { return }
        connection.output += reply.line
        connection.closeAfterOutput = connection.closeAfterOutput || reply.isFinal
        connection.deadline = .now + ControlServer.replyDeadline
        connections[id] = connection
        service(id, on: loop)
    }

    /// Writes what the socket takes; closes the connection once finished, or past its deadline.
    private func service(_ id: UInt64, on loop: ReactorLoop) {
        guard var connection = connections[id] else { return }
        let now = ContinuousClock.now
        if !connection.output.isEmpty {
            guard let sent = try? SystemCalls.sendNow(connection.descriptor, connection.output[...]) else {
                drop(id, on: loop)
                return
            }
            connection.output.removeFirst(sent)
            if sent > 0 { connection.deadline = now + ControlServer.replyDeadline }
            connections[id] = connection
        }
        if connection.output.isEmpty && connection.closeAfterOutput {
            drop(id, on: loop)
        } else if now >= connection.deadline && (!connection.answered || !connection.output.isEmpty) {
            drop(id, on: loop)
        } else {
            arm(id, on: loop)
        }
    }

    /// Sets the connection's timer: a retry while output waits for room, else its deadline
    /// while a request or a reply is outstanding; none while the daemon works on the request.
    private func arm(_ id: UInt64, on loop: ReactorLoop) {
        guard var connection = connections[id] else { return }
        if let timer = connection.timer { loop.cancel(timer) }
        connection.timer = nil
        if !connection.output.isEmpty {
            let retry = ContinuousClock.now + ControlServer.retryInterval
            connection.timer = loop.schedule(at: min(retry, connection.deadline)) { loop in self.service(id, on: loop) }
        } else if !connection.answered {
            connection.timer = loop.schedule(at: connection.deadline) { loop in self.service(id, on: loop) }
        }
        connections[id] = connection
    }

    private func drop(_ id: UInt64, on loop: ReactorLoop) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        if let timer = connection.timer { loop.cancel(timer) }
        loop.retire(connection.registration)
        let uid = connection.peer?.uid
        if let count = held[uid], count > 1 { held[uid] = count - 1 } else { held[uid] = nil }
    }
}
