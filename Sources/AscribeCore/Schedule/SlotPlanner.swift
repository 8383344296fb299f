/// One job's slot: the job and the fire instant the schedule gave it.
public struct DueSlot: Hashable, Sendable {
    public var job: JobName
    public var fire: Fire

    public init(job: JobName, fire: Fire) {
        self.job = job
        self.fire = fire
    }
}

/// The slots of a window too long to keep them all: the count, the first and last, and the
/// latest `kept` slots (what `catch-up = once | all` runs).
public struct SlotWindow: Hashable, Sendable {
    public var count: Int
    public var first: Fire?
    public var last: Fire?
    /// The latest slots, oldest first, at most the `keep` asked for.
    public var latest: [Fire]
}

/// What the scheduler must account for between two instants (missed slots of a downtime),
/// computed without side effects so the daemon's decisions can be tested with any clock. The
/// slots of the running loop come from `UpcomingSlots`.
public enum SlotPlanner {
    /// One job's slots in `(after, through]`, summarised: counting stops at `countLimit` so a
    /// year of a minutely job cannot stall a start-up. Slots already accounted for
    /// (`excluding`) are left out of the count, the first, the last and the latest alike. Two
    /// slots at one instant (a moved slot and a regular one) are both produced.
    public static func window(of job: JobDefinition, defaultZone: ZoneRules, after: Instant, through: Instant,
                              keep: Int, countLimit: Int = 1_000_000, excluding isAccounted: (Fire) -> Bool = { _ in false }) -> SlotWindow {
        guard case .calendar(let expression) = job.schedule else {
            return SlotWindow(count: 0, first: nil, last: nil, latest: [])
        }
        let zone = job.timezone ?? defaultZone
        var window = SlotWindow(count: 0, first: nil, last: nil, latest: [])
        var next = expression.nextFire(after: after, in: zone)
        while window.count < countLimit, let fire = next, fire.instant <= through {
            next = expression.nextFire(after: fire, in: zone)
            if isAccounted(fire) { continue }
            window.count += 1
            if window.first == nil { window.first = fire }
            window.last = fire
            window.latest.append(fire)
            // Trimmed in blocks so keeping the latest slots stays linear.
            if window.latest.count >= 2 * max(keep, 1) { window.latest.removeFirst(window.latest.count - keep) }
        }
        if window.latest.count > keep { window.latest.removeFirst(window.latest.count - keep) }
        return window
    }
}
