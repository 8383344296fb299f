import Glibc
import Dispatch
import Synchronization
import AscribeSystem

/// The daemon's control socket: a Unix-domain stream socket in the state directory (mode 0660,
/// the control group), served by one thread with one epoll loop. Each connection carries one
/// request line; the loop takes the caller's credentials from the kernel at accept, hands the
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

    public let path: String
    private let mailbox: ControlMailbox

    /// Binds `path` (a stale socket left by a dead daemon is replaced; anything else there is
    /// an error), applies mode 0660 and the control group, and starts serving. `handler` gets
    /// each request, `busy` each connection the limits turned away; both are called on the
    /// loop's thread and must hand the work on.
    public init(path: String, access: ControlAccess, limits: ControlConnectionLimits = ControlConnectionLimits(),
                handler: @escaping @Sendable (Call) -> Void,
                busy: @escaping @Sendable (Busy) -> Void) throws(SystemError) {
        self.path = path
        if let existing = try? FileStatus(path: path, followingLinks: false) {
            guard existing.kind == .socket else {
                throw SystemError(code: EEXIST, call: "bind", context: "\(path) exists and is not a socket")
            }
            try SystemCalls.unlink(path: path)
        }
        let listener = try SystemCalls.listenUnix(at: path, backlog: 128)
        let epoll: Int32
        let wake: Int32
        do throws(SystemError) {
            try SystemCalls.changeMode(path: path, 0o660)
            if let group = access.group {
                try SystemCalls.changeOwner(path: path, uid: access.daemonUID, gid: group.gid)
            }
            epoll = try EventPoll.makeDescriptor()
            do throws(SystemError) {
                wake = try SystemCalls.makeEventDescriptor()
            } catch {
                SystemCalls.close(epoll)
                throw error
            }
        } catch {
            SystemCalls.close(listener)
            try? SystemCalls.unlink(path: path)
            throw error
        }
        let mailbox = ControlMailbox(wake: wake)
        self.mailbox = mailbox
        // The loop's state is built on its own thread and never leaves it.
        DispatchQueue(label: "ascribe.control").async {
            ControlLoop(poll: EventPoll(descriptor: epoll), listener: listener, path: path, mailbox: mailbox,
                        access: access, limits: limits, handler: handler, busy: busy).run()
        }
    }

    /// Queues a reply for `connection`; a final reply closes it once written. Replies to a
    /// connection that is gone are dropped.
    public func reply(to connection: UInt64, _ reply: ControlReply) {
        mailbox.state.withLock { $0.replies.append((connection, reply)) }
        SystemCalls.signalEvent(mailbox.wake)
    }

    /// Stops serving: closes every connection and the socket and removes the socket file.
    /// Returns once the loop has finished.
    public func close() {
        let alreadyClosing = mailbox.state.withLock { state in
            defer { state.closing = true }
            return state.closing
        }
        guard !alreadyClosing else { return }
        SystemCalls.signalEvent(mailbox.wake)
        mailbox.finished.wait()
    }

    deinit { close() }
}

/// What other threads hand to the loop: replies, and the request to stop.
final class ControlMailbox: Sendable {
    struct State {
        var replies: [(UInt64, ControlReply)] = []
        var closing = false
    }

    let state = Mutex(State())
    let wake: Int32
    let finished = DispatchSemaphore(value: 0)

    init(wake: Int32) {
        self.wake = wake
    }
}

/// The loop's own state; it lives on the loop's thread only.
private final class ControlLoop {
    static let listenerToken: UInt64 = 0
    static let wakeToken: UInt64 = 1

    struct Connection {
        var descriptor: Int32
        var peer: ControlPeer?
        var input: [UInt8] = []
        var output: [UInt8] = []
        /// Set once the request was handed over; no more input is read.
        var answered = false
        /// Close once `output` is written.
        var closeAfterOutput = false
        var deadline: ContinuousClock.Instant
    }

