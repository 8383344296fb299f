import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT as Dispatch signal sources. Each signal is set to `SIG_IGN` first (so
/// its default action can no longer kill the process) and the source is resumed before the
/// daemon starts anything that could raise it (ENGINEERING-NOTES: raising right after
/// `resume()` killed the process when the order was wrong). Keep the value alive while the
/// daemon runs: dropping it cancels the sources.
public final class DaemonSignals {
    private var sources: [any DispatchSourceSignal] = []

    /// `handler` gets the signal number, on a private queue.
    public init(_ signals: [Int32] = [SIGTERM, SIGINT], handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "ascribe.daemon-signals")
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
