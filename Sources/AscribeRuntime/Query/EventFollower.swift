/// Reads a log as it grows, for `ascribe log --follow`: first the history up to the head it
/// found when it started, then each event written after, by seq, so none is shown twice or
/// skipped, whatever the event times say. Read-only: it polls the store (a WAL reader sees
/// each commit on its next query) and never takes the write lock.
public struct EventFollower {
    private let store: EventStore
    private let filter: EventFilter
    /// The last seq examined; events after it are new.
    public private(set) var lastSeq: Int64

    /// Starts at the store's current head.
    public init(store: EventStore, filter: EventFilter) throws(EventStoreError) {
        self.store = store
        self.filter = filter
        lastSeq = try store.lastEvent()?.seq ?? 0
    }

    /// The history: `filter`'s events up to the head found at start.
    public func forEachPastEvent(_ body: (Event) -> Void) throws(EventStoreError) {
        var past = filter
        past.throughSeq = lastSeq
        if past.limit != nil {
            for event in try store.events(matching: past).reversed() { body(event) }
        } else {
            past.order = .oldestFirst
            try store.forEachEvent(matching: past, body)
        }
    }

    /// The matching events written since the last call (at most `batch` examined per call).
    public mutating func newEvents(batch: Int = 1000) throws(EventStoreError) -> [Event] {
        let events = try store.events(afterSeq: lastSeq, limit: batch)
        lastSeq = events.last?.seq ?? lastSeq
        var current = filter
        current.throughSeq = nil
        return events.filter(current.matches)
    }
}
