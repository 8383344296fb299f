import Glibc
internal import CAscribeShim

/// One signal as the C shim's `SA_SIGINFO` handler copied it out of `siginfo_t`.
public struct SignalRecord: Sendable, Equatable {
    public var signal: Int32
    /// `si_code`: <= 0 when a process sent it (kill, sigqueue, tgkill), else the kernel raised it.
    public var code: Int32
    public var pid: Int32
    public var uid: UInt32
}

extension SystemCalls {
    /// Installs the shim's `SA_SIGINFO` handler for `signal`: each delivery writes one record
    /// to `pipe` (a non-blocking pipe's write end) and does nothing else.
    public static func catchSignal(_ signal: Int32, writingTo pipe: Int32) throws(SystemError) {
        guard ascribe_catch_signal(signal, pipe) == 0 else { throw .current("sigaction(\(signal))") }
    }

    /// The next record waiting on the signal pipe's read end; nil when none is.
    public static func readSignalRecord(_ pipe: Int32) -> SignalRecord? {
        var record = ascribe_signal_record()
        guard ascribe_read_signal_record(pipe, &record) == 1 else { return nil }
        return SignalRecord(signal: record.signo, code: record.code, pid: record.pid, uid: record.uid)
    }

    public static func ignoreSignal(_ signal: Int32) {
        _ = Glibc.signal(signal, SIG_IGN)
    }
}
