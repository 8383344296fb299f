import Dispatch
import AscribeSystem

/// Waits, on its own thread, until no process carries a run's `ASCRIBE_RUN_ID` any more: the
/// end of a run a previous daemon started and this one adopted (docs/DAEMON.md, "Adopted
/// runs"). The processes are not this daemon's children, so there is no exit status to reap;
/// a pidfd of any process becomes readable when it exits, so the thread sleeps in `poll` on
/// one pidfd per surviving process (no polling interval) and looks again in `/proc` after each
/// exit, which also finds children forked meanwhile.
final class SurvivorWatch: Sendable {
    /// Wakes the thread to give up (the daemon stops first).
    private let wake: Int32

    /// `ended` is called once, on the watch's thread, when the last process is gone (unless
    /// `cancel` came first; one racing a cancel may still arrive, and is ignored by the daemon).
    init(runID: String, ended: @escaping @Sendable () -> Void) throws(SystemError) {
        wake = try SystemCalls.makeEventDescriptor()
        DispatchQueue(label: "ascribe.survivor-watch").async { [self] in
            if watch(runID) { ended() }
        }
    }

    /// Stops watching; `ended` is not called afterwards.
    func cancel() { SystemCalls.signalEvent(wake) }

    /// True when the processes are gone, false when cancelled.
    private func watch(_ runID: String) -> Bool {
        while true {
            let pids = RunProcesses.find([runID])[runID] ?? []
            if pids.isEmpty { return true }
            let descriptors = pids.compactMap { try? SystemCalls.openProcess($0) }
            guard !descriptors.isEmpty else {
                // They exited since the scan, or no descriptor was free: look again in a second.
                if !SystemCalls.pollReadable([wake], timeoutMilliseconds: 1000).isEmpty { return false }
                continue
            }
            let ready = SystemCalls.pollReadable(descriptors + [wake], timeoutMilliseconds: -1)
            for descriptor in descriptors { SystemCalls.close(descriptor) }
            if ready.contains(descriptors.count) { return false }
            // An interrupted poll reports nothing ready: wait a moment rather than spin.
            if ready.isEmpty, !SystemCalls.pollReadable([wake], timeoutMilliseconds: 100).isEmpty { return false }
        }
    }

    deinit { SystemCalls.close(wake) }
}
