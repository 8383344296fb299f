import Synchronization
import AscribeSystem

/// Forwards each durable event to a local syslog socket (`/dev/log`) as RFC 5424, for the
/// SIEM. It must never slow or stop the daemon: sends do not block, a failed send drops that
/// event (the event log stays the record; `ascribe log --follow` is the lossless feed), and
/// failures are reported once per outage — when forwarding stops and when it resumes, with
/// how many events were not forwarded — never once per event.
public final class SyslogForwarder: Sendable {
    private struct State {
        /// The outage's first error, while sends are failing.
        var failing: SystemError?
        var dropped = 0
    }

    public let path: String
    private let socket: UnixDatagramSocket
    private let processID: Int32?
    private let report: @Sendable (String) -> Void
    private let state = Mutex(State())

    /// `report` gets the outage and recovery messages (the daemon prints them on stderr).
    public init(path: String, processID: Int32?, report: @escaping @Sendable (String) -> Void) throws(SystemError) {
        self.path = path
        self.processID = processID
        self.report = report
        socket = try UnixDatagramSocket()
    }

    public func forward(_ event: Event) {
        let message = Array(SyslogMessage.format(event, processID: processID).utf8)
        let notice: String? = state.withLock { state in
            do throws(SystemError) {
                try socket.send(message, to: path)
            } catch {
                state.dropped += 1
                guard state.failing == nil else { return nil }
                state.failing = error
                return "syslog forwarding to \(path) stopped: \(error.description); events are still recorded in the log"
            }
            guard let failing = state.failing else { return nil }
            let dropped = state.dropped
            state = State()
            return "syslog forwarding to \(path) resumed; \(dropped) event(s) were not forwarded after \(failing.description)"
        }
        if let notice { report(notice) }
    }
}