    private let poll: EventPoll
    private let listener: Int32
    private let path: String
    private let mailbox: ControlMailbox
    private let access: ControlAccess
    private let limits: ControlConnectionLimits
    private let handler: @Sendable (ControlServer.Call) -> Void
    private let busy: @Sendable (ControlServer.Busy) -> Void
    private var connections: [UInt64: Connection] = [:]
    /// Open connections per peer uid (nil: the kernel did not say).
    private var held: [UInt32?: Int] = [:]
    private var nextToken: UInt64 = 2
    private var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)

    init(poll: EventPoll, listener: Int32, path: String, mailbox: ControlMailbox, access: ControlAccess,
         limits: ControlConnectionLimits, handler: @escaping @Sendable (ControlServer.Call) -> Void,
         busy: @escaping @Sendable (ControlServer.Busy) -> Void) {
        self.poll = poll
        self.listener = listener
        self.path = path
        self.mailbox = mailbox
        self.access = access
        self.limits = limits
        self.handler = handler
        self.busy = busy
    }

    func run() {
        do {
            try poll.add(listener, token: Self.listenerToken)
            try poll.add(mailbox.wake, token: Self.wakeToken)
        } catch {
            mailbox.state.withLock { $0.closing = true }
        }
        while !mailbox.state.withLock({ $0.closing }) {
            let waiting = connections.values.contains { !$0.output.isEmpty }
            let ready = poll.wait(timeoutMilliseconds: waiting ? 20 : 1000)
            for token in ready {
                switch token {
                case Self.listenerToken: acceptAll()
                case Self.wakeToken: SystemCalls.drainEvent(mailbox.wake)
                default: readFrom(token)
                }
            }
            let (replies, closing) = mailbox.state.withLock { state in
                defer { state.replies = [] }
                return (state.replies, state.closing)
            }
            if closing { break }
            for (token, reply) in replies { queue(reply, for: token) }
            flushAndExpire()
        }
        for token in Array(connections.keys) { drop(token) }
        poll.retire(listener)
        try? SystemCalls.unlink(path: path)
        SystemCalls.close(mailbox.wake)
        mailbox.finished.signal()
    }

    private func acceptAll() {
        while let descriptor = try? SystemCalls.accept(listener) {
            let peer = try? ControlPeer.of(connection: descriptor, trust: access.loginUIDTrust)
            let uid = peer?.uid
            if let refusal = limits.refusal(privileged: uid.map(access.isPrivileged) ?? false,
                                            heldByCaller: held[uid, default: 0], open: connections.count) {
                _ = try? SystemCalls.sendNow(descriptor, ArraySlice(ControlReply.refused(.busy, message: refusal.description).line))
                SystemCalls.close(descriptor)
                if let peer { busy(ControlServer.Busy(peer: peer, refusal: refusal)) }
                continue
            }
            let token = nextToken
            nextToken += 1
            do {
                try poll.add(descriptor, token: token)
            } catch {
                SystemCalls.close(descriptor)
                continue
            }
            connections[token] = Connection(descriptor: descriptor, peer: peer, deadline: .now + ControlServer.requestDeadline)
            held[uid, default: 0] += 1
        }
    }

    private func readFrom(_ token: UInt64) {
        guard var connection = connections[token] else { return }
        if connection.answered {
            // Input after the request, or the client hanging up: either way it is done talking.
            switch try? SystemCalls.read(connection.descriptor, into: &readBuffer) {
            case .bytes?, .wouldBlock?: return
            default:
                drop(token)
                return
            }
        }
        switch try? SystemCalls.read(connection.descriptor, into: &readBuffer) {
        case .bytes(let count)?:
            connection.input += readBuffer[..<count]
        case .wouldBlock?:
            return
        case .endOfFile?, nil:
            drop(token)
            return
        }
        if let newline = connection.input.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(connection.input[..<newline])
            connection.input = []
            connection.answered = true
            connections[token] = connection
            guard let peer = connection.peer else {
                queue(.refused(.notAllowed, message: "the kernel did not report who you are"), for: token)
                return
            }
            let request: Result<ControlRequest, ControlRequestError>
            do {
                request = .success(try ControlRequest(line: line))
            } catch {
                request = .failure(error)
            }
            handler(ControlServer.Call(connection: token, peer: peer, request: request))
        } else if connection.input.count > ControlRequest.maximumBytes {
            connection.answered = true
            connections[token] = connection
            queue(.refused(.badRequest, message: "the request is longer than \(ControlRequest.maximumBytes) bytes"), for: token)
        } else {
            connections[token] = connection
        }
    }

    private func queue(_ reply: ControlReply, for token: UInt64) {
        guard var connection = connections[token] else { return }
        connection.output += reply.line
        connection.closeAfterOutput = connection.closeAfterOutput || reply.isFinal
        connection.deadline = .now + ControlServer.replyDeadline
        connections[token] = connection
    }

    /// Writes what each socket takes; closes finished connections and those past their deadline.
    private func flushAndExpire() {
        let now = ContinuousClock.now
        for (token, var connection) in connections {
            if !connection.output.isEmpty {
                guard let sent = try? SystemCalls.sendNow(connection.descriptor, connection.output[...]) else {
                    drop(token)
                    continue
                }
                connection.output.removeFirst(sent)
                if sent > 0 { connection.deadline = now + ControlServer.replyDeadline }
                connections[token] = connection
            }
            if connection.output.isEmpty && connection.closeAfterOutput {
                drop(token)
            } else if now > connection.deadline && (!connection.answered || !connection.output.isEmpty) {
                drop(token)
            }
        }
    }

    private func drop(_ token: UInt64) {
        guard let connection = connections.removeValue(forKey: token) else { return }
        poll.retire(connection.descriptor)
        let uid = connection.peer?.uid
        if let count = held[uid], count > 1 { held[uid] = count - 1 } else { held[uid] = nil }
    }
}
