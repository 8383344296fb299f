import AscribeCore

/// How the previous daemon ended, read from the log before this start writes anything: the
/// last instant it accounted for (where the downtime begins) and whether it was stopped —
/// `daemon.stopped`, with the signal and its sender — or crashed.
struct PreviousDaemonEnd {
    enum Ending {
        /// Its `daemon.stopped`.
        case stopped(Event)
        /// No `daemon.stopped` after its `daemon.started`: its newest event is the last sign of life.
        case crashed(lastEvent: Event?)
    }

    /// The newest event it wrote (of any kind): slots up to here were its to account for.
    var lastSignOfLife: Instant
    var ending: Ending

    /// For `run.missed`: `down_cause` and what `why` prints about it.
    var details: [String: String] {
        switch ending {
        case .stopped(let stopped):
            var details = DaemonEnding.stopped(at: stopped.time, by: stopped.reason).details
            details[.stoppedSeq] = String(stopped.seq)
            for (key, value) in stopped.details where Self.stopKeys.contains(key) { details[key] = value }
            return details
        case .crashed(let last):
            var details = DaemonEnding.crashed(lastSignOfLife: EventTime(lastSignOfLife)).details
            if let last { details[.lastEventSeq] = String(last.seq) }
            return details
        }
    }

    /// The words after "the daemon was down from A to B".
    var words: String {
        switch ending {
        case .stopped(let stopped):
            "it was stopped at \(stopped.time.rfc3339)" + (stopped.reason.map { ": \($0)" } ?? "")
        case .crashed:
            "it crashed: no daemon.stopped was recorded; its last sign of life was at \(EventTime(lastSignOfLife).rfc3339)"
        }
    }

    /// The `daemon.stopped` details that say who stopped it.
    static let stopKeys: Set<String> = Set([DetailKey.stopSignal, .stoppedByPid, .stoppedByUid, .stoppedByUser, .stoppedByProcess]
        .map(\.rawValue))
}

extension Daemon {
    /// The previous daemon's end. Its last sign of life is its newest event of any kind — it
    /// may have fired and recorded runs long after its last heartbeat — among the events it
    /// wrote itself: the scheduler's own, and the runs it recorded (`recorder_pid` its pid, as
    /// `daemon.started` named it). Events of an `ascribe run` in between do not count: that was
    /// not the daemon. nil when no daemon ever ran on this log.
    func previousDaemonEnd() -> PreviousDaemonEnd? {
        guard let store else { return nil }
        func newest(_ type: EventType) -> Event? { (try? store.events(matching: EventFilter(type: type, limit: 1)))?.first }
        let started = newest(.daemonStarted)
        let stopped = newest(.daemonStopped)
        let signs = [started, newest(.daemonHeartbeat), stopped].compactMap { $0 }
        guard var latest = signs.max(by: { $0.time < $1.time }) else { return nil }
        var lastEvent: Event?
        if let started {
            let pid = started.details[.pid]
            let pidStart = started.details[.pidStart]
            func wroteIt(_ event: Event) -> Bool {
                if let recorder = event.details[.recorderPid] {
                    return recorder == pid && (pidStart == nil || event.details[.recorderStart] == pidStart)
                }
                return event.actor == state.actor
            }
            let since = started.time
            let page = 1_000
            let recent = (try? store.events(matching: EventFilter(since: since, limit: page))) ?? []
            lastEvent = recent.first(where: wroteIt)
            if lastEvent == nil && recent.count == page {
                try? store.forEachEvent(matching: EventFilter(since: since)) { event in
                    if wroteIt(event), lastEvent.map({ event.time > $0.time }) ?? true { lastEvent = event }
                }
            }
            if let lastEvent, lastEvent.time > latest.time { latest = lastEvent }
        }
        let wasStopped = stopped.map { stop in started.map { stop.seq > $0.seq } ?? true } ?? false
        if wasStopped, let stopped {
            return PreviousDaemonEnd(lastSignOfLife: latest.time.instant, ending: .stopped(stopped))
        }
        return PreviousDaemonEnd(lastSignOfLife: latest.time.instant, ending: .crashed(lastEvent: latest))
    }
}
