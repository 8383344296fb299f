import AscribeSystem
import Dispatch
import Glibc

/// The process that sent a signal, as the kernel reported it in `siginfo_t` (`si_pid`,
/// `si_uid`): it cannot be claimed by the sender. `process` is `/proc/<pid>/comm`, read as the
/// signal is handled (the sender may be gone by then).
public struct SignalSender: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var user: String
    public var process: String?

    public init(pid: Int32, uid: UInt32, user: String, process: String?) {
        self.pid = pid
        self.uid = uid
        self.user = user
        self.process = process
    }

    /// The sender now: its user's name and its command name, while it still exists.
    static func observed(pid: Int32, uid: UInt32) -> SignalSender {
        let noCheck: (FileStatus) throws(Never) -> Void = { _ in }
        let comm = (try? FileSystem.read("/proc/\(pid)/comm", limit: 64, check: noCheck))
            .map { String(decoding: $0, as: UTF8.self).filter { !$0.isNewline } }
        return SignalSender(pid: pid, uid: uid, user: Principal.name(of: uid), process: comm.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// `pid 4242 (systemctl) of root (uid 0)`.
    public var words: String {
        "pid \(pid)" + (process.map { " (\($0))" } ?? "") + " of \(user) (uid \(uid))"
    }
}

/// Where a signal came from, as `siginfo_t` says.
public enum SignalOrigin: Sendable, Equatable {
    /// A process sent it (kill, sigqueue, tgkill).
    case process(SignalSender)
    /// The kernel raised it (a terminal's interrupt key), not a process.
    case kernel

    /// `from pid 4242 (systemctl) of root (uid 0)`.
    public var words: String {
        switch self {
        case .process(let sender): "from \(sender.words)"
        case .kernel: "from the kernel (not sent by a process, e.g. a terminal's interrupt key)"
        }
    }
}

/// One signal as it arrived: its number and where it came from.
public struct SignalDelivery: Sendable, Equatable {
    public var signal: Int32
    public var origin: SignalOrigin

    public init(signal: Int32, origin: SignalOrigin) {
        self.signal = signal
        self.origin = origin
    }
}

/// SIGTERM, SIGINT (and SIGHUP for the daemon) with their senders. A Dispatch signal source
/// cannot say who sent a signal, so each signal gets a small `SA_SIGINFO` handler in the C
/// shim that writes the kernel's `si_pid`/`si_uid` to a non-blocking pipe; a Dispatch read
/// source on the pipe hands each delivery to `handler` on a private queue. The handler is in
/// place as soon as `init` returns (nothing is registered lazily), so from then on a signal can
/// no longer end the process by its default action (ENGINEERING-NOTES). One at a time per
/// process (the pipe is the process's); keep the value alive while the signals matter.
public final class DaemonSignals {
    /// The process's signal pipe, made once; it stays open for the process's life, since a
    /// handler running on another thread may still write to it.
    private static let pipe: Result<(read: Int32, write: Int32), SystemError> = {
        do throws(SystemError) {
            let ends = try SystemCalls.makePipe()
            try SystemCalls.setNonBlocking(ends.read)
            try SystemCalls.setNonBlocking(ends.write)
            return .success(ends)
        } catch {
            return .failure(error)
        }
    }()

    private let source: any DispatchSourceRead
    private let signals: [Int32]

    /// `handler` gets each signal, on a private queue.
    public init(_ signals: [Int32] = [SIGTERM, SIGINT],
                handler: @escaping @Sendable (SignalDelivery) -> Void) throws(SystemError) {
        let pipe = try Self.pipe.get()
        let queue = DispatchQueue(label: "ascribe.daemon-signals")
        let source = DispatchSource.makeReadSource(fileDescriptor: pipe.read, queue: queue)
        source.setEventHandler {
            while let record = SystemCalls.readSignalRecord(pipe.read) {
                // si_code <= 0: sent by a process (kill, sigqueue, tgkill); otherwise the kernel.
                let origin: SignalOrigin = record.code <= 0
                    ? .process(SignalSender.observed(pid: record.pid, uid: record.uid)) : .kernel
                handler(SignalDelivery(signal: record.signal, origin: origin))
            }
        }
        source.resume()
        self.source = source
        self.signals = signals
        for number in signals {
            try SystemCalls.catchSignal(number, writingTo: pipe.write)
        }
    }

    deinit {
        for number in signals { SystemCalls.ignoreSignal(number) }
        source.cancel()
    }
}
