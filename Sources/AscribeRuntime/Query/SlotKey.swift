import AscribeCore

/// Which slot of a job an event stands for: its `scheduled_for` instant and, for a slot that
/// daylight saving moved onto that instant, the wall-clock time it was written for
/// (`details.dst_shifted_from`). Two slots of one job can share an instant (`0 2,3 * * *` on a
/// spring-forward night: docs/SCHEDULES.md), so the instant alone would let one slot's record
/// stand for both, or leave one with none.
public struct SlotKey: Hashable, Sendable {
    public var milliseconds: Int64
    /// `2026-03-29 02:00`; nil for a slot at its written time.
    public var shiftedFrom: String?

    public init(_ fire: Fire) {
        milliseconds = EventTime(fire.instant).millisecondsSinceEpoch
        shiftedFrom = fire.shiftedFrom?.wallClockText
    }

    /// The slot an event names; nil when it names none (a manual run).
    public init?(_ event: Event) {
        guard let slot = event.scheduledFor else { return nil }
        milliseconds = slot.millisecondsSinceEpoch
        shiftedFrom = event.details[.dstShiftedFrom]
    }

    /// `details` with the slot's `dst_shifted_from` added when daylight saving moved it, as
    /// every event about the slot carries it.
    public static func details(_ fire: Fire, _ details: [String: String]) -> [String: String] {
        var details = details
        if let shifted = fire.shiftedFrom { details[.dstShiftedFrom] = shifted.wallClockText }
        return details
    }
}
